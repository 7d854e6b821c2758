"""A real HTTP server on 127.0.0.1 that stands in for a developer's app: it receives
connection webhooks and is where the Connect Link page redirects the browser."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from connect_mcp.local import webhooks


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def signed_with(self, key: str | None) -> bool:
        """Whether this webhook POST carries a valid signature by `key` (the local server's
        signing key; None, when it has none, is never valid)."""
        return key is not None and webhooks.verify(
            key,
            self.body,
            self.headers["x-connect-mcp-timestamp"],
            self.headers["x-connect-mcp-signature"],
        )


@dataclass
class Receiver:
    """Records every request; answers webhook POSTs with `statuses` in turn (then 200)."""

    statuses: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    _cond: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def posts(self) -> list[Received]:
        with self._cond:
            return [r for r in self.requests if r.method == "POST"]

    def wait_posts(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until `count` POSTs arrived (webhooks are delivered in the background)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len([r for r in self.requests if r.method == "POST"]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} webhook POSTs, got {self.requests}")
                self._cond.wait(left)
            return [r for r in self.requests if r.method == "POST"]

    def _record(self, received: Received) -> int:
        with self._cond:
            self.requests.append(received)
            self._cond.notify_all()
            if received.method == "POST" and self.statuses:
                return self.statuses.pop(0)
            return 200


@contextmanager
def receiver(statuses: list[int] | None = None) -> Iterator[Receiver]:
    recv = Receiver(statuses=list(statuses or []))

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            got = Received(
                self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
            status = recv._record(got)
            page = b"<!doctype html><title>Back in the app</title><h1>Back in the app</h1>"
            self.send_response(status)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        do_GET = do_POST = _handle

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recv.port = server.server_address[1]
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield recv
    finally:
        server.shutdown()
        server.server_close()
