"""The pieces under the client, each on its own: pacing, retry timing, the token cache.

These run on a fake clock or a counting fetch function - no network - because what they
decide (a wait, a refusal, how many fetches) is pure logic that the HTTP tests can only
observe indirectly.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connect_mcp.connect import RateLimitedError
from connect_mcp.connect._auth import TokenCache, refresh_margin
from connect_mcp.connect._pacing import KeyedPacer, SlidingWindowPacer
from connect_mcp.connect._retry import Budget, RetryPolicy, server_wait


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- pacing -------------------------------------------------------------------------------


def test_a_pacer_lets_limit_through_then_schedules_the_rest_a_window_later() -> None:
    clock = Clock()
    pacer = SlidingWindowPacer(3, 10.0, margin=0.0, clock=clock)
    waits = [pacer.reserve(budget=100) for _ in range(7)]
    assert waits == [0, 0, 0, 10, 10, 10, 20]


def test_a_pacer_frees_slots_as_the_window_slides() -> None:
    clock = Clock()
    pacer = SlidingWindowPacer(2, 10.0, margin=0.0, clock=clock)
    assert pacer.reserve(100) == 0
    clock.now += 6
    assert pacer.reserve(100) == 0
    assert pacer.reserve(100) == pytest.approx(4)  # the first slot leaves the window at +10
    clock.now += 20
    assert pacer.idle


def test_a_pacer_refuses_at_once_a_wait_beyond_the_budget_and_keeps_no_slot() -> None:
    clock = Clock()
    pacer = SlidingWindowPacer(1, 60.0, margin=0.0, clock=clock)
    pacer.reserve(budget=5)
    with pytest.raises(RateLimitedError) as caught:
        pacer.reserve(budget=5)
    assert caught.value.retry_after == pytest.approx(60)
    assert caught.value.status is None
    clock.now += 60
    assert pacer.reserve(budget=5) == 0  # the refused call did not take a slot


def test_the_default_margin_absorbs_skew_with_the_servers_window() -> None:
    assert SlidingWindowPacer(100, 60.0).window == pytest.approx(61.0)
    assert SlidingWindowPacer(2000, 300.0).window == pytest.approx(301.0)
    assert SlidingWindowPacer(30, 1.0).window == pytest.approx(1.1)


def test_keyed_pacers_are_independent_and_idle_keys_are_forgotten() -> None:
    keyed = KeyedPacer(1, 0.01)
    keyed.pacer("alice").reserve(1)
    assert keyed.pacer("bob").reserve(1) == 0  # bob does not wait for alice
    for i in range(KeyedPacer._FORGET_ABOVE + 5):
        keyed.pacer(f"user-{i}")
    assert keyed.keys <= KeyedPacer._FORGET_ABOVE + 5


async def test_concurrent_acquires_are_spread_over_windows() -> None:
    pacer = SlidingWindowPacer(5, 0.2, margin=0.0)
    started = anyio.current_time()
    finished: list[float] = []

    async def one() -> None:
        await pacer.acquire(budget=5)
        finished.append(anyio.current_time() - started)

    async with anyio.create_task_group() as tg:
        for _ in range(12):
            tg.start_soon(one)
    finished.sort()
    # Lower bounds are the pacer's promise; upper bounds only guard against a stall.
    assert finished[4] < 0.15
    assert 0.19 <= finished[5] < 0.6
    assert 0.39 <= finished[10] < 0.9


# -- retry timing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"x-ratelimit-reset": "30"}, 30.0),  # small: seconds from now
        ({"x-ratelimit-reset": str(1_000_000_000 + 2_000 + 12)}, 12.0),  # large: a UNIX time
        ({"retry-after": "3", "x-ratelimit-reset": "99"}, 3.0),  # Retry-After wins
        ({"retry-after": "soon"}, None),
        ({"retry-after": "inf"}, None),
        ({"retry-after": "nan", "x-ratelimit-reset": "nan"}, None),
        ({}, None),
    ],
)
def test_server_wait_reads_retry_after_and_ratelimit_reset(
    headers: dict[str, str], expected: float | None
) -> None:
    assert server_wait(headers, now=1_000_000_000 + 2_000) == expected


def test_server_wait_reads_an_http_date() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=42), usegmt=True)
    assert server_wait({"retry-after": header}, now=now.timestamp()) == pytest.approx(42)


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    for retry, full in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        for _ in range(20):
            assert full / 2 <= policy.backoff(retry) <= full


def test_a_budget_stops_at_the_retry_count_and_at_the_deadline() -> None:
    clock = Clock()
    budget = Budget(RetryPolicy(max_retries=2, max_retry_time=10.0, base_delay=0.1), clock=clock)
    assert budget.next_delay() is not None
    assert budget.next_delay() is not None
    assert budget.next_delay() is None  # count exhausted

    budget = Budget(RetryPolicy(max_retries=99, max_retry_time=10.0), clock=clock)
    assert budget.next_delay(asked=20.0) is None  # a wait past the deadline is no retry
    clock.now += 9.95
    assert budget.next_delay(asked=0.01) is not None
    clock.now += 1
    assert budget.next_delay() is None


# -- the token cache ------------------------------------------------------------------------


async def test_fifty_concurrent_callers_share_one_fetch() -> None:
    fetches = 0

    async def fetch() -> tuple[str, float]:
        nonlocal fetches
        fetches += 1
        await anyio.sleep(0.05)  # a slow token endpoint widens the race window
        return f"token-{fetches}", 3600.0

    cache = TokenCache(fetch)
    tokens: list[str] = []

    async def one() -> None:
        tokens.append(await cache.get())

    async with anyio.create_task_group() as tg:
        for _ in range(50):
            tg.start_soon(one)
    assert fetches == 1
    assert set(tokens) == {"token-1"}


async def test_invalidating_a_stale_token_refreshes_once_not_per_caller() -> None:
    fetches = 0

    async def fetch() -> tuple[str, float]:
        nonlocal fetches
        fetches += 1
        return f"token-{fetches}", 3600.0

    cache = TokenCache(fetch)
    stale = await cache.get()
    cache.invalidate(stale)
    fresh = await cache.get()
    cache.invalidate(stale)  # a late caller still holding the stale token
    assert await cache.get() == fresh
    assert fetches == 2


async def test_a_token_is_refreshed_shortly_before_it_expires() -> None:
    clock = Clock()
    issued: list[str] = []

    async def fetch() -> tuple[str, float]:
        issued.append(f"token-{len(issued)}")
        return issued[-1], 3600.0

    cache = TokenCache(fetch, clock=clock)
    await cache.get()
    clock.now += 3600 - refresh_margin(3600) - 1
    await cache.get()
    assert len(issued) == 1
    clock.now += 2
    await cache.get()
    assert len(issued) == 2
    assert refresh_margin(3600) == 120


async def test_a_failed_fetch_lets_the_next_caller_try_again() -> None:
    attempts = 0

    async def fetch() -> tuple[str, float]:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("token endpoint down")
        return "token-ok", 3600.0

    cache = TokenCache(fetch)
    with pytest.raises(RuntimeError):
        await cache.get()
    assert await cache.get() == "token-ok"
    assert "token-ok" not in repr(cache)


@settings(max_examples=300, deadline=None)
@given(retry_after=st.one_of(st.none(), st.text()), reset=st.one_of(st.none(), st.text()))
def test_server_wait_never_raises_and_never_answers_a_negative_or_infinite_wait(
    retry_after: str | None, reset: str | None
) -> None:
    headers = {k: v for k, v in (("retry-after", retry_after), ("x-ratelimit-reset", reset)) if v}
    wait = server_wait(headers)
    assert wait is None or (wait >= 0 and math.isfinite(wait))
