"""The HTTP transport of `ConnectClient`: TLS set up on first use, verification never relaxed.

httpx2 builds its TLS context (loading the whole CA bundle: 25-200 ms on a busy machine) when a
client is constructed, even if the client will only ever speak plain HTTP - as it does against
the embedded local Connect server on `http://127.0.0.1`, the default `serve` backend, where that
load was most of the difference between our cold start and the SDK's. The same client also
sends workflow invocations, which are HTTPS (`*.m.pipedream.net`), so TLS cannot simply be left
out: this transport routes each request by scheme.

* `https` goes to an ordinary `AsyncHTTPTransport` with default verification (system CA bundle,
  hostname checks), created on the first https request.
* `http` goes to a transport whose TLS context trusts no CA at all. It never performs TLS (plain
  http has none); if anything ever did route TLS through it, verification would fail closed.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx2


def _trusts_nothing() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = True  # both already the defaults of PROTOCOL_TLS_CLIENT
    context.verify_mode = ssl.CERT_REQUIRED
    return context  # and no CA loaded: every certificate is refused


class LazyTLSTransport(httpx2.AsyncBaseTransport):
    def __init__(self, **options: Any) -> None:
        self._options = options
        self._plain = httpx2.AsyncHTTPTransport(verify=_trusts_nothing(), **options)
        self._tls: httpx2.AsyncHTTPTransport | None = None

    def _secure(self) -> httpx2.AsyncHTTPTransport:
        if self._tls is None:
            self._tls = httpx2.AsyncHTTPTransport(**self._options)  # verify=True: the default
        return self._tls

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.scheme == "http":
            return await self._plain.handle_async_request(request)
        return await self._secure().handle_async_request(request)

    async def aclose(self) -> None:
        await self._plain.aclose()
        if self._tls is not None:
            await self._tls.aclose()
