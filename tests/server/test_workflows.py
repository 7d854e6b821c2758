"""`invoke_workflow` against a stand-in workflow host on loopback (the Connect client's loopback
rule: when the workflow domain is a loopback host:port, `http` is allowed there and an endpoint
id travels in the path)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from mcp import Client
from mcp.server import MCPServer

from connect_mcp.config import Settings
from connect_mcp.connect import WorkflowAuthRefusedError
from connect_mcp.local.embedded import LocalCredentials
from connect_mcp.local.workflows import BUILT_IN
from connect_mcp.server.serve import open_backend
from connect_mcp.server.state import ServerState
from tests.server.helpers import ERAS, Listener, call, data, make_server, new_user, text
from tests.support import seed_account


def _server(
    creds: LocalCredentials,
    user: str,
    domain: str,
    limit: int = 16_384,
    oauth: tuple[str, ...] = ("en123abc",),
) -> MCPServer[ServerState]:
    """`oauth`: the endpoints the operator lists for the project's token (the stand-in
    workflow `en123abc` by default)."""
    return make_server(
        creds,
        user,
        workflow_response_limit=limit,
        client={
            "workflow_domain": domain,
            "workflow_response_limit": limit,
            "workflow_oauth_endpoints": oauth,
        },
    )


@pytest.mark.parametrize("mode", ERAS)
async def test_invoke_workflow_for_the_session_user(
    local_server: LocalCredentials, mode: str
) -> None:
    user = new_user()
    with Listener(reply=lambda r: (201, {"got": json.loads(r["body"] or "null")})) as host:
        server = _server(local_server, user, host.netloc)
        async with Client(server, mode=mode) as c:
            result = await call(
                c, "invoke_workflow", {"endpoint": "en123abc", "body": {"hello": "world"}}
            )
    assert not result.is_error, text(result)
    assert data(result)["status"] == 201
    assert json.loads(data(result)["body"]) == {"got": {"hello": "world"}}
    assert data(result)["truncated"] is False
    [request] = host.requests
    assert request["method"] == "POST"
    assert request["path"].startswith("/en123abc")
    assert request["headers"]["x-pd-external-user-id"] == user
    assert request["headers"]["authorization"].startswith("Bearer ")


async def test_workflow_response_is_truncated_to_the_limit(local_server: LocalCredentials) -> None:
    with Listener(reply=lambda r: (200, {"blob": "x" * 5000})) as host:
        server = _server(local_server, new_user(), host.netloc, limit=200)
        async with Client(server) as c:
            result = await call(c, "invoke_workflow", {"endpoint": "en123abc", "method": "GET"})
    assert data(result)["truncated"] is True
    assert len(data(result)["body"]) <= 200


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:{evil}/en123abc",
        "http://localhost:{evil}/",
        "https://en123abc.m.pipedream.net.127.0.0.1.nip.io/",
        "http://169.254.169.254/latest/meta-data/",
        "https://user@{allowed}/en123abc",
        "file:///etc/passwd",
    ],
)
async def test_off_domain_endpoint_is_refused_before_any_request(
    local_server: LocalCredentials, endpoint: str
) -> None:
    with Listener() as allowed, Listener() as evil:
        target = endpoint.format(evil=evil.port, allowed=allowed.netloc)
        server = _server(local_server, new_user(), allowed.netloc)
        async with Client(server) as c:
            result = await c.call_tool(
                "invoke_workflow",
                {
                    "endpoint": target,
                    "auth": "static_bearer",
                    "static_bearer": "s3cr3t-bearer-x-0123",
                },
            )
    assert result.is_error
    assert "nothing was sent" in text(result)
    assert "s3cr3t-bearer-x" not in text(result)
    assert evil.requests == []
    assert allowed.requests == []


async def test_secret_named_fields_in_a_json_answer_are_masked(
    local_server: LocalCredentials,
) -> None:
    """Values the process never saw cannot be scrubbed by value; their field names still say
    what they are."""
    leak = {"user": {"name": "ann", "refresh_token": "rt-never-seen-before-1234"}, "ok": True}
    with Listener(reply=lambda r: (200, leak)) as host:
        async with Client(_server(local_server, new_user(), host.netloc)) as c:
            result = await call(c, "invoke_workflow", {"endpoint": "en123abc"})
    body = json.loads(data(result)["body"])
    assert body == {"user": {"name": "ann", "refresh_token": "[REDACTED]"}, "ok": True}


@pytest.mark.parametrize("mode", ERAS)
async def test_built_in_workflows_of_the_local_server(
    local_server: LocalCredentials, mode: str
) -> None:
    """The embedded default's wiring: the workflow domain is the local server's host:port."""
    user = new_user()
    seed_account(local_server, user, "openai", {"api_key": "sk-test-0123456789abcdef"})
    domain = urlsplit(local_server.base_url).netloc
    async with Client(_server(local_server, user, domain, oauth=BUILT_IN), mode=mode) as c:
        echo = await call(c, "invoke_workflow", {"endpoint": "enecho", "body": {"x": 1}})
        used = await call(
            c, "invoke_workflow", {"endpoint": "enaccount", "body": {"app": "openai"}}
        )
        none = await call(c, "invoke_workflow", {"endpoint": "enaccount", "body": {"app": "slack"}})
    assert data(echo)["status"] == 200
    assert user in data(echo)["body"]
    assert data(used)["status"] == 200
    assert "sk-test-0123456789abcdef" not in data(used)["body"]
    assert data(none)["status"] == 404


async def test_a_workflow_that_times_out_is_not_resent_nor_retried_by_invitation(
    local_server: LocalCredentials,
) -> None:
    """A real slow host (it sleeps past the client's timeout): the invocation may have run, so
    it is sent exactly once and the error tells the model to check before trying again."""

    def slow(_request: dict[str, object]) -> tuple[int, dict[str, object]]:
        time.sleep(1.5)
        return 200, {"ran": True}

    with Listener(reply=slow) as host:
        server = make_server(
            local_server,
            new_user(),
            client={
                "workflow_domain": host.netloc,
                "workflow_oauth_endpoints": ["en123abc"],
                "timeout": 0.5,
                "max_retries": 3,
            },
        )
        async with Client(server) as c:
            result = await c.call_tool("invoke_workflow", {"endpoint": "en123abc"})
        assert result.is_error
        message = text(result)
        assert "may already have been acted on" in message
        assert "Try again later" not in message
        assert len(host.requests) == 1


async def test_the_embedded_backend_lets_the_token_reach_its_built_in_workflows_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The offline default still works: `serve`'s embedded backend lists the local server's
    built-in workflows (and only those, plus the operator's) for auth oauth."""
    for name in list(os.environ):
        if name.startswith(("CONNECT_MCP_", "PIPEDREAM_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CONNECT_MCP_WORKFLOW_OAUTH_ENDPOINTS", "enmine")
    with open_backend(Settings(_env_file=None, data_dir=tmp_path / "data")) as backend:
        assert backend.embedded
        async with backend.connect() as client:
            echo = await client.invoke_workflow("enecho", "u1", body={"n": 1})
            account = await client.invoke_workflow("enaccount", "u1", body={"app": "openai"})
            mine = await client.invoke_workflow("enmine", "u1")  # listed: sent, 404 locally
            with pytest.raises(WorkflowAuthRefusedError):
                await client.invoke_workflow("enother", "u1")
    assert echo.status_code == 200
    assert account.status_code == 404  # no account connected: the workflow ran
    assert mine.status_code == 404
