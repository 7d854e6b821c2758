"""Rate limits as Pipedream documents them, with the numbers made configurable.

A fixed window per key: the first hit opens a window of `window` seconds in which at most
`limit` hits pass. Every answer carries what the `X-RateLimit-*` headers report, so callers
(our own client's backoff, the official SDKs) see the real API's contract: `Retry-After`
in whole seconds, `X-RateLimit-Reset` as the UNIX time the window ends.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float
    retry_after: float

    def headers(self) -> dict[str, str]:
        out = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
        }
        if not self.allowed:
            out["Retry-After"] = str(max(1, math.ceil(self.retry_after)))
        return out


class FixedWindowLimiter:
    """At most `limit` hits per key per `window` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        if limit <= 0 or window <= 0:
            raise ValueError("a rate limit needs a positive count and window")
        self.limit = limit
        self.window = window
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float) -> Decision:
        with self._lock:
            start, count = self._windows.get(key, (now, 0))
            if now - start >= self.window:
                start, count = now, 0
            reset_at = start + self.window
            if count >= self.limit:
                return Decision(False, self.limit, 0, reset_at, reset_at - now)
            count += 1
            self._windows[key] = (start, count)
            if len(self._windows) > 10_000:
                self._forget_expired(now)
            return Decision(True, self.limit, self.limit - count, reset_at, 0.0)

    def _forget_expired(self, now: float) -> None:
        for key in [k for k, (s, _) in self._windows.items() if now - s >= self.window]:
            del self._windows[key]
