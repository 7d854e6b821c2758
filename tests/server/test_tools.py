"""Every tool's happy path through a real MCP client session, both protocol eras, backed by the
local Connect server over real HTTP. Each successful result validates against the tool's
published output schema (`helpers.call`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from mcp import Client

from connect_mcp.local.embedded import LocalCredentials
from tests.server.helpers import ERAS, answer, call, data, make_server, new_user, text
from tests.support import TOOL_NAMES, seed_account

KEY = {"api_key": "sk-test-0123456789abcdef"}


async def test_tool_listing_is_complete_and_honest(local_server: LocalCredentials) -> None:
    async with Client(make_server(local_server, new_user())) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == TOOL_NAMES
    for tool in tools.values():
        assert tool.title, tool.name
        assert len(tool.description or "") > 80, tool.name
        assert tool.output_schema is None, tool.name  # CONNECT_MCP_OUTPUT_SCHEMAS: opt-in
        assert tool.annotations is not None
        assert tool.annotations.open_world_hint is True
        props = tool.input_schema.get("properties", {})
        assert not {"user", "external_user_id", "principal", "plan", "outcome", "rt"} & set(props)
        for name, prop in props.items():
            assert prop.get("description"), f"{tool.name}.{name} has no description"
    read_only = {n for n, t in tools.items() if t.annotations and t.annotations.read_only_hint}
    assert read_only == {"list_accounts", "get_account", "list_apps", "get_app", "get_project_info"}
    destructive = {n for n, t in tools.items() if t.annotations and t.annotations.destructive_hint}
    assert {"delete_account", "delete_app_accounts", "delete_user"} <= destructive
    assert tools["delete_account"].annotations.idempotent_hint is True  # type: ignore[union-attr]
    assert tools["invoke_workflow"].annotations.idempotent_hint is False  # type: ignore[union-attr]
    assert tools["list_accounts"].input_schema["properties"]["limit"]["maximum"] == 100


@pytest.mark.parametrize("mode", ERAS)
async def test_list_and_get_accounts(local_server: LocalCredentials, mode: str) -> None:
    user = new_user()
    first = seed_account(local_server, user, "openai", KEY, name="work")
    seed_account(local_server, user, "openai", KEY)
    seed_account(local_server, user, "anthropic", {"api_key": "sk-ant-0123456789abc"})
    async with Client(make_server(local_server, user), mode=mode) as client:
        everything = await call(client, "list_accounts")
        assert not everything.is_error, text(everything)
        listing = data(everything)
        assert len(listing["accounts"]) == 3
        assert listing["needs_attention"] == 0
        account = next(a for a in listing["accounts"] if a["id"] == first["id"])
        assert account["app_slug"] == "openai"
        assert account["name"] == "work"
        assert account["status"] == "healthy"
        assert "action" not in account  # only a connection that needs repair has one
        assert account["credential_fields"] == ["api_key"]
        assert "sk-test" not in text(everything)

        only = await call(client, "list_accounts", {"app": "anthropic"})
        assert [a["app_slug"] for a in data(only)["accounts"]] == ["anthropic"]

        page1 = await call(client, "list_accounts", {"limit": 2})
        cursor = data(page1)["next_cursor"]
        assert len(data(page1)["accounts"]) == 2
        assert cursor
        page2 = await call(client, "list_accounts", {"limit": 2, "cursor": cursor})
        ids = {a["id"] for a in data(page1)["accounts"]}
        ids |= {a["id"] for a in data(page2)["accounts"]}
        assert len(ids) == 3
        assert data(page2)["next_cursor"] is None

        one = await call(client, "get_account", {"account_id": first["id"]})
        assert data(one)["account"]["id"] == first["id"]
        assert "credential fields: api_key" in text(one)


async def test_dead_account_says_so_and_what_to_do(make_local_server: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "connect"
    creds = make_local_server(data_dir=data_dir)
    user = new_user()
    account = seed_account(creds, user, "openai", KEY)
    # The local server has no route that kills a connection (only the upstream app can), so
    # the test marks it dead in the store directly - the one way to produce this state.
    with sqlite3.connect(data_dir / "connect.db") as db:
        db.execute("UPDATE accounts SET dead = 1, healthy = 0 WHERE id = ?", (account["id"],))
    async with Client(make_server(creds, user)) as client:
        result = await call(client, "list_accounts")
        view = data(result)["accounts"][0]
        assert view["status"] == "dead"
        assert data(result)["needs_attention"] == 1
        assert "create_connect_link" in view["action"]
        assert account["id"] in view["action"]
        assert "DEAD" in text(result)
        link = await call(client, "create_connect_link", {"account_id": account["id"]})
        assert not link.is_error, text(link)
        query = parse_qs(urlsplit(data(link)["url"]).query)
        assert query["accountId"] == [account["id"]]
        assert query["app"] == ["openai"]
        assert data(link)["reconnect_account_id"] == account["id"]


@pytest.mark.parametrize("mode", ERAS)
async def test_create_connect_link(local_server: LocalCredentials, mode: str) -> None:
    user = new_user()
    async with Client(make_server(local_server, user), mode=mode) as client:
        any_app = await call(client, "create_connect_link")
        assert not any_app.is_error, text(any_app)
        url = data(any_app)["url"]
        assert url.startswith(local_server.base_url)
        assert "token=ctok_" in url
        slack = await call(client, "create_connect_link", {"app": "slack"})
        query = parse_qs(urlsplit(data(slack)["url"]).query)
        assert query["app"] == ["slack"]
        assert "accountId" not in query
        assert data(slack)["expires_at"]
        unknown = await client.call_tool("create_connect_link", {"app": "no_such_app_x"})
        assert unknown.is_error
        assert "no_such_app_x" in text(unknown)


@pytest.mark.parametrize("mode", ERAS)
async def test_apps_and_project(local_server: LocalCredentials, mode: str) -> None:
    async with Client(make_server(local_server, new_user()), mode=mode) as client:
        apps = await call(client, "list_apps", {"q": "slack"})
        found = data(apps)["apps"]
        assert [a["name_slug"] for a in found] == ["slack"]
        assert set(found[0]) == {"id", "name_slug", "name", "auth_type"}  # compact: no catalog
        paged = await call(client, "list_apps", {"limit": 3})
        assert len(data(paged)["apps"]) == 3
        assert data(paged)["next_cursor"]
        openai = await call(client, "get_app", {"app": "openai"})
        assert data(openai)["fields"][0] == "api_key"
        assert "description" not in openai.structured_content
        missing = await client.call_tool("get_app", {"app": "nope_nope"})
        assert missing.is_error
        assert "nope_nope" in text(missing)
        info = await call(client, "get_project_info")
        assert data(info)["environment"] == "development"
        assert isinstance(data(info)["apps"], list)


@pytest.mark.parametrize("mode", ERAS)
async def test_delete_app_accounts_removes_only_this_users_accounts_of_that_app(
    local_server: LocalCredentials, mode: str
) -> None:
    me, other = new_user(), new_user()
    mine = [seed_account(local_server, me, "openai", KEY)["id"] for _ in range(2)]
    keep = seed_account(local_server, me, "anthropic", {"api_key": "sk-ant-0123456789abc"})
    theirs = seed_account(local_server, other, "openai", KEY)
    asked: list[str] = []
    server = make_server(local_server, me)
    async with Client(
        server, mode=mode, elicitation_callback=answer("accept", True, log=asked)
    ) as c:
        result = await call(c, "delete_app_accounts", {"app": "openai"})
        assert not result.is_error, text(result)
        assert sorted(data(result)["deleted_ids"]) == sorted(mine)
        assert all(i in asked[0] for i in mine)
        assert keep["id"] not in asked[0]
        again = await call(c, "delete_app_accounts", {"app": "openai"})
        assert data(again)["confirmation"] == "nothing_to_delete"
    async with Client(make_server(local_server, me)) as c:
        left = await call(c, "list_accounts")
        assert [a["id"] for a in data(left)["accounts"]] == [keep["id"]]
    async with Client(make_server(local_server, other)) as c:
        still = await call(c, "list_accounts")
        assert [a["id"] for a in data(still)["accounts"]] == [theirs["id"]]


@pytest.mark.parametrize("mode", ERAS)
async def test_delete_user(local_server: LocalCredentials, mode: str) -> None:
    me, other = new_user(), new_user()
    seed_account(local_server, me, "openai", KEY)
    theirs = seed_account(local_server, other, "openai", KEY)
    async with Client(
        make_server(local_server, me), mode=mode, elicitation_callback=answer("accept", True)
    ) as c:
        result = await call(c, "delete_user")
        assert not result.is_error
        assert data(result)["deleted"] is True
        assert (await call(c, "list_accounts")).structured_content["accounts"] == []
    async with Client(make_server(local_server, other)) as c:
        get = await call(c, "get_account", {"account_id": theirs["id"]})
        assert not get.is_error


async def test_stdio_style_fixed_user_is_the_only_user(local_server: LocalCredentials) -> None:
    """The server's instructions tell the model it is bound to one user."""
    async with Client(make_server(local_server, new_user())) as client:
        assert client.instructions
        assert "ONE end user" in client.instructions
