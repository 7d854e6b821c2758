"""Many calls at once through one client, against the local server with low limits.

The promise: every call ends - in success or in a clear `RateLimitedError` - none hangs, and
however many calls start together, exactly one OAuth token request is made. Requests are
counted by a wrapper around the real HTTP transport.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any
from uuid import uuid4

import anyio
import pytest

from connect_mcp.connect import ConnectClient, RateLimitedError
from connect_mcp.local.embedded import LocalCredentials
from tests.connect.helpers import CountingTransport, local_client
from tests.support import seed_account

ACCOUNT_LIMIT = 30
ACCOUNT_WINDOW = 1.0
TOKEN_LIMIT = 5


async def _run_all(calls: list[Callable[[], Awaitable[Any]]], deadline: float) -> list[Any]:
    """Start every call at once; return each one's result or exception."""
    outcomes: list[Any] = [None] * len(calls)

    async def one(i: int) -> None:
        try:
            outcomes[i] = await calls[i]()
        except Exception as exc:  # collected and judged by the test
            outcomes[i] = exc

    with anyio.fail_after(deadline):  # "none hangs"
        async with anyio.create_task_group() as tg:
            for i in range(len(calls)):
                tg.start_soon(one, i)
    return outcomes


def _mixed_calls(client: ConnectClient, users: list[str], account_id: str) -> list[Any]:
    """50 each of: get an account, list a user's accounts (both paced per project),
    create a connect token (paced per user), list apps (not limited)."""
    calls: list[Callable[[], Awaitable[Any]]] = []
    for i in range(200):
        who = users[i % len(users)]
        kind = i % 4
        if kind == 0:
            calls.append(partial(client.get_account, account_id))
        elif kind == 1:
            calls.append(partial(client.list_user_accounts, who))
        elif kind == 2:
            calls.append(partial(client.create_connect_token, who))
        else:
            calls.append(partial(client.list_apps, limit=5))
    return calls


def _seed(creds: LocalCredentials) -> str:
    account = seed_account(creds, f"seed-{uuid4().hex}", "openai", {"api_key": "sk-0123456789"})
    account_id: str = account["id"]
    return account_id


@pytest.fixture
def limited_server(make_local_server: Callable[..., LocalCredentials]) -> LocalCredentials:
    return make_local_server(
        token_rate_per_minute=TOKEN_LIMIT,
        account_rate_per_window=ACCOUNT_LIMIT,
        account_rate_window_seconds=ACCOUNT_WINDOW,
    )


async def test_fifty_callers_needing_a_token_at_once_cause_one_token_request(
    local_server: LocalCredentials,
) -> None:
    transport = CountingTransport()
    async with local_client(local_server, transport=transport) as client:
        await _run_all([client.get_project_info] * 50, deadline=20)
    assert transport.token_requests == 1
    assert transport.count("GET", f"/v1/connect/{local_server.project_id}/projects/info") == 50


async def test_200_paced_calls_end_in_success_or_a_clear_rate_limit_without_429s(
    limited_server: LocalCredentials,
) -> None:
    users = [f"burst-{uuid4().hex}" for _ in range(5)]
    # Seeded for a user outside the burst: the server counts that user's connect token,
    # and the client, which never saw it, could not pace around it.
    account_id = _seed(limited_server)
    # Seeding made account calls the client never saw; the burst starts after the server's
    # account window has forgotten them (a burst within it met 2 unforeseeable 429s in CI).
    await anyio.sleep(ACCOUNT_WINDOW * 1.5)
    transport = CountingTransport()
    client = local_client(
        limited_server,
        transport=transport,
        token_rate_per_minute=TOKEN_LIMIT,
        account_rate_per_window=ACCOUNT_LIMIT,
        account_rate_window_seconds=ACCOUNT_WINDOW,
        max_retry_time=2.5,
    )
    started = time.monotonic()
    async with client:
        outcomes = await _run_all(_mixed_calls(client, users, account_id), deadline=30)
    elapsed = time.monotonic() - started

    failures = [o for o in outcomes if isinstance(o, Exception)]
    assert all(isinstance(f, RateLimitedError) for f in failures), Counter(map(type, failures))
    assert all(isinstance(f, RateLimitedError) and (f.retry_after or 0) > 0 for f in failures)
    assert transport.token_requests == 1
    # Pacing made the burst wait instead of collecting 429s from the server.
    assert transport.statuses[429] == 0
    # 50 token creations for 5 users at 5/min: 25 succeed, the other 25 are refused at once
    # by the client's own pacer - a 60 s wait is beyond the 2.5 s budget.
    tokens_ok = sum(
        1 for i, o in enumerate(outcomes) if i % 4 == 2 and not isinstance(o, Exception)
    )
    assert tokens_ok == 5 * TOKEN_LIMIT
    # 100 account calls at 30/s within a 2.5 s budget: about 90 get through, never all.
    account_ok = sum(
        1 for i, o in enumerate(outcomes) if i % 4 in (0, 1) and not isinstance(o, Exception)
    )
    assert 60 <= account_ok < 100
    assert all(not isinstance(o, Exception) for i, o in enumerate(outcomes) if i % 4 == 3)
    assert elapsed < 10


async def test_200_unpaced_calls_ride_out_the_servers_429s(
    limited_server: LocalCredentials,
) -> None:
    users = [f"burst-{uuid4().hex}" for _ in range(5)]
    account_id = _seed(limited_server)
    transport = CountingTransport()
    client = local_client(
        limited_server,
        transport=transport,
        token_rate_per_minute=None,
        account_rate_per_window=None,
        max_retry_time=3.0,
    )
    async with client:
        outcomes = await _run_all(_mixed_calls(client, users, account_id), deadline=30)

    failures = [o for o in outcomes if isinstance(o, Exception)]
    assert all(isinstance(f, RateLimitedError) for f in failures), Counter(map(type, failures))
    assert all(isinstance(f, RateLimitedError) and f.status == 429 for f in failures)
    assert transport.token_requests == 1
    assert transport.statuses[429] > 0  # without pacing, the server had to push back
    successes = len(outcomes) - len(failures)
    assert successes >= 50 + ACCOUNT_LIMIT  # at least the unlimited calls and one window
