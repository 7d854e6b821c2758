"""When to try a request again, and how long to wait first.

What is retried (the client applies it; the rules live here so they read in one place):

* **429** - for every API call: the server refused the request without acting on it. We
  wait what the server asked (`Retry-After`, else `X-RateLimit-Reset`), plus a little
  jitter so a crowd of waiting callers does not come back in the same millisecond.
* **Failures before the request left** (connection refused, connect timeout, no pooled
  connection in time) - for every call, even a workflow invocation: nothing reached the
  server, so sending it is not *re*-sending.
* **5xx, read/write timeouts, a connection broken mid-request** - only for idempotent
  calls: GET, DELETE and the token endpoints (the OAuth token, and creating a connect
  token - see `client.py` for why the latter counts).
* A **workflow invocation** is never re-sent once its request may have reached the server:
  its response, whatever the status, is the workflow's own answer.

Retries are capped twice: at most `max_retries` of them, and none that would start after
`max_retry_time` seconds since the call began. A wait longer than what is left of the
budget is not slept at all - the call fails at once with the error it has.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx2

#: Failures that prove the request never reached the server.
NEVER_SENT: tuple[type[Exception], ...] = (
    httpx2.ConnectError,
    httpx2.ConnectTimeout,
    httpx2.PoolTimeout,
)

#: Statuses worth another try of an idempotent request.
RETRY_STATUSES = frozenset({500, 502, 503, 504})

# Anything larger than this is a UNIX time, not a number of seconds.
_EPOCH_THRESHOLD = 1_000_000_000


@dataclass(frozen=True)
class RetryPolicy:
    """Caps and backoff shape. Backoff is exponential with "equal jitter": half the delay
    is fixed, half random - spread out, yet never near zero."""

    max_retries: int = 4
    max_retry_time: float = 60.0
    base_delay: float = 0.5
    max_delay: float = 8.0

    def backoff(self, retry: int) -> float:
        """Delay before retry number `retry` (1-based) without a server-given wait."""
        delay = min(self.max_delay, self.base_delay * (2 ** (retry - 1)))
        return float(delay / 2 + random.uniform(0, delay / 2))  # noqa: S311 - jitter, not crypto


def server_wait(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait: `Retry-After` (seconds or HTTP date), else
    `X-RateLimit-Reset` (a UNIX time, or seconds when small). None when neither parses."""
    wall = time.time() if now is None else now
    retry_after = headers.get("retry-after")
    if retry_after:
        value = retry_after.strip()
        try:
            seconds = float(value)
        except ValueError:
            seconds = None
        if seconds is not None and math.isfinite(seconds):
            return max(0.0, seconds)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None:
            return max(0.0, when.timestamp() - wall)
    reset = headers.get("x-ratelimit-reset")
    if reset:
        try:
            number = float(reset.strip())
        except ValueError:
            return None
        if not math.isfinite(number):
            return None
        return max(0.0, number - wall) if number > _EPOCH_THRESHOLD else max(0.0, number)
    return None


class Budget:
    """The retry budget of one call: how many retries are left and until when."""

    def __init__(self, policy: RetryPolicy, *, clock: Callable[[], float] = time.monotonic):
        self.policy = policy
        self._clock = clock
        self.deadline = clock() + policy.max_retry_time
        self.retries = 0

    def remaining(self) -> float:
        return max(0.0, self.deadline - self._clock())

    def next_delay(self, asked: float | None = None) -> float | None:
        """The wait before the next attempt, or None if the budget allows no more.

        `asked` is the server's requested wait (429); without it the exponential backoff
        applies. A wait that would overrun the deadline means no retry.
        """
        if self.retries >= self.policy.max_retries:
            return None
        if asked is not None and asked > 0:
            delay = asked + random.uniform(0, min(1.0, 0.1 * asked))  # noqa: S311
        else:
            delay = self.policy.backoff(self.retries + 1)
        if delay > self.remaining():
            return None
        self.retries += 1
        return delay
