"""Confirmation gates: every outcome, on both protocol eras, with a real MCP client.

Only accept + yes deletes. Decline, cancel, accept + no, an elicitation error, no answer in
time, or a client that cannot elicit: nothing is deleted, and (except for the client that
cannot ask a human at all) the tool returns a normal result that says so.
"""

from __future__ import annotations

import io
import json

import anyio
import pytest
from mcp import Client, MCPError
from mcp.client.session import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult, ErrorData

from connect_mcp.local.embedded import LocalCredentials
from tests.server.helpers import ERAS, Answer, answer, call, data, make_server, new_user, text
from tests.support import seed_account

KEY = {"api_key": "sk-test-0123456789abcdef"}


async def remaining(creds: LocalCredentials, user: str) -> list[str]:
    async with Client(make_server(creds, user)) as client:
        result = await call(client, "list_accounts")
    return [a["id"] for a in data(result)["accounts"]]


@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize(
    ("reply", "decision"),
    [
        (answer("accept", False), "rejected"),
        (answer("decline"), "declined"),
        (answer("cancel"), "cancelled"),
    ],
    ids=["accept-no", "decline", "cancel"],
)
async def test_unconfirmed_delete_deletes_nothing(
    local_server: LocalCredentials, mode: str, reply: Answer, decision: str
) -> None:
    user = new_user()
    account = seed_account(local_server, user, "openai", KEY)["id"]
    async with Client(make_server(local_server, user), mode=mode, elicitation_callback=reply) as c:
        result = await call(c, "delete_account", {"account_id": account})
    assert not result.is_error, text(result)
    assert result.structured_content == {
        "deleted": False,
        "confirmation": decision,
        "deleted_ids": [],
        "not_deleted_ids": [account],
        "message": text(result),
    }
    assert text(result).startswith("Nothing was deleted")
    assert await remaining(local_server, user) == [account]


@pytest.mark.parametrize("mode", ERAS)
async def test_accept_yes_deletes_exactly_what_was_shown(
    local_server: LocalCredentials, mode: str
) -> None:
    user = new_user()
    account = seed_account(local_server, user, "openai", KEY, name="Team key")["id"]
    other = seed_account(local_server, user, "anthropic", {"api_key": "sk-ant-0123456789abc"})
    asked: list[str] = []
    server = make_server(local_server, user)
    async with Client(
        server, mode=mode, elicitation_callback=answer("accept", True, log=asked)
    ) as c:
        result = await call(c, "delete_account", {"account_id": account})
    assert not result.is_error, text(result)
    assert data(result)["deleted_ids"] == [account]
    assert len(asked) == 1
    assert account in asked[0]
    assert "OpenAI" in asked[0]
    assert "'Team key'" in asked[0]
    assert user in asked[0]
    assert other["id"] not in asked[0]
    assert await remaining(local_server, user) == [other["id"]]


@pytest.mark.parametrize("mode", ERAS)
async def test_client_without_elicitation_is_refused_with_guidance(
    local_server: LocalCredentials, mode: str
) -> None:
    user = new_user()
    account = seed_account(local_server, user, "openai", KEY)["id"]
    async with Client(make_server(local_server, user), mode=mode) as c:
        result = await c.call_tool("delete_account", {"account_id": account})
    assert result.is_error
    assert "elicitation" in text(result)
    assert "CONNECT_MCP_CONFIRM=never" in text(result)
    assert "Nothing was deleted" in text(result)
    assert await remaining(local_server, user) == [account]


async def _error_reply(context: ClientRequestContext, params: ElicitRequestParams) -> ErrorData:
    return ErrorData(code=-32603, message="the user's client crashed")


async def test_elicitation_error_deletes_nothing_handshake_era(
    local_server: LocalCredentials,
) -> None:
    user = new_user()
    account = seed_account(local_server, user, "openai", KEY)["id"]
    server = make_server(local_server, user)
    async with Client(server, mode="legacy", elicitation_callback=_error_reply) as c:
        result = await call(c, "delete_account", {"account_id": account})
    assert not result.is_error
    assert data(result)["confirmation"] == "error"
    assert await remaining(local_server, user) == [account]


