"""Scope escapes: a session acts for its own user only, and says nothing about anyone else."""

from __future__ import annotations

import pytest
from mcp import Client

from connect_mcp.local.embedded import LocalCredentials
from tests.server.helpers import ERAS, answer, call, data, make_server, new_user, text
from tests.support import seed_account

KEY = {"api_key": "sk-test-0123456789abcdef"}
MISSING = "apn_doesNotExist1"


def _normalized(message: str, account_id: str) -> str:
    return message.replace(account_id, "<ID>")


@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize(
    ("tool", "extra"),
    [("get_account", {}), ("delete_account", {}), ("create_connect_link", {})],
)
async def test_another_users_account_answers_exactly_like_a_missing_one(
    local_server: LocalCredentials, mode: str, tool: str, extra: dict[str, str]
) -> None:
    me, other = new_user(), new_user()
    seed_account(local_server, me, "openai", KEY)
    theirs = seed_account(local_server, other, "openai", KEY)["id"]
    asked: list[str] = []
    server = make_server(local_server, me)
    async with Client(
        server, mode=mode, elicitation_callback=answer("accept", True, log=asked)
    ) as c:
        foreign = await c.call_tool(tool, {"account_id": theirs, **extra})
        missing = await c.call_tool(tool, {"account_id": MISSING, **extra})
    assert foreign.is_error
    assert missing.is_error
    assert _normalized(text(foreign), theirs) == _normalized(text(missing), MISSING)
    assert foreign.structured_content == missing.structured_content
    assert asked == []  # nobody was even asked
    async with Client(make_server(local_server, other)) as c:
        still = await call(c, "get_account", {"account_id": theirs})
    assert not still.is_error


async def test_other_users_accounts_never_listed(local_server: LocalCredentials) -> None:
    me, other = new_user(), new_user()
    seed_account(local_server, other, "openai", KEY)
    async with Client(make_server(local_server, me)) as c:
        mine = await call(c, "list_accounts")
        apps = await call(c, "delete_app_accounts", {"app": "openai"})
    assert data(mine)["accounts"] == []
    assert data(apps)["confirmation"] == "nothing_to_delete"


@pytest.mark.parametrize("mode", ERAS)
async def test_user_arguments_are_rejected_not_ignored(
    local_server: LocalCredentials, mode: str
) -> None:
    other = new_user()
    seed_account(local_server, other, "openai", KEY)
    async with Client(make_server(local_server, new_user()), mode=mode) as c:
        for args in ({"external_user_id": other}, {"user": other}):
            result = await c.call_tool("list_accounts", args)
            assert result.is_error
            assert "no tool takes a user" in text(result)
            assert other not in text(result)  # the value is never echoed


@pytest.mark.parametrize("mode", ERAS)
async def test_read_only_session_lists_and_refuses_no_write_tools(
    local_server: LocalCredentials, mode: str
) -> None:
    user = new_user()
    account = seed_account(local_server, user, "openai", KEY)["id"]
    server = make_server(local_server, user, perm="read")
    async with Client(server, mode=mode, elicitation_callback=answer("accept", True)) as c:
        names = {t.name for t in (await c.list_tools()).tools}
        assert names == {"list_accounts", "get_account", "list_apps", "get_app", "get_project_info"}
        for tool, args in [
            ("delete_account", {"account_id": account}),
            ("delete_user", {}),
            ("create_connect_link", {}),
            ("invoke_workflow", {"endpoint": "en123abc"}),
        ]:
            refused = await c.call_tool(tool, args)
            assert refused.is_error
            assert "read-only" in text(refused)
        assert not (await call(c, "get_account", {"account_id": account})).is_error
    async with Client(make_server(local_server, user)) as c:
        assert len(data(await call(c, "list_accounts"))["accounts"]) == 1


async def test_no_user_no_action(local_server: LocalCredentials) -> None:
    """A request that is bound to nobody (no token, no configured user) is refused."""
    async with Client(make_server(local_server, None)) as c:
        names = {t.name for t in (await c.list_tools()).tools}
        result = await c.call_tool("list_accounts", {})
    assert "delete_user" not in names
    assert result.is_error
    assert "not bound to a user" in text(result)


@pytest.mark.parametrize(
    ("tool", "args", "expect"),
    [
        ("list_accounts", {"limit": 0}, "limit"),
        ("list_accounts", {"limit": "many"}, "limit"),
        ("get_account", {}, "account_id"),
        ("get_account", {"account_id": "../users/x"}, "account_id"),
        ("get_account", {"account_id": "a" * 101}, "account_id"),
        ("create_connect_link", {"app": ""}, "app"),
        ("invoke_workflow", {"endpoint": "en1", "method": "TRACE"}, "method"),
        ("invoke_workflow", {"endpoint": "en1", "auth": "static_bearer"}, "static_bearer"),
    ],
)
async def test_bad_arguments_give_a_clear_tool_error(
    local_server: LocalCredentials, tool: str, args: dict[str, object], expect: str
) -> None:
    async with Client(make_server(local_server, new_user())) as c:
        result = await c.call_tool(tool, args)
    assert result.is_error
    assert expect in text(result)
    assert "../users" not in text(result)
    assert "Traceback" not in text(result)
