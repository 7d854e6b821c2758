"""Shared helpers for the Connect client tests: clients wired to the local server, and a
transport wrapper that counts what really went over the wire (not a mock: it forwards every
request to the real HTTP transport)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx2

from connect_mcp.connect import ConnectClient
from connect_mcp.local.embedded import LocalCredentials
from connect_mcp.redact import Redactor

#: Retries in tests back off in milliseconds, not seconds: the rules are the same.
FAST_RETRY: dict[str, Any] = {"retry_base_delay": 0.01, "retry_max_delay": 0.05}

#: Building a verifying SSL context loads the CA bundle (~0.1 s); the tests build hundreds
#: of clients, so they share one (fully verifying) context.
_SSL = httpx2.create_ssl_context()


def real_transport() -> httpx2.AsyncHTTPTransport:
    """The real HTTP transport, as a client builds it by default, minus the SSL reload."""
    return httpx2.AsyncHTTPTransport(verify=_SSL)


class CountingTransport(httpx2.AsyncBaseTransport):
    """Forwards to a real `AsyncHTTPTransport` and records (method, path) and statuses."""

    def __init__(self, inner: httpx2.AsyncBaseTransport | None = None) -> None:
        self.inner = inner or real_transport()
        self.requests: list[tuple[str, str]] = []
        #: Paths exactly as sent (percent-encoding intact, no query).
        self.raw_paths: list[str] = []
        self.statuses: Counter[int] = Counter()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append((request.method, request.url.path))
        self.raw_paths.append(request.url.raw_path.decode("ascii").split("?", 1)[0])
        response = await self.inner.handle_async_request(request)
        self.statuses[response.status_code] += 1
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()

    def count(self, method: str, path: str) -> int:
        return sum(1 for m, p in self.requests if m == method and p == path)

    @property
    def token_requests(self) -> int:
        return self.count("POST", "/v1/oauth/token")


def local_client(
    creds: LocalCredentials,
    *,
    transport: httpx2.AsyncBaseTransport | None = None,
    redactor: Redactor | None = None,
    **kwargs: Any,
) -> ConnectClient:
    """A client for the local server, with fast retries and its own redactor by default so
    one test's secrets do not leak into another's assertions."""
    options: dict[str, Any] = {**FAST_RETRY, "timeout": 10.0, **kwargs}
    return ConnectClient(
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        project_id=creds.project_id,
        base_url=creds.base_url,
        transport=transport if transport is not None else real_transport(),
        redactor=redactor if redactor is not None else Redactor(),
        **options,
    )
