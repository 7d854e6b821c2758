"""Failures the model must be able to read - built from trusted fields only - and replays of a
2026-07-28 confirmation that must delete nothing."""

from __future__ import annotations

from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ElicitResult, InputRequiredResult

from connect_mcp.local.embedded import LocalCredentials
from connect_mcp.server.auth import JWTVerifier
from connect_mcp.server.eras import CONFIRM_KEY
from tests.server.helpers import answer, call, data, make_server, new_user, serving, text
from tests.server.test_http import CONFIG, token
from tests.support import seed_account

KEY = {"api_key": "sk-test-0123456789abcdef"}


async def test_wrong_backend_credentials(local_server: LocalCredentials) -> None:
    wrong = "wrong-client-secret-0123456789"
    server = make_server(local_server, new_user(), client={"client_secret": wrong})
    async with Client(server) as c:
        result = await c.call_tool("list_accounts", {})
    assert result.is_error
    assert "refused this server's credentials" in text(result)
    assert "HTTP 401" in text(result)
    assert wrong not in text(result)


async def test_rate_limited_backend(make_local_server: Any) -> None:
    creds = make_local_server(token_rate_per_minute=1)
    # The client's own pacing is off so the server's 429 reaches the tool.
    server = make_server(creds, new_user(), client={"token_rate_per_minute": None})
    async with Client(server) as c:
        first = await call(c, "create_connect_link")
        second = await c.call_tool("create_connect_link", {})
    assert not first.is_error
    assert second.is_error
    assert "rate limiting" in text(second)
    assert "Retry in about" in text(second)


def _client(url: str, bearer: str) -> Client:
    http = httpx2.AsyncClient(headers={"authorization": f"Bearer {bearer}"}, timeout=20)
    # The callback only declares the elicitation capability: these tests drive the
    # input-required rounds by hand through `session.call_tool`.
    return Client(
        streamable_http_client(url, http_client=http), elicitation_callback=answer("decline")
    )


async def test_replayed_confirmation_state_deletes_nothing(local_server: LocalCredentials) -> None:
    """A sealed 2026-07-28 confirmation is bound to its principal and its exact arguments: a
    second user replaying it, or the same user replaying it for another account, deletes
    nothing and gets the ordinary 'nothing was deleted' result."""
    alice = new_user()
    target = seed_account(local_server, alice, "openai", KEY)["id"]
    other = seed_account(local_server, alice, "openai", KEY)["id"]
    mcp = make_server(local_server, None, verifier=JWTVerifier(CONFIG))
    async with serving(mcp.streamable_http_app(host="127.0.0.1")) as url:
        async with _client(url, token(alice)) as a:
            asked = await a.session.call_tool(
                "delete_account", {"account_id": target}, allow_input_required=True
            )
            assert isinstance(asked, InputRequiredResult)
            assert asked.input_requests
            assert set(asked.input_requests) == {CONFIRM_KEY}  # opaque, not a Python name
            assert asked.request_state
            yes = {
                key: ElicitResult(action="accept", content={"confirm": True})
                for key in asked.input_requests
            }
            moved = await a.session.call_tool(
                "delete_account",
                {"account_id": other},
                input_responses=yes,  # type: ignore[arg-type]
                request_state=asked.request_state,
                allow_input_required=True,
            )
        async with _client(url, token(new_user())) as mallory:
            stolen = await mallory.session.call_tool(
                "delete_account",
                {"account_id": target},
                input_responses=yes,  # type: ignore[arg-type]
                request_state=asked.request_state,
                allow_input_required=True,
            )
        async with _client(url, token(alice)) as a:
            left = await call(a, "list_accounts")
    for replay in (moved, stolen):
        assert not isinstance(replay, InputRequiredResult)
        assert data(replay)["deleted"] is False
        assert text(replay).startswith("Nothing was deleted")
    assert sorted(a["id"] for a in data(left)["accounts"]) == sorted([target, other])
