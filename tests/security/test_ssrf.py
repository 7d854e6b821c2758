"""SSRF: `invoke_workflow` with endpoints off the workflow domain - look-alike hosts, userinfo,
IP literals in every spelling, other schemes, redirects to other hosts. Each is refused before
any request, and neither our access token nor a static bearer reaches a host off the domain:
loopback listeners in the test prove nothing arrived."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2
import pytest
from mcp import Client

from connect_mcp.local.embedded import LocalCredentials
from tests.server.helpers import Listener, call, data, make_server, new_user, text

BEARER = "static-bearer-ssrf-0123456789"


def loopback_disguises(allowed: str, evil_port: int) -> list[str]:
    """URLs that reach the evil listener (127.0.0.1:evil_port) while looking allowed."""
    e = evil_port
    return [
        f"http://127.0.0.1:{e}/en123abc",
        f"http://localhost:{e}/",
        f"https://127.0.0.1:{e}/",
        f"HTTP://127.0.0.1:{e}/",
        f"http://{allowed}@127.0.0.1:{e}/",
        f"http://user:pw@127.0.0.1:{e}/",
        f"http://127.0.0.1:{e}#@{allowed}/",
        f"http://127.0.0.1:{e}?@{allowed}/",
        f"http://127.0.0.1:{e}\\@{allowed}/",
        f"http://127.0.0.1:{e}%2F@{allowed}/",
        f"http://127.1:{e}/",
        f"http://2130706433:{e}/",
        f"http://0x7f000001:{e}/",
        f"http://0177.0.0.1:{e}/",
        f"http://0:{e}/",
        f"http://[::ffff:127.0.0.1]:{e}/",
        f"//127.0.0.1:{e}/",
        f"127.0.0.1:{e}",
        f"http:/127.0.0.1:{e}/",
        f"http://{allowed.split(':')[0]}:{e}/",
        f"http://{allowed}.127.0.0.1.nip.io:{e}/",
        f"en123abc.127.0.0.1:{e}",
        f"en123abc/../../127.0.0.1:{e}",
    ]


DOMAIN_DISGUISES = [
    "https://en123abc.m.pipedream.net.evil.example/",
    "https://en123abc.m.pipedream.netevil.example/",
    "https://evilm.pipedream.net/",
    "https://m.pipedream.net@evil.example/",
    "https://en1abc.m.pipedream.net@evil.example/",
    "https://en1abc.m.pipedream.net:443@evil.example/",
    "https://evil.example#@en1abc.m.pipedream.net/",
    "https://evil.example?.m.pipedream.net",
    "https://evil.example\\.m.pipedream.net/",
    "https://evil.example/.m.pipedream.net",
    "https://en1abc.m.pipedream.net./",
    "https://en1abc.m.pipedream.n\u0435t/",  # Cyrillic e
    "https://en1abc.m.pipedream.net%2F@evil.example/",
    "https://en1abc.m.pipedream.net%00.evil.example/",
    "https://en1abc.m.pipedream.net\t.evil.example/",
    "https://en1abc.m.pipedream.net:8443/",
    "http://en1abc.m.pipedream.net/",
    "ftp://en1abc.m.pipedream.net/",
    "file:///etc/passwd",
    "gopher://en1abc.m.pipedream.net/",
    "javascript:alert(1)",
    "data:text/plain,hello",
    "https://1.2.3.4/",
    "https://[::1]/",
    "https://169.254.169.254/latest/meta-data/",
    "http://169.254.169.254/latest/meta-data/",
    "https://metadata.google.internal/",
    "https://localhost/",
    "en1abc.evil.example",
    "en1abc@evil.example",
]


def invocations(endpoint: str) -> list[dict[str, Any]]:
    return [
        {"endpoint": endpoint},
        {"endpoint": endpoint, "auth": "static_bearer", "static_bearer": BEARER},
        {"endpoint": endpoint, "auth": "none", "method": "GET"},
    ]


async def test_loopback_disguises_never_reach_the_other_listener(
    local_server: LocalCredentials,
) -> None:
    ran = 0
    with Listener() as allowed, Listener() as evil:
        server = make_server(
            local_server,
            new_user(),
            client={"workflow_domain": allowed.netloc, "workflow_oauth_endpoints": ["en123abc"]},
        )
        async with Client(server) as c:
            for endpoint in loopback_disguises(allowed.netloc, evil.port):
                for args in invocations(endpoint):
                    result = await c.call_tool("invoke_workflow", args)
                    ran += 1
                    assert result.is_error, (endpoint, text(result))
                    assert "nothing was sent" in text(result) or "Invalid arguments" in text(
                        result
                    ), text(result)
                    assert BEARER not in text(result)
            control = await call(c, "invoke_workflow", {"endpoint": "en123abc"})
    assert evil.requests == []
    assert len(allowed.requests) == 1  # only the control call
    assert data(control)["status"] == 200
    print(f"\n[ssrf/loopback] {ran} disguised endpoints x auth modes: 0 requests off the domain")


class Recorder(httpx2.AsyncBaseTransport):
    """Records every request the client tries to send, and fails it like an unreachable
    network. A stand-in because the test machine cannot reach m.pipedream.net or resolve the
    look-alike names - what matters is whether any request is attempted at all."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.urls.append(str(request.url))
        if request.url.path == "/v1/oauth/token":
            return httpx2.Response(
                200, json={"access_token": "pdat_recorded_0123456789", "expires_in": 3600}
            )
        raise httpx2.ConnectError("unreachable in tests", request=request)


