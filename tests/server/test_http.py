"""Streamable HTTP on loopback: bearer-token auth through the SDK's TokenVerifier hook, the
session bound to its principal, read/write permissions and gates over the real transport."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import jwt
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from connect_mcp.local.embedded import LocalCredentials
from connect_mcp.server.auth import JWTConfig, mint_token
from tests.server.helpers import ERAS, answer, call, data, make_server, new_user, serving, text
from tests.support import INITIALIZE as INIT
from tests.support import MCP_HTTP_HEADERS as HEADERS
from tests.support import seed_account

SECRET = secrets.token_urlsafe(48)
CONFIG = JWTConfig(key=SECRET, algorithms=("HS256",), audience="connect-mcp-tests")
KEY = {"api_key": "sk-test-0123456789abcdef"}


def token(user: str, perm: str = "write", **claims: Any) -> str:
    if not claims:
        return mint_token(CONFIG, user, perm=perm)  # type: ignore[arg-type]
    now = int(time.time())
    body = {"sub": user, "perm": perm, "exp": now + 600, "aud": "connect-mcp-tests", **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, SECRET, algorithm="HS256")


@asynccontextmanager
async def http_server(creds: LocalCredentials, **config: Any) -> AsyncIterator[str]:
    from connect_mcp.server.auth import JWTVerifier

    mcp = make_server(creds, None, verifier=JWTVerifier(CONFIG), **config)
    async with serving(mcp.streamable_http_app(host="127.0.0.1")) as url:
        yield url


def client(url: str, bearer: str, **kwargs: Any) -> Client:
    http = httpx2.AsyncClient(headers={"authorization": f"Bearer {bearer}"}, timeout=20)
    return Client(streamable_http_client(url, http_client=http), **kwargs)


@pytest.mark.parametrize("mode", ERAS)
async def test_the_token_names_the_user(local_server: LocalCredentials, mode: str) -> None:
    me = new_user()
    account = seed_account(local_server, me, "openai", KEY)["id"]
    seed_account(local_server, new_user(), "openai", KEY)
    async with http_server(local_server) as url, client(url, token(me), mode=mode) as c:
        assert len((await c.list_tools()).tools) == 10
        listing = await call(c, "list_accounts")
    assert [a["id"] for a in data(listing)["accounts"]] == [account]


@pytest.mark.parametrize("mode", ERAS)
async def test_gate_over_http(local_server: LocalCredentials, mode: str) -> None:
    me = new_user()
    keep = seed_account(local_server, me, "openai", KEY)["id"]
    drop = seed_account(local_server, me, "openai", KEY)["id"]
    async with http_server(local_server) as url:
        async with client(url, token(me), mode=mode, elicitation_callback=answer("decline")) as c:
            kept = await call(c, "delete_account", {"account_id": keep})
        async with client(
            url, token(me), mode=mode, elicitation_callback=answer("accept", True)
        ) as c:
            gone = await call(c, "delete_account", {"account_id": drop})
            left = await call(c, "list_accounts")
    assert data(kept)["confirmation"] == "declined"
    assert data(gone)["deleted_ids"] == [drop]
    assert [a["id"] for a in data(left)["accounts"]] == [keep]


@pytest.mark.parametrize("mode", ERAS)
async def test_read_token_sees_no_write_tools(local_server: LocalCredentials, mode: str) -> None:
    me = new_user()
    account = seed_account(local_server, me, "openai", KEY)["id"]
    async with (
        http_server(local_server) as url,
        client(url, token(me, "read"), mode=mode, elicitation_callback=answer("accept", True)) as c,
    ):
        names = {t.name for t in (await c.list_tools()).tools}
        refused = await c.call_tool("delete_account", {"account_id": account})
        still = await call(c, "get_account", {"account_id": account})
    assert "delete_account" not in names
    assert "list_accounts" in names
    assert refused.is_error
    assert "read-only" in text(refused)
    assert not still.is_error


def bad_tokens() -> dict[str, str | None]:
    now = int(time.time())
    good = {"sub": "u1", "perm": "write", "exp": now + 600, "aud": "connect-mcp-tests"}
    return {
        "missing": None,
        "garbage": "not-a-jwt",
        "expired": token("u1", exp=now - 120),  # beyond the verifier's leeway
        "forged": jwt.encode(good, secrets.token_urlsafe(48), algorithm="HS256"),
        "alg-none": jwt.encode(good, None, algorithm="none"),  # type: ignore[arg-type]
        "not-yet-valid": token("u1", nbf=now + 3600),
        "other-audience": token("u1", aud="someone-else"),
        "unknown-perm": token("u1", perm="admin"),
        "no-user": token("", iat=now),
        "no-expiry": token("u1", exp=None),
    }


async def test_bad_tokens_get_401_on_both_eras(local_server: LocalCredentials) -> None:
    statuses: dict[str, tuple[int, int]] = {}
    async with http_server(local_server) as url, httpx2.AsyncClient(timeout=10) as http:
        for name, bearer in bad_tokens().items():
            headers = dict(HEADERS)
            if bearer is not None:
                headers["authorization"] = f"Bearer {bearer}"
            legacy = await http.post(url, json=INIT, headers=headers)
            modern = await http.post(
                url,
                json={"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}},
                headers={**headers, "mcp-protocol-version": "2026-07-28"},
            )
            statuses[name] = (legacy.status_code, modern.status_code)
    assert statuses == dict.fromkeys(statuses, (401, 401))


async def test_session_is_bound_to_its_principal(local_server: LocalCredentials) -> None:
    alice, mallory = new_user(), new_user()
    seed_account(local_server, alice, "openai", KEY)
    listing = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "list_accounts", "arguments": {}},
    }
    async with http_server(local_server) as url, httpx2.AsyncClient(timeout=10) as http:
        opened = await http.post(
            url, json=INIT, headers={**HEADERS, "authorization": f"Bearer {token(alice)}"}
        )
        session = opened.headers["mcp-session-id"]
        bound = {**HEADERS, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25"}
        await http.post(
            url,
            json={"jsonrpc": "2.0", "method": "notifications/initialized"},
            headers={**bound, "authorization": f"Bearer {token(alice)}"},
        )
        hijack = await http.post(
            url, json=listing, headers={**bound, "authorization": f"Bearer {token(mallory)}"}
        )
        downgrade = await http.post(
            url, json=listing, headers={**bound, "authorization": f"Bearer {token(alice, 'read')}"}
        )
        own = await http.post(
            url, json=listing, headers={**bound, "authorization": f"Bearer {token(alice)}"}
        )
    assert opened.status_code == 200
    assert hijack.status_code == 404  # the SDK answers as if the session did not exist
    assert alice not in hijack.text
    assert downgrade.status_code == 404  # the principal includes the permission
    assert own.status_code == 200
    assert "apn_" in own.text


async def test_dns_rebinding_is_refused(local_server: LocalCredentials) -> None:
    async with http_server(local_server) as url, httpx2.AsyncClient(timeout=10) as http:
        response = await http.post(
            url,
            json=INIT,
            headers={**HEADERS, "authorization": f"Bearer {token('u1')}", "host": "evil.example"},
        )
    assert response.status_code == 421
