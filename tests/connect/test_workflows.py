"""Workflow invocation: where a request may go, what it carries, and that it is sent once.

The workflow endpoints here are a real HTTP server on loopback (a few lines of stdlib),
reached through the client's loopback workflow-domain mode - the same mode the local
Connect server's workflows use.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import SecretStr

from connect_mcp.config import Settings
from connect_mcp.connect import (
    ConnectClient,
    ConnectTimeoutError,
    InvalidArgumentError,
    UpstreamError,
    WorkflowAuthRefusedError,
    WorkflowURLRefusedError,
)
from connect_mcp.connect._workflow import WorkflowURLPolicy
from connect_mcp.local.embedded import LocalCredentials
from connect_mcp.redact import Redactor
from tests.connect.helpers import CountingTransport, local_client


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


STRADDLING = "sk-straddle-" + "s3cr3t" * 8


@dataclass
class WorkflowHost:
    domain: str
    seen: list[Seen] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    host: WorkflowHost

    def log_message(self, *_args: Any) -> None:  # keep test output clean
        return

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        self.host.seen.append(seen)
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", f"http://{self.host.domain}/echo")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/slow":
            time.sleep(1.5)
            self._send(200, b"{}")
        elif self.path == "/big":
            self._send(200, b"x" * 3_000_000, "text/plain")
        elif self.path == "/straddle":  # a secret across the 10,000-byte limit
            self._send(200, b"x" * 9_990 + STRADDLING.encode() + b"y" * 100_000, "text/plain")
        elif self.path == "/unavailable":
            self._send(503, b'{"error": "busy"}')
        elif self.path == "/unauthorized":
            self._send(401, b'{"error": "invalid token"}')
        else:
            echo = {"method": seen.method, "headers": seen.headers, "body": body.decode()}
            self._send(200, json.dumps(echo).encode(), extra={"Set-Cookie": "session=abc123456"})

    def _send(
        self,
        status: int,
        body: bytes,
        kind: str = "application/json",
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer


@pytest.fixture(scope="module")
def workflow_host() -> Iterator[WorkflowHost]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    host = WorkflowHost(f"127.0.0.1:{server.server_address[1]}")
    _Handler.host = host
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield host
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- what is sent ---------------------------------------------------------------------------


async def test_an_invocation_carries_the_user_environment_token_and_json_body(
    local_server: LocalCredentials, workflow_host: WorkflowHost
) -> None:
    redactor = Redactor()
    async with local_client(
        local_server,
        workflow_domain=workflow_host.domain,
        workflow_oauth_endpoints=["echo"],  # the operator lists it for the project's token
        redactor=redactor,
    ) as client:
        response = await client.invoke_workflow(
            "echo", "user/42", body={"n": 1}, headers={"X-Trace": "t-1"}
        )
    assert response.status_code == 200
    echoed = response.json_body()
    assert echoed["method"] == "POST"
    assert echoed["body"] == '{"n": 1}'
    assert echoed["headers"]["x-pd-external-user-id"] == "user/42"
    assert echoed["headers"]["x-pd-environment"] == "development"
    assert echoed["headers"]["content-type"] == "application/json"
    assert echoed["headers"]["x-trace"] == "t-1"
    # The workflow echoed our access token: it comes back masked, never in clear.
    assert echoed["headers"]["authorization"] == "Bearer [REDACTED]"
    assert response.headers["set-cookie"] == "[REDACTED]"


async def test_static_bearer_and_no_auth(
    local_server: LocalCredentials, workflow_host: WorkflowHost
) -> None:
    transport = CountingTransport()
    async with local_client(
        local_server, workflow_domain=workflow_host.domain, transport=transport
    ) as client:
        static = await client.invoke_workflow(
            "echo", "u1", auth="static_bearer", static_bearer="wf-static-bearer-123"
        )
        none = await client.invoke_workflow("echo", "u1", method="GET", auth="none")
    assert static.json_body()["headers"]["authorization"] == "Bearer [REDACTED]"
    assert "authorization" not in none.json_body()["headers"]
    assert transport.token_requests == 0  # neither needed our Pipedream token


async def test_a_redirect_is_returned_not_followed(
    local_server: LocalCredentials, workflow_host: WorkflowHost
) -> None:
    before = len(workflow_host.seen)
    async with local_client(local_server, workflow_domain=workflow_host.domain) as client:
        response = await client.invoke_workflow("redirect", "u1", auth="none")
    assert response.status_code == 302
    assert [s.path for s in workflow_host.seen[before:]] == ["/redirect"]


async def test_a_large_answer_is_cut_at_the_limit(
    local_server: LocalCredentials, workflow_host: WorkflowHost
) -> None:
    async with local_client(
        local_server, workflow_domain=workflow_host.domain, workflow_response_limit=10_000
    ) as client:
        response = await client.invoke_workflow("big", "u1", method="GET", auth="none")
    assert response.truncated is True
    assert response.body == "x" * 10_000


async def test_a_secret_cut_by_the_limit_leaves_no_fragment(
    local_server: LocalCredentials, workflow_host: WorkflowHost
) -> None:
    """The read is cut mid-secret; a half secret no longer matches the redactor, so the body
    is scrubbed before it is cut, and the tail that could hold a fragment is dropped."""
    redactor = Redactor()
    redactor.add(STRADDLING)
    async with local_client(
        local_server,
        workflow_domain=workflow_host.domain,
        workflow_response_limit=10_000,
        redactor=redactor,
    ) as client:
        response = await client.invoke_workflow("straddle", "u1", method="GET", auth="none")
    assert response.truncated is True
    assert "sk-straddl" not in response.body
    assert set(response.body) <= {"x"}
    assert 0 < len(response.body) <= 10_000


# -- the project's token goes only where the operator said ---------------------------------


async def test_by_default_the_project_token_goes_to_no_workflow(
    local_server: LocalCredentials, workflow_host: WorkflowHost
) -> None:
    """Anyone can run an endpoint on the shared workflow domain, so being on it is not enough:
    with no endpoint listed, auth oauth is refused before anything - not even the token
    request - is sent, and the (real) workflow host receives nothing."""
    transport = CountingTransport()
    before = len(workflow_host.seen)
    async with local_client(
        local_server, workflow_domain=workflow_host.domain, transport=transport
    ) as client:
        with pytest.raises(WorkflowURLRefusedError, match="CONNECT_MCP_WORKFLOW_OAUTH_ENDPOINTS"):
            await client.invoke_workflow("enattacker", "u1")
        with pytest.raises(WorkflowURLRefusedError, match="CONNECT_MCP_WORKFLOW_OAUTH_ENDPOINTS"):
            await client.invoke_workflow(f"http://{workflow_host.domain}/echo", "u1")
    assert transport.requests == []
    assert workflow_host.seen[before:] == []


async def test_the_project_token_goes_only_to_listed_endpoints(
    local_server: LocalCredentials, workflow_host: WorkflowHost
) -> None:
    transport = CountingTransport()
    before = len(workflow_host.seen)
    async with local_client(
        local_server,
        workflow_domain=workflow_host.domain,
        workflow_oauth_endpoints=["echo"],
        transport=transport,
    ) as client:
        listed = await client.invoke_workflow("echo", "u1")
        for unlisted in ("enattacker", f"http://{workflow_host.domain}/enattacker", "echo2"):
            with pytest.raises(WorkflowAuthRefusedError, match="nothing was sent"):
                await client.invoke_workflow(unlisted, "u1")
        # Without the project's token any endpoint on the domain may still be called.
        own = await client.invoke_workflow(
            "enattacker", "u1", auth="static_bearer", static_bearer="wf-own-bearer-123"
        )
        none = await client.invoke_workflow("enattacker", "u1", auth="none")
    assert (listed.status_code, own.status_code, none.status_code) == (200, 200, 200)
    seen = workflow_host.seen[before:]
    assert [s.path for s in seen] == ["/echo", "/enattacker", "/enattacker"]
    project_token = seen[0].headers["authorization"]
    assert project_token.startswith("Bearer pdat_")
    assert seen[1].headers["authorization"] == "Bearer wf-own-bearer-123"
    assert "authorization" not in seen[2].headers
    assert transport.token_requests == 1  # fetched for the listed endpoint only


def test_oauth_endpoints_match_exactly() -> None:
    policy = WorkflowURLPolicy(
        "m.pipedream.net",
        ["hooks.example.com", "*.internal.example"],
        oauth_endpoints=["en1abc", " EO2 ", "hooks.example.com", "https://a.internal.example/"],
    )
    for allowed in (
        "en1abc",
        "EN1ABC",
        "eo2",
        "https://en1abc.m.pipedream.net/any/path?x=1",
        "https://en1abc.m.pipedream.net:443/",
        "https://hooks.example.com/run",
        "https://a.internal.example/x",
    ):
        policy.check_oauth(policy.resolve(allowed))
    for refused in (
        "en1abd",
        "en1abc1",
        "https://en1abc.evil.m.pipedream.net/",  # ends with the domain, is not {id}.{domain}
        "https://x.en1abc.m.pipedream.net/",
        "https://m.pipedream.net/en1abc",
        "https://b.internal.example/",  # allowlisted for calls, not listed for the token
    ):
        url = policy.resolve(refused)
        with pytest.raises(WorkflowAuthRefusedError):
            policy.check_oauth(url)


def test_oauth_endpoints_on_a_loopback_domain_are_paths() -> None:
    policy = WorkflowURLPolicy("127.0.0.1:8123", oauth_endpoints=["enecho"])
    for allowed in ("enecho", "http://127.0.0.1:8123/enecho", "http://127.0.0.1:8123/EnEcho/"):
        policy.check_oauth(policy.resolve(allowed))
    for refused in (
        "enaccount",
        "http://127.0.0.1:8123/",
        "http://127.0.0.1:8123/enecho/x",
        "http://127.0.0.1:8123/x/enecho",
    ):
        url = policy.resolve(refused)
        with pytest.raises(WorkflowAuthRefusedError):
            policy.check_oauth(url)


@pytest.mark.parametrize(
    "entries",
    [["*.m.pipedream.net"], ["*"], ["en 1"], ["en_1"], ["https://x@y.example"], ["a/b"], [""]],
)
def test_bad_oauth_endpoint_entries_are_refused_at_construction(entries: list[str]) -> None:
    with pytest.raises(InvalidArgumentError):
        WorkflowURLPolicy("m.pipedream.net", oauth_endpoints=entries)
    with pytest.raises(InvalidArgumentError, match="a list"):
        WorkflowURLPolicy("m.pipedream.net", oauth_endpoints="en1abc")


async def test_oauth_endpoints_come_from_the_comma_separated_setting(
    local_server: LocalCredentials, workflow_host: WorkflowHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONNECT_MCP_WORKFLOW_OAUTH_ENDPOINTS", " enother, echo ,")
    settings = Settings(
        _env_file=None,
        client_id=local_server.client_id,
        client_secret=SecretStr(local_server.client_secret),
        project_id=local_server.project_id,
        base_url=local_server.base_url,
        workflow_domain=workflow_host.domain,
    )
    assert settings.workflow_oauth_endpoints == ["enother", "echo"]
    async with ConnectClient.from_settings(settings, redactor=Redactor()) as client:
        assert (await client.invoke_workflow("echo", "u1")).status_code == 200
        with pytest.raises(WorkflowAuthRefusedError):
            await client.invoke_workflow("enattacker", "u1")


# -- sent at most once ----------------------------------------------------------------------


async def test_a_timed_out_invocation_is_not_re_sent(
    local_server: LocalCredentials, workflow_host: WorkflowHost
) -> None:
    before = len(workflow_host.seen)
    async with local_client(
        local_server, workflow_domain=workflow_host.domain, timeout=0.5
    ) as client:
        with pytest.raises(ConnectTimeoutError, match="not re-sent"):
            await client.invoke_workflow("slow", "u1", auth="none")
    assert [s.path for s in workflow_host.seen[before:]] == ["/slow"]


async def test_a_503_from_a_workflow_is_its_answer_not_a_retry(
    local_server: LocalCredentials, workflow_host: WorkflowHost
) -> None:
    before = len(workflow_host.seen)
    async with local_client(local_server, workflow_domain=workflow_host.domain) as client:
        response = await client.invoke_workflow("unavailable", "u1", auth="none")
    assert response.status_code == 503
    assert len(workflow_host.seen) - before == 1


async def test_a_401_from_a_workflow_keeps_the_api_token_and_is_not_re_sent(
    local_server: LocalCredentials, workflow_host: WorkflowHost
) -> None:
    """A workflow's 401 says nothing about our token at the Connect API: any workflow could
    answer 401 to make the client drop a good token (and fetch another on every call)."""
    transport = CountingTransport()
    before = len(workflow_host.seen)
    async with local_client(
        local_server,
        workflow_domain=workflow_host.domain,
        workflow_oauth_endpoints=["unauthorized"],
        transport=transport,
    ) as client:
        await client.get_project_info()
        response = await client.invoke_workflow("unauthorized", "u1")
        await client.get_project_info()
        assert client.token_fetches == 1
    assert response.status_code == 401
    assert transport.token_requests == 1
    assert [s.path for s in workflow_host.seen[before:]] == ["/unauthorized"]


async def test_a_refused_connection_is_retried_because_nothing_was_sent(
    local_server: LocalCredentials,
) -> None:
    transport = CountingTransport()
    async with local_client(
        local_server,
        workflow_domain=f"127.0.0.1:{_closed_port()}",
        transport=transport,
        max_retries=2,
    ) as client:
        with pytest.raises(UpstreamError, match="ConnectError"):
            await client.invoke_workflow("echo", "u1", auth="none")
    assert len(transport.requests) == 3


# -- what is refused ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://m.pipedream.net.evil.com/",
        "https://evilm.pipedream.net/",
        "https://en1.m.pipedream.net@evil.com/",
        "https://user:pw@en1.m.pipedream.net/",
        "http://en1.m.pipedream.net/",
        "ftp://en1.m.pipedream.net/",
        "https://93.184.216.34/",
        "https://[::1]/",
        "https://127.0.0.1/",
        "https://en1.m.pipedream.net:8443/",
        "https://en1.m.pipedream.net./",
        "https://en1.m\uff0epipedream.net/",  # fullwidth dot: IDNA would fold it to "."
        "https://en1.m.pipedream.net\\@evil.com/",
        "https://en1.m.pipedream.net /",
        "en1.m.pipedream.net",
        "en1/../evil",
        "-en1",
        "https://pipedream.net/",
        "https://localhost/",
        "//evil.com/x",
    ],
)
def test_endpoints_off_the_workflow_domain_are_refused(endpoint: str) -> None:
    policy = WorkflowURLPolicy("m.pipedream.net")
    with pytest.raises(WorkflowURLRefusedError):
        policy.resolve(endpoint)


BAD_HOSTS = [
    "https://en1_abc.m.pipedream.net/",
    "https://-en1.m.pipedream.net/",
    "https://en1-.m.pipedream.net/",
    "https://en1..m.pipedream.net/",
    "https://en%31abc.m.pipedream.net/",
    "https://en*.m.pipedream.net/",
    "https://en$x.m.pipedream.net/",
    "https://en!x.m.pipedream.net/",
    "https://en(x).m.pipedream.net/",
    "https://en,x.m.pipedream.net/",
    "https://en;x.m.pipedream.net/",
    "https://en=x.m.pipedream.net/",
    "https://en~x.m.pipedream.net/",
    "https://en'x.m.pipedream.net/",
    "https://xn--.m.pipedream.net/",
    "https://" + "a" * 64 + ".m.pipedream.net/",  # a label of more than 63
    "https://" + "a." * 120 + "m.pipedream.net/",  # a name of more than 253
    "https://hooks_x.example.com/",  # wildcard-allowlisted parent, bad label
]


@pytest.mark.parametrize("endpoint", BAD_HOSTS)
def test_a_url_host_that_is_not_a_host_name_is_refused(endpoint: str) -> None:
    policy = WorkflowURLPolicy("m.pipedream.net", ["*.example.com"])
    with pytest.raises(WorkflowURLRefusedError, match="not a valid host name"):
        policy.resolve(endpoint)


async def test_a_bad_url_host_sends_nothing(local_server: LocalCredentials) -> None:
    transport = CountingTransport()
    async with local_client(local_server, transport=transport) as client:
        for endpoint in BAD_HOSTS:
            with pytest.raises(WorkflowURLRefusedError):
                await client.invoke_workflow(endpoint, "u1", auth="none")
    assert transport.requests == []


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("en1a2b3c", "https://en1a2b3c.m.pipedream.net/"),
        ("EO42", "https://eo42.m.pipedream.net/"),
        ("https://en1.m.pipedream.net", "https://en1.m.pipedream.net"),
        ("https://en1.M.Pipedream.net:443/hook?x=1#frag", "https://en1.m.pipedream.net/hook?x=1"),
        ("https://m.pipedream.net/", "https://m.pipedream.net/"),
        ("https://hooks.example.com/run", "https://hooks.example.com/run"),
        ("https://a.b.internal.example/x", "https://a.b.internal.example/x"),
    ],
)
def test_endpoints_on_the_domain_or_the_allowlist_resolve(endpoint: str, url: str) -> None:
    policy = WorkflowURLPolicy("m.pipedream.net", ["hooks.example.com", "*.internal.example"])
    assert str(policy.resolve(endpoint)) == url


def test_an_allowlist_entry_is_exact_unless_it_is_a_wildcard() -> None:
    policy = WorkflowURLPolicy("m.pipedream.net", ["hooks.example.com", "*.internal.example"])
    for refused in (
        "https://sub.hooks.example.com/",
        "https://internal.example/",
        "http://hooks.example.com/",
    ):
        with pytest.raises(WorkflowURLRefusedError):
            policy.resolve(refused)


def test_a_default_port_written_out_is_the_same_origin() -> None:
    assert str(WorkflowURLPolicy("localhost:80").resolve("http://localhost/x")) == (
        "http://localhost/x"
    )
    policy = WorkflowURLPolicy("m.pipedream.net", ["hooks.example.com:443"])
    assert str(policy.resolve("https://hooks.example.com/x")) == "https://hooks.example.com/x"


def test_plain_http_is_accepted_only_on_a_loopback_workflow_domain() -> None:
    policy = WorkflowURLPolicy("127.0.0.1:8123")
    assert str(policy.resolve("en1")) == "http://127.0.0.1:8123/en1"
    assert str(policy.resolve("http://127.0.0.1:8123/x")) == "http://127.0.0.1:8123/x"
    for refused in ("http://127.0.0.1:9999/x", "http://127.0.0.2:8123/x", "http://evil.com/"):
        with pytest.raises(WorkflowURLRefusedError):
            policy.resolve(refused)


@pytest.mark.parametrize("domain", ["", "10.0.0.1", "exa mple.com", "a/b", "evil.com/path"])
def test_a_bad_workflow_domain_is_refused_at_construction(domain: str) -> None:
    with pytest.raises(InvalidArgumentError):
        WorkflowURLPolicy(domain)


async def test_a_refused_endpoint_sends_nothing_not_even_a_token_request(
    local_server: LocalCredentials,
) -> None:
    transport = CountingTransport()
    async with local_client(local_server, transport=transport) as client:
        with pytest.raises(WorkflowURLRefusedError):
            await client.invoke_workflow("https://attacker.example/collect", "u1")
    assert transport.requests == []


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"headers": {"Authorization": "Bearer x"}}, "set by the client"),
        ({"headers": {"X-PD-External-User-ID": "someone-else"}}, "set by the client"),
        ({"headers": {"X-Bad": "a\r\nInjected: 1"}}, "printable ASCII"),
        ({"method": "TRACE"}, "method must be one of"),
        ({"method": "GET", "body": {"a": 1}}, "cannot carry a body"),
        ({"body": {"x": float("nan")}}, "JSON-serialisable"),
        ({"auth": "static_bearer"}, "needs static_bearer"),
        ({"auth": "none", "static_bearer": "wf-static-1234"}, "only used with"),
    ],
)
async def test_bad_invocations_are_refused_before_sending(
    local_server: LocalCredentials, kwargs: dict[str, Any], why: str
) -> None:
    transport = CountingTransport()
    async with local_client(
        local_server, transport=transport, workflow_domain="127.0.0.1:1"
    ) as client:
        with pytest.raises(InvalidArgumentError, match=why):
            await client.invoke_workflow("en1", "u1", **kwargs)
    assert transport.requests == []


@pytest.mark.parametrize(
    "headers",
    [
        {"x_pd_external_user_id": "someone-else"},
        {"X_PD_External_User_ID": "someone-else"},
        {"x-pd_external-user_id": "someone-else"},
        {"x_pd_environment": "production"},
        {"AUTHORIZATION": "Bearer x"},
        {"Proxy_Authorization": "Basic eA=="},
        {"Host": "evil.example"},
        {"HOST": "evil.example"},
        {"content_length": "0"},
        {"Transfer_Encoding": "chunked"},
        {"COOKIE": "session=1"},
        {"Upgrade": "h2c"},
        {"X-Trace": "1", "x_trace": "2"},  # one header to a server that folds `_`
    ],
)
async def test_reserved_headers_are_refused_in_every_spelling(
    local_server: LocalCredentials, workflow_host: WorkflowHost, headers: dict[str, str]
) -> None:
    """Servers read header names case-insensitively, and many (CGI/WSGI, PHP, some proxies)
    fold `_` into `-`: `x_pd_external_user_id` would name another user to the workflow. The
    real workflow host proves nothing was sent."""
    transport = CountingTransport()
    before = len(workflow_host.seen)
    async with local_client(
        local_server, workflow_domain=workflow_host.domain, transport=transport
    ) as client:
        with pytest.raises(InvalidArgumentError, match=r"may not be given|given twice"):
            await client.invoke_workflow("echo", "u1", auth="none", headers=headers)
    assert transport.requests == []
    assert workflow_host.seen[before:] == []


async def test_ordinary_headers_with_underscores_still_travel(
    local_server: LocalCredentials, workflow_host: WorkflowHost
) -> None:
    async with local_client(local_server, workflow_domain=workflow_host.domain) as client:
        response = await client.invoke_workflow(
            "echo", "u1", auth="none", headers={"X_Request_Id": "r-1", "X-Trace": "t-1"}
        )
    assert response.json_body()["headers"]["x_request_id"] == "r-1"
    assert response.json_body()["headers"]["x-trace"] == "t-1"


async def test_a_non_ascii_user_cannot_travel_in_the_header(
    local_server: LocalCredentials,
) -> None:
    async with local_client(local_server, workflow_domain="127.0.0.1:1") as client:
        with pytest.raises(InvalidArgumentError, match="printable ASCII"):
            await client.invoke_workflow("en1", "usér")