async def test_lookalike_hosts_are_refused_before_any_request(
    local_server: LocalCredentials,
) -> None:
    recorder = Recorder()
    server = make_server(
        local_server,
        new_user(),
        client={
            "transport": recorder,
            "base_url": "https://api.example",
            "workflow_oauth_endpoints": ["en123abc"],
        },
    )
    ran = 0
    async with Client(server) as c:
        for endpoint in DOMAIN_DISGUISES:
            for args in invocations(endpoint):
                result = await c.call_tool("invoke_workflow", args)
                ran += 1
                assert result.is_error, (endpoint, text(result))
                assert BEARER not in text(result)
        assert not [u for u in recorder.urls if "oauth" not in u], recorder.urls
        control = await c.call_tool("invoke_workflow", {"endpoint": "en123abc"})
    assert control.is_error  # the recorder refuses to connect ...
    assert recorder.urls[-1] == "https://en123abc.m.pipedream.net/"  # ... but it was tried
    print(f"\n[ssrf/lookalikes] {ran} look-alike endpoints x auth modes: 0 requests attempted")


@contextmanager
def redirector(status: int, location: str) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A workflow host that answers every request with a redirect to `location`; yields its
    host:port and the headers of every request it received."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            seen.append({k.lower(): v for k, v in self.headers.items()})
            length = int(self.headers.get("content-length") or 0)
            self.rfile.read(length)
            self.send_response(status)
            self.send_header("location", location)
            self.send_header("content-length", "0")
            self.end_headers()

        do_GET = do_POST = _handle

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirects_are_not_followed(local_server: LocalCredentials, status: int) -> None:
    with Listener() as evil:
        with redirector(status, f"http://127.0.0.1:{evil.port}/steal") as (netloc, seen):
            server = make_server(
                local_server,
                new_user(),
                client={"workflow_domain": netloc, "workflow_oauth_endpoints": ["en123abc"]},
            )
            async with Client(server) as c:
                oauth = await call(c, "invoke_workflow", {"endpoint": "en123abc"})
                bearer = await call(
                    c,
                    "invoke_workflow",
                    {"endpoint": "en123abc", "auth": "static_bearer", "static_bearer": BEARER},
                )
        assert evil.requests == []
    assert len(seen) == 2  # each invocation went out once, to the workflow host only
    assert seen[0]["authorization"].startswith("Bearer ")
    assert seen[1]["authorization"] == f"Bearer {BEARER}"
    for result in (oauth, bearer):
        assert data(result)["status"] == status  # the redirect is the workflow's answer
        assert BEARER not in text(result)
    print(f"\n[ssrf/redirect {status}] 2 invocations: redirect returned, not followed")


async def test_the_project_token_goes_to_no_endpoint_by_default(
    local_server: LocalCredentials,
) -> None:
    """The last review's top risk: anyone can run an endpoint on the shared workflow domain, so
    a model could name one it controls and receive the project's Pipedream token. The listener
    stands in for that endpoint's host: with no endpoint listed by the operator, auth oauth
    (the default) is refused and nothing at all arrives there."""
    with Listener() as host:
        server = make_server(
            local_server,
            new_user(),
            client={"workflow_domain": host.netloc},
        )
        async with Client(server) as c:
            for args in (
                {"endpoint": "en123abc"},
                {"endpoint": "enattacker", "auth": "oauth", "body": {"x": 1}},
                {"endpoint": f"http://{host.netloc}/enattacker", "method": "GET"},
            ):
                result = await c.call_tool("invoke_workflow", args)
                assert result.is_error, (args, text(result))
                assert "nothing was sent" in text(result), text(result)
                assert "CONNECT_MCP_WORKFLOW_OAUTH_ENDPOINTS" in text(result)
    assert host.requests == []


async def test_the_project_token_goes_only_to_endpoints_the_operator_listed(
    local_server: LocalCredentials,
) -> None:
    with Listener() as host:
        server = make_server(
            local_server,
            new_user(),
            client={"workflow_domain": host.netloc, "workflow_oauth_endpoints": ["en123abc"]},
        )
        async with Client(server) as c:
            listed = await call(c, "invoke_workflow", {"endpoint": "en123abc"})
            stolen = await c.call_tool("invoke_workflow", {"endpoint": "enattacker"})
            plain = await call(c, "invoke_workflow", {"endpoint": "enattacker", "auth": "none"})
    assert data(listed)["status"] == 200
    assert stolen.is_error
    assert "CONNECT_MCP_WORKFLOW_OAUTH_ENDPOINTS" in text(stolen)
    assert data(plain)["status"] == 200
    assert [r["path"] for r in host.requests] == ["/en123abc", "/enattacker"]
    assert host.requests[0]["headers"]["authorization"].startswith("Bearer ")
    assert "authorization" not in host.requests[1]["headers"]
