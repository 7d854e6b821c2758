"""Load: 50 concurrent MCP sessions over streamable HTTP, each its own user (its own bearer
token), half on each protocol era, doing a mix of reads, connect links and gated deletes for a
bounded time. Zero errors other than rate limits, zero cross-session mix-ups (every account,
question and link belongs to the session's own user), and the process's memory back within a
small margin of its level after a warm-up round."""

from __future__ import annotations

import functools
import gc
import itertools
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ElicitRequestParams, ElicitResult

from connect_mcp.local.embedded import LocalCredentials
from connect_mcp.server.auth import JWTVerifier, mint_token
from tests.server.helpers import data, make_server, new_user, serving, text
from tests.server.test_http import CONFIG
from tests.support import seed_account

SESSIONS = 50
LOAD_SECONDS = 4.0
MEMORY_MARGIN_MB = 20.0
KEY = {"api_key": "sk-load-0123456789abcdef"}


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Session:
    """One user's session and what it is allowed to see."""

    def __init__(self, creds: LocalCredentials, index: int) -> None:
        self.user = new_user()
        self.mode = "legacy" if index % 2 else "auto"
        self.accounts = {seed_account(creds, self.user, "openai", KEY)["id"] for _ in range(4)}
        self.deletable = sorted(self.accounts)[:2]
        self.kept = sorted(self.accounts)[2:]
        self.calls: Counter[str] = Counter()
        self.errors: list[str] = []
        self.mixups: list[str] = []
        self.others: list[str] = []

    def answer(self) -> Callable[..., Any]:
        async def reply(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
            if self.user not in params.message or any(o in params.message for o in self.others):
                self.mixups.append(f"question for someone else: {params.message[:200]}")
                return ElicitResult(action="decline")
            return ElicitResult(action="accept", content={"confirm": True})

        return reply

    def client(self, url: str) -> Client:
        bearer = mint_token(CONFIG, self.user, perm="write")
        http = httpx2.AsyncClient(headers={"authorization": f"Bearer {bearer}"}, timeout=30)
        return Client(
            streamable_http_client(url, http_client=http),
            mode=self.mode,
            elicitation_callback=self.answer(),
        )

    def check(self, tool: str, result: Any) -> None:
        self.calls[tool] += 1
        body = text(result)
        if result.is_error:
            if "rate limiting" not in body:
                self.errors.append(f"{tool}: {body[:200]}")
            return
        content = result.structured_content or {}
        ids: set[str] = set()
        if tool == "list_accounts":
            ids = {a["id"] for a in content["accounts"]}
        elif tool == "get_account":
            ids = {content["account"]["id"]}
        elif tool == "delete_account":
            ids = set(content["deleted_ids"]) | set(content["not_deleted_ids"])
        if not ids <= self.accounts:
            self.mixups.append(f"{tool} showed {sorted(ids - self.accounts)}")
        if any(other in body for other in self.others):
            self.mixups.append(f"{tool} named another session's user")

    async def one_round(self, c: Client, *, delete: bool) -> None:
        self.check("list_accounts", await c.call_tool("list_accounts", {}))
        kept = random.choice(self.kept)
        self.check("get_account", await c.call_tool("get_account", {"account_id": kept}))
        self.check(
            "create_connect_link", await c.call_tool("create_connect_link", {"app": "openai"})
        )
        self.check(
            "list_accounts", await c.call_tool("list_accounts", {"app": "openai", "limit": 1})
        )
        if delete and self.deletable:
            victim = self.deletable.pop()
            result = await c.call_tool("delete_account", {"account_id": victim})
            self.check("delete_account", result)
            if not result.is_error and data(result)["deleted_ids"] == [victim]:
                self.accounts.discard(victim)

    async def run(self, url: str, until: float, *, delete: bool) -> None:
        async with self.client(url) as c:
            await self.one_round(c, delete=delete)
            while time.monotonic() < until:
                await self.one_round(c, delete=delete and random.random() < 0.2)


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_fifty_concurrent_sessions(
    make_local_server: Callable[..., LocalCredentials],
) -> None:
    creds = make_local_server(account_rate_per_window=10**7, token_rate_per_minute=10**7)
    sessions = [Session(creds, i) for i in range(SESSIONS)]
    users = [s.user for s in sessions]
    for s in sessions:
        s.others = [u for u in users if u != s.user]
    mcp = make_server(creds, None, verifier=JWTVerifier(CONFIG))
    async with serving(mcp.streamable_http_app(host="127.0.0.1")) as url:
        # Warm-up: every session opens, does one round of reads and links, and closes.
        async with anyio.create_task_group() as tg:
            for s in sessions:
                tg.start_soon(functools.partial(s.run, url, 0.0, delete=False))
        gc.collect()
        warm = rss_mb()
        started = time.monotonic()
        until = started + LOAD_SECONDS
        with anyio.fail_after(LOAD_SECONDS + 60):
            async with anyio.create_task_group() as tg:
                for s in sessions:
                    tg.start_soon(functools.partial(s.run, url, until, delete=True))
        elapsed = time.monotonic() - started
        await anyio.sleep(0.5)  # let closed sessions finish on the server
        gc.collect()
        after = rss_mb()
    calls = sum((s.calls for s in sessions), Counter())
    errors = list(itertools.chain.from_iterable(s.errors for s in sessions))
    mixups = list(itertools.chain.from_iterable(s.mixups for s in sessions))
    assert errors == [], errors[:5]
    assert mixups == [], mixups[:5]
    assert calls["delete_account"] >= SESSIONS  # every session ran at least one gated delete
    assert all(len(s.deletable) < 2 for s in sessions)
    assert after - warm < MEMORY_MARGIN_MB, (warm, after)
    total = sum(calls.values())
    print(
        f"\n[load] {SESSIONS} concurrent streamable HTTP sessions (own users, both eras) for "
        f"{elapsed:.1f}s: {total} tool calls {dict(calls)} ({total / elapsed:.0f}/s); 0 errors, "
        f"0 mix-ups; RSS {warm:.0f} MB after warm-up -> {after:.0f} MB after load "
        f"(margin {MEMORY_MARGIN_MB:.0f} MB)"
    )
