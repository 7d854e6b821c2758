"""Redaction with generated secrets: after a session that touches accounts with known random
credentials, runs workflows that echo them back and provokes errors, no tool result (text or
structured), no error and no log line carries any of them."""

from __future__ import annotations

import io
import json
import secrets
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult

from connect_mcp.local.embedded import LocalCredentials
from tests.server.helpers import ERAS, Listener, answer, data, make_server, new_user, text
from tests.support import seed_account


def _secret() -> str:
    return secrets.token_urlsafe(24)


@pytest.mark.parametrize("mode", ERAS)
async def test_no_secret_leaves_the_process(
    local_server: LocalCredentials, captured_logs: io.StringIO, mode: str
) -> None:
    user = new_user()
    api_key, org, other_key, bearer = _secret(), _secret(), _secret(), _secret()
    work = seed_account(local_server, user, "openai", {"api_key": api_key, "organization": org})
    seed_account(local_server, user, "anthropic", {"api_key": other_key})
    stranger = seed_account(local_server, new_user(), "openai", {"api_key": _secret()})

    def echo(request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        # A careless workflow: echoes every header (our access token, the static bearer) and
        # stored credentials. (It cannot leak a secret the process has never seen: redaction by
        # value covers every secret the process knows.)
        return 200, {
            "headers": request["headers"],
            "body": request["body"],
            "key": api_key,
            "nested": {"access_token": other_key, "org": org},
        }

    results: list[CallToolResult] = []
    with Listener(reply=echo) as host:
        server = make_server(
            local_server,
            user,
            client={"workflow_domain": host.netloc, "workflow_oauth_endpoints": ["en1abc"]},
        )
        async with Client(server, mode=mode, elicitation_callback=answer("decline")) as c:
            for tool, args in [
                ("list_accounts", {}),
                ("get_account", {"account_id": work["id"]}),
                ("get_account", {"account_id": api_key}),  # a secret as an id: echoed in the error
                ("get_account", {"account_id": stranger["id"]}),
                ("create_connect_link", {"account_id": work["id"]}),
                ("delete_account", {"account_id": work["id"]}),  # the question is redacted too
                ("delete_app_accounts", {"app": "anthropic"}),
                ("invoke_workflow", {"endpoint": "en1abc", "body": {"k": api_key}}),
                (
                    "invoke_workflow",
                    {"endpoint": "en1abc", "auth": "static_bearer", "static_bearer": bearer},
                ),
                (
                    "invoke_workflow",
                    {
                        "endpoint": "https://evil.example/x",
                        "auth": "static_bearer",
                        "static_bearer": _secret(),
                    },
                ),
                (
                    "invoke_workflow",
                    {"endpoint": "en1abc", "static_bearer": bearer, "limit": api_key},
                ),
                ("list_accounts", {"cursor": api_key, "limit": org}),
            ]:
                results.append(await c.call_tool(tool, args))
        seen_authorization = [r["headers"].get("authorization", "") for r in host.requests]

    access_tokens = [h.removeprefix("Bearer ") for h in seen_authorization if h]
    assert access_tokens, "the workflow host saw the requests"
    secrets_ = [api_key, org, other_key, bearer, local_server.client_secret, *access_tokens]
    emitted = [text(r) + json.dumps(r.structured_content) for r in results]
    emitted.append(captured_logs.getvalue())
    for blob in emitted:
        for secret in secrets_:
            assert secret not in blob
    assert "[REDACTED]" in emitted[7]  # the echoing workflow really echoed something
    assert data(results[0])["accounts"][0]["credential_fields"]  # names survive redaction
    assert "tool_call" in captured_logs.getvalue()  # audit events went through this pipeline


async def test_a_session_cannot_blank_out_another_users_confirmation(
    local_server: LocalCredentials,
) -> None:
    """The redactor is shared by every session and never forgets. If a refused call could
    teach it words, a model could make the victim's delete question read "[REDACTED]" - the
    human would confirm without seeing what goes."""
    victim, attacker = new_user(), new_user()
    account = seed_account(local_server, victim, "openai", {"api_key": _secret()})["id"]
    async with Client(make_server(local_server, attacker, perm="read")) as c:
        refused = await c.call_tool("list_accounts", {"password": account, "api_key": account})
        assert refused.is_error
    async with Client(make_server(local_server, attacker)) as c:
        short = await c.call_tool(
            "invoke_workflow",
            {"endpoint": "en1", "auth": "static_bearer", "static_bearer": account},
        )
        assert short.is_error  # a model-supplied bearer shorter than 16 characters is refused
    asked: list[str] = []
    victims = make_server(local_server, victim)
    async with Client(victims, elicitation_callback=answer("decline", log=asked)) as c:
        listed = text(await c.call_tool("list_accounts", {}))
        await c.call_tool("delete_account", {"account_id": account})
    assert account in listed
    assert asked
    assert account in asked[0]
