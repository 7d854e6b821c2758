"""Client-side pacing to the API's documented rate limits.

The server answers a burst beyond its limit with 429s; retrying those works, but every one
of them is a wasted round trip and a thundering herd when the window resets. Pacing on our
side makes a burst *wait its turn* instead: each call reserves a send time in a sliding
window before it goes out, so no window of `window` seconds ever holds more than `limit`
of our requests. A sliding window is stricter than the server's fixed window, so pacing
to it never trips the server's limit - except through clock skew between the two sides,
which `margin` absorbs (and the retry layer handles whatever still slips through).

A wait that would exceed the caller's remaining time budget is refused at once with
`RateLimitedError` instead of sleeping: a call that cannot succeed in time should fail
fast and say when to come back, not hang.

A caller cancelled while it waits keeps its reserved slot: the pacer errs towards sending
too little, never too much. Pacers belong to one event loop, like the client that owns them.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

import anyio

from connect_mcp.connect.errors import RateLimitedError


class SlidingWindowPacer:
    """At most `limit` reservations in any `window` (+ `margin`) seconds, first come first
    served. Reservations are made without holding a lock across the sleep, so one waiting
    caller never delays the bookkeeping of another."""

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        margin: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit <= 0 or window <= 0:
            raise ValueError("pacing needs a positive limit and window")
        self.limit = limit
        # Skew allowance: the server opens its window when our first request *arrives*, which
        # under load can be tens of milliseconds after we reserved its slot - an absolute
        # latency, hence a floor, not only a fraction of the window.
        skew = margin if margin is not None else min(1.0, max(0.1, 0.02 * window))
        self.window = window + skew
        self._clock = clock
        self._slots: deque[float] = deque()

    def _prune(self, now: float) -> None:
        while self._slots and self._slots[0] <= now - self.window:
            self._slots.popleft()

    def reserve(self, budget: float) -> float:
        """Reserve the earliest allowed send time; return how long to wait for it.

        Raises `RateLimitedError` (status None, nothing sent) if the wait exceeds `budget`.
        No await happens between reading and writing the slots, so this is race-free in a
        single event loop.
        """
        now = self._clock()
        self._prune(now)
        at = now
        if len(self._slots) >= self.limit:
            at = max(at, self._slots[-self.limit] + self.window)
        if self._slots:
            at = max(at, self._slots[-1])
        wait = at - now
        if wait > budget:
            raise RateLimitedError(
                f"client-side pacing: the rate limit of {self.limit} per "
                f"{self.window:g}s is used up for longer than the call's time budget",
                status=None,
                retry_after=wait,
            )
        self._slots.append(at)
        return wait

    @property
    def idle(self) -> bool:
        """True when no reservation is inside the window any more (safe to forget)."""
        self._prune(self._clock())
        return not self._slots

    async def acquire(self, budget: float) -> None:
        wait = self.reserve(budget)
        if wait > 0:
            await anyio.sleep(wait)


class KeyedPacer:
    """One `SlidingWindowPacer` per key (e.g. per external user), forgetting idle keys so a
    long-running process does not keep one pacer per user it ever saw."""

    _FORGET_ABOVE = 1024

    def __init__(self, limit: int, window: float, *, margin: float | None = None) -> None:
        self.limit = limit
        self.window = window
        self._margin = margin
        self._pacers: dict[str, SlidingWindowPacer] = {}

    @property
    def keys(self) -> int:
        """How many keys have a pacer right now (idle ones are forgotten lazily)."""
        return len(self._pacers)

    def pacer(self, key: str) -> SlidingWindowPacer:
        pacer = self._pacers.get(key)
        if pacer is None:
            if len(self._pacers) >= self._FORGET_ABOVE:
                for stale in [k for k, p in self._pacers.items() if p.idle]:
                    del self._pacers[stale]
            pacer = self._pacers[key] = SlidingWindowPacer(
                self.limit, self.window, margin=self._margin
            )
        return pacer

    async def acquire(self, key: str, budget: float) -> None:
        await self.pacer(key).acquire(budget)
