"""Scope escapes: every tool, with arguments an attacker chooses - another user's account ids,
ids with path tricks, an app slug the other user has, cursors from another session, and user
ids that try to walk the API's paths. Zero cross-user reads or writes, and no answer differs
between "another user's" and "nobody's", so nothing reveals that the other account exists."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult

from connect_mcp.local.embedded import LocalCredentials
from tests.server.helpers import ERAS, answer, call, data, make_server, new_user, text
from tests.support import seed_account

KEY = {"api_key": "sk-scope-0123456789abcdef"}
ID_SHAPED = re.compile(r"apn_[A-Za-z0-9]+")


def tricks(victim: str, account: str) -> list[str]:
    """Ids an attacker might pass: the victim's, and path-walking variants of it."""
    return [
        account,
        f"../{account}",
        f"..%2F{account}",
        f"{account}%2F..",
        f"%2e%2e%2f{account}",
        f"{account}%00",
        f"{account}\x00",
        f"{account}/",
        f"../users/{victim}/accounts",
        f"..%2Fusers%2F{victim}%2Faccounts",
        f"{account}?include_credentials=true",
        f"{account}#",
        f" {account}",
        account.upper(),
        "apn_doesNotExist1",
    ]


def normalized(result: CallToolResult, secrets: list[str]) -> str:
    """The answer with the attacker's own argument masked, for comparing two answers."""
    blob = text(result) + json.dumps(result.structured_content, sort_keys=True)
    for value in sorted(secrets, key=len, reverse=True):
        blob = blob.replace(repr(value)[1:-1], "<ARG>").replace(value, "<ARG>")
    return blob


def attacks(victim: str, account: str) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for ident in tricks(victim, account):
        out += [
            ("get_account", {"account_id": ident}),
            ("delete_account", {"account_id": ident}),
            ("create_connect_link", {"account_id": ident}),
            ("create_connect_link", {"account_id": ident, "app": "openai"}),
            ("list_accounts", {"app": ident}),
            ("delete_app_accounts", {"app": ident}),
            ("get_app", {"app": ident}),
            ("invoke_workflow", {"endpoint": ident}),
        ]
    out += [
        ("list_accounts", {"app": "openai"}),
        ("list_accounts", {"app": "postgresql"}),
        ("delete_app_accounts", {"app": "openai"}),
        ("delete_app_accounts", {"app": "postgresql"}),
        ("delete_user", {}),
        ("list_apps", {"q": victim[:100]}),
        ("get_project_info", {}),
        ("list_accounts", {"external_user_id": victim}),
        ("get_account", {"account_id": account, "user": victim}),
        ("delete_user", {"external_user_id": victim}),
        ("invoke_workflow", {"endpoint": "enaccount", "body": {"app": "postgresql"}}),
        (
            "invoke_workflow",
            {"endpoint": "enaccount", "body": {"app": "openai", "external_user_id": victim}},
        ),
    ]
    return out


async def victim_state(creds: LocalCredentials, victim: str) -> list[str]:
    async with Client(make_server(creds, victim)) as c:
        return sorted(a["id"] for a in data(await call(c, "list_accounts"))["accounts"])


