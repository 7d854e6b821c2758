"""The OAuth access token (client-credentials grant), cached and shared.

* **Lazy**: nothing is fetched until the first call needs a token, so constructing a
  client (e.g. at server start with bad credentials) costs no round trip.
* **Single-flight**: however many calls need a token at the same moment, one request is
  made; the others wait for its result under one lock and then read the cache.
* **Refreshed early**: a token is treated as expired `margin` seconds before its real
  expiry, so a request never leaves with a token that dies in flight.
* **Failing together**: callers that were waiting while a fetch failed get that failure
  instead of each starting their own full retry sequence in turn - with the token endpoint
  down, 50 waiting calls would otherwise take 50 times the retry budget to give up.
* **Invalidated precisely**: after a 401 the caller invalidates *the token it used*; if
  another caller already replaced it, the fresh token stays - so a burst of 401s from one
  stale token causes one refresh, not one per caller.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio


@dataclass(frozen=True)
class AccessToken:
    value: str = field(repr=False)
    expires_at: float  # on the cache's clock (monotonic)

    def __repr__(self) -> str:
        return f"AccessToken(value='[REDACTED]', expires_at={self.expires_at!r})"


#: Fetch a fresh token: returns (token, lifetime in seconds).
Fetch = Callable[[], Awaitable[tuple[str, float]]]


def refresh_margin(lifetime: float) -> float:
    """How long before expiry a token is replaced: a tenth of its life, at most two
    minutes (a 1-hour token is used for 58 minutes)."""
    return min(120.0, 0.1 * lifetime)


class TokenCache:
    def __init__(self, fetch: Fetch, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._clock = clock
        self._token: AccessToken | None = None
        self._lock: anyio.Lock | None = None
        # The last failed fetch: when it ended, and what it raised.
        self._failure: tuple[float, Exception] | None = None
        #: How many tokens were fetched - for tests and metrics.
        self.fetches = 0

    def __repr__(self) -> str:
        return f"<TokenCache cached={self._token is not None} fetches={self.fetches}>"

    def _valid(self) -> AccessToken | None:
        token = self._token
        if token is not None and self._clock() < token.expires_at:
            return token
        return None

    async def get(self) -> str:
        """A valid token, fetching one (once, for all concurrent callers) if needed."""
        token = self._valid()
        if token is not None:
            return token.value
        if self._lock is None:  # created lazily: the client may be built outside a loop
            self._lock = anyio.Lock()
        asked_at = self._clock()
        async with self._lock:
            token = self._valid()
            if token is not None:
                return token.value
            if self._failure is not None and self._failure[0] >= asked_at:
                raise self._failure[1]  # it failed while we waited: share the verdict
            try:
                value, lifetime = await self._fetch()
            except Exception as exc:
                self._failure = (self._clock(), exc)
                raise
            self._failure = None
            self.fetches += 1
            expires = self._clock() + max(0.0, lifetime - refresh_margin(lifetime))
            self._token = AccessToken(value, expires)
            return value

    def invalidate(self, value: str) -> None:
        """Forget `value` if it is still the cached token (it was refused with a 401)."""
        if self._token is not None and self._token.value == value:
            self._token = None