async def test_elicitation_error_deletes_nothing_input_required_era(
    local_server: LocalCredentials,
) -> None:
    """On 2026-07-28 the client fails its own retry loop; the server never gets an answer."""
    user = new_user()
    account = seed_account(local_server, user, "openai", KEY)["id"]
    server = make_server(local_server, user)
    async with Client(server, elicitation_callback=_error_reply) as c:
        with pytest.raises(MCPError):
            await c.call_tool("delete_account", {"account_id": account})
    assert await remaining(local_server, user) == [account]


@pytest.mark.parametrize("mode", ERAS)
async def test_answer_after_the_timeout_deletes_nothing(
    local_server: LocalCredentials, mode: str
) -> None:
    user = new_user()
    account = seed_account(local_server, user, "openai", KEY)["id"]

    async def slow_yes(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        await anyio.sleep(1.2)
        return ElicitResult(action="accept", content={"confirm": True})

    server = make_server(local_server, user, confirm_timeout=0.5)
    async with Client(server, mode=mode, elicitation_callback=slow_yes) as c:
        with anyio.fail_after(10):
            result = await call(c, "delete_account", {"account_id": account})
    assert not result.is_error, text(result)
    assert data(result)["confirmation"] == "timeout"
    assert data(result)["deleted"] is False
    await anyio.sleep(1.0)  # let a late answer arrive on the handshake era, too
    assert await remaining(local_server, user) == [account]


@pytest.mark.parametrize("mode", ERAS)
async def test_policy_never_deletes_without_asking(
    local_server: LocalCredentials, mode: str
) -> None:
    user = new_user()
    account = seed_account(local_server, user, "openai", KEY)["id"]
    async with Client(make_server(local_server, user, confirm="never"), mode=mode) as c:
        result = await call(c, "delete_account", {"account_id": account})
    assert data(result)["confirmation"] == "policy_never"
    assert await remaining(local_server, user) == []


async def test_targets_changed_while_asking_are_asked_again(local_server: LocalCredentials) -> None:
    """2026-07-28: the plan is reloaded on the retry; a new account changes the question, so
    the human is asked again and confirms the new list - nothing unseen is deleted."""
    user = new_user()
    first = seed_account(local_server, user, "openai", KEY)["id"]
    asked: list[str] = []
    added: list[str] = []

    async def reply(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        if not added:
            added.append(
                await anyio.to_thread.run_sync(
                    lambda: seed_account(local_server, user, "openai", KEY)["id"]
                )
            )
        return ElicitResult(action="accept", content={"confirm": True})

    async with Client(make_server(local_server, user), elicitation_callback=reply) as c:
        result = await call(c, "delete_app_accounts", {"app": "openai"})
    assert len(asked) == 2
    assert added[0] not in asked[0]
    assert added[0] in asked[1]
    assert sorted(data(result)["deleted_ids"]) == sorted([first, added[0]])


async def test_targets_added_while_asking_are_kept_handshake_era(
    local_server: LocalCredentials,
) -> None:
    user = new_user()
    first = seed_account(local_server, user, "openai", KEY)["id"]
    added: list[str] = []

    async def reply(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        added.append(
            await anyio.to_thread.run_sync(
                lambda: seed_account(local_server, user, "openai", KEY)["id"]
            )
        )
        return ElicitResult(action="accept", content={"confirm": True})

    server = make_server(local_server, user)
    async with Client(server, mode="legacy", elicitation_callback=reply) as c:
        result = await call(c, "delete_app_accounts", {"app": "openai"})
    assert data(result)["deleted_ids"] == [first]
    assert await remaining(local_server, user) == added


async def test_every_call_is_audited(
    local_server: LocalCredentials, captured_logs: io.StringIO
) -> None:
    user = new_user()
    account = seed_account(local_server, user, "openai", KEY)["id"]
    async with Client(make_server(local_server, user), elicitation_callback=answer("decline")) as c:
        await call(c, "delete_account", {"account_id": account})
        await c.call_tool("list_accounts", {"limit": 0})
    events = [json.loads(line) for line in captured_logs.getvalue().splitlines() if line]
    audit = [e for e in events if e.get("event") == "tool_call"]
    final = [e for e in audit if e["tool"] == "delete_account"][-1]
    assert final["principal"] == user
    assert final["outcome"] == "not_confirmed"
    assert final["gate"] == "declined"
    assert final["targets"] == [account]
    assert isinstance(final["duration_ms"], float)
    assert [e["outcome"] for e in audit if e["tool"] == "list_accounts"] == ["bad_arguments"]
    assert not any("arguments" in e or "account_id" in e for e in audit)