@pytest.mark.parametrize("mode", ERAS)
async def test_every_tool_with_attacker_arguments(
    make_local_server: Callable[..., LocalCredentials], mode: str
) -> None:
    creds = make_local_server(account_rate_per_window=10**6)
    domain = creds.base_url.removeprefix("http://")  # the built-in workflows, for real
    attacker, victim = new_user(), new_user()
    mine = seed_account(creds, attacker, "anthropic", KEY)["id"]
    theirs = seed_account(creds, victim, "openai", KEY)["id"]
    rare = seed_account(creds, victim, "postgresql", {"host": "h", "user": "u", "password":
                        "pw-0123456789", "database": "d"})["id"]  # fmt: skip
    before = await victim_state(creds, victim)
    asked: list[str] = []
    server = make_server(creds, attacker, client={"workflow_domain": domain})
    ran = 0
    async with Client(
        server, mode=mode, elicitation_callback=answer("accept", True, log=asked)
    ) as c:
        for tool, args in attacks(victim, theirs):
            result = await c.call_tool(tool, args)
            blob = text(result) + json.dumps(result.structured_content)
            ran += 1
            # Nothing of the victim's: no account id, no user id, no app only they use.
            for leaked in (theirs, rare, victim):
                if leaked not in json.dumps(args):
                    assert leaked not in blob, (tool, args, blob)
            given = set(ID_SHAPED.findall(json.dumps(args)))
            assert not set(ID_SHAPED.findall(blob)) - given - {mine}, (tool, blob)
        # Another user's id and a missing id: identical answers on every id-taking tool.
        for tool, extra in [
            ("get_account", {}),
            ("delete_account", {}),
            ("create_connect_link", {}),
            ("create_connect_link", {"app": "openai"}),
        ]:
            foreign = await c.call_tool(tool, {"account_id": theirs, **extra})
            missing = await c.call_tool(tool, {"account_id": "apn_doesNotExist1", **extra})
            assert foreign.is_error
            assert missing.is_error
            assert normalized(foreign, [theirs]) == normalized(missing, ["apn_doesNotExist1"])
            ran += 2
    assert all(victim not in q and theirs not in q for q in asked)
    assert await victim_state(creds, victim) == before == sorted([theirs, rare])
    print(f"\n[scope/{mode}] {ran} attacker calls over 10 tools: 0 cross-user reads or writes")


async def test_foreign_cursor_reads_nothing_foreign(
    make_local_server: Callable[..., LocalCredentials],
) -> None:
    creds = make_local_server(account_rate_per_window=10**6)
    attacker, victim = new_user(), new_user()
    mine = [seed_account(creds, attacker, "openai", KEY)["id"] for _ in range(2)]
    theirs = [seed_account(creds, victim, "openai", KEY)["id"] for _ in range(4)]
    cursors: list[str] = []
    async with Client(make_server(creds, victim)) as c:
        page = data(await call(c, "list_accounts", {"limit": 1}))
        while page["next_cursor"]:
            cursors.append(page["next_cursor"])
            page = data(await call(c, "list_accounts", {"limit": 1, "cursor": cursors[-1]}))
    assert len(cursors) == 3
    seen: set[str] = set()
    async with Client(make_server(creds, attacker)) as c:
        for cursor in cursors:
            for limit in (1, 20):
                result = await c.call_tool("list_accounts", {"cursor": cursor, "limit": limit})
                blob = text(result) + json.dumps(result.structured_content)
                assert not any(t in blob for t in theirs), blob
                if not result.is_error:
                    seen |= {a["id"] for a in data(result)["accounts"]}
                    assert data(result)["total_count"] in (None, len(mine))
    assert seen <= set(mine)
    print(f"\n[scope/cursors] {len(cursors) * 2} calls with another session's cursors: 0 foreign")


@pytest.mark.parametrize(
    "shape",
    ["{v}/..", "../{v}", "{v}/../{v}", "{v}%2F..", "{v}?x=1", "{v}#x", "{v}\x00", "{v} ", "{v}/"],
)
async def test_user_ids_that_walk_paths_stay_in_their_own_scope(
    local_server: LocalCredentials, shape: str
) -> None:
    """The principal's user id comes from a token or the operator; even a hostile one must not
    reach another user's records through path or query tricks."""
    victim = new_user()
    theirs = seed_account(local_server, victim, "openai", KEY)["id"]
    hostile = shape.format(v=victim)
    async with Client(
        make_server(local_server, hostile), elicitation_callback=answer("accept", True)
    ) as c:
        results = [
            await c.call_tool("list_accounts", {}),
            await c.call_tool("get_account", {"account_id": theirs}),
            await c.call_tool("delete_account", {"account_id": theirs}),
            await c.call_tool("delete_app_accounts", {"app": "openai"}),
        ]
    listing, got, deleted, by_app = results
    assert data(listing)["accounts"] == []
    assert got.is_error
    assert "No account with id" in text(got)
    assert deleted.is_error
    assert data(by_app)["deleted_ids"] == []
    assert await victim_state(local_server, victim) == [theirs]
    print(f"\n[scope/user-id {shape!r}] 4 calls as a path-walking user id: victim untouched")
