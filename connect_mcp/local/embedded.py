"""Run the local Connect server inside this process: uvicorn on a daemon thread.

The MCP server uses this as its default backend (stdio and HTTP modes), and every test
layer uses it as the real HTTP peer. So `start()` is quick (it binds the socket itself, so
the port is known at once, and returns when the server answers HTTP), and nothing here
ever writes to stdout: uvicorn's own logging config and access log are switched off, and
its errors flow through `connect_mcp.log` (stderr, redacted). On start the server's own
secrets (encryption key, digest key, client secret, webhook signing key) are added to the
process-wide redactor, whoever embeds it.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import uvicorn

from connect_mcp.local.app import build_app
from connect_mcp.local.bootstrap import Opened, open_data_dir
from connect_mcp.local.limits import FixedWindowLimiter
from connect_mcp.local.state import LocalState
from connect_mcp.local.webhooks import load_signing_key
from connect_mcp.local.workflows import BUILT_IN as BUILT_IN_WORKFLOWS
from connect_mcp.redact import REDACTOR

_START_TIMEOUT = 15.0


@dataclass(frozen=True)
class LocalCredentials:
    base_url: str
    project_id: str
    client_id: str
    client_secret: str
    webhook_signing_key: str | None = None
    #: The built-in workflow endpoint ids this server serves (see `workflows.py`): a client
    #: of this server may send the project's access token to them (auth `oauth`).
    workflow_endpoints: tuple[str, ...] = BUILT_IN_WORKFLOWS

    def client_options(self) -> dict[str, Any]:
        """`ConnectClient` keyword arguments for this server, as `serve`'s embedded backend
        sets them: the credentials, the loopback workflow domain (this server serves its
        workflows), and the built-in workflows that may receive the project's token."""
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "project_id": self.project_id,
            "base_url": self.base_url,
            "workflow_domain": urlsplit(self.base_url).netloc,
            "workflow_oauth_endpoints": self.workflow_endpoints,
        }


class EmbeddedServer:
    """The Starlette app served by uvicorn in a daemon thread with its own event loop."""

    def __init__(
        self,
        data_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token_rate_per_minute: int = 100,
        account_rate_per_window: int = 2000,
        account_rate_window_seconds: float = 300.0,
        encryption_key: str | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        self._token_rate = token_rate_per_minute
        self._account_rate = account_rate_per_window
        self._account_window = account_rate_window_seconds
        self._encryption_key = encryption_key
        self._opened: Opened | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.credentials: LocalCredentials | None = None

    def start(self) -> LocalCredentials:
        """Open the data dir, bind, serve; return once the server answers HTTP."""
        if self.credentials is not None:
            return self.credentials
        opened = open_data_dir(self.data_dir, encryption_key=self._encryption_key)
        _learn_secrets(self._encryption_key, opened)
        try:
            sock = _bind(self.host, self.port)
        except BaseException:
            opened.close()
            raise
        port = sock.getsockname()[1]
        base_url = f"http://{_url_host(self.host)}:{port}"
        state = LocalState(
            store=opened.store,
            digest_key=opened.digest_key,
            base_url=base_url,
            token_limiter=FixedWindowLimiter(self._token_rate, 60.0),
            account_limiter=FixedWindowLimiter(self._account_rate, self._account_window),
            webhook_signing_key=load_signing_key(self.data_dir),
        )
        config = uvicorn.Config(
            build_app(state),
            log_config=None,
            access_log=False,
            lifespan="off",
            loop="asyncio",
            http="h11",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=self._serve, args=(server, sock), name=f"connect-mcp-local:{port}", daemon=True
        )
        self._opened, self._server, self._thread = opened, server, thread
        thread.start()
        try:
            _wait_ready(base_url, server, thread, lambda: self._error)
        except BaseException:
            self.stop()
            raise
        self.port = port
        REDACTOR.add(state.webhook_signing_key)
        self.credentials = LocalCredentials(
            base_url=base_url,
            project_id=opened.project.project_id,
            client_id=opened.project.client_id,
            client_secret=opened.project.client_secret,
            webhook_signing_key=state.webhook_signing_key,
        )
        return self.credentials

    def _serve(self, server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # reported to start() and stop()
            self._error = exc
        finally:
            sock.close()

    def stop(self) -> None:
        """Stop serving and close the database; safe to call twice."""
        server, thread, opened = self._server, self._thread, self._opened
        self._server = self._thread = self._opened = None
        self.credentials = None
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=10)
        if opened is not None:
            opened.close()

    def __enter__(self) -> LocalCredentials:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _learn_secrets(configured_key: str | None, opened: Opened) -> None:
    """Teach the process-wide redactor this server's own secrets, so that no log line,
    error or tool result of a process embedding it can carry them: the encryption key as
    configured and in every spelling `DataKey.parse` accepts (hex either case, base64 and
    url-safe base64, padded or not), the digest key, and the project's client secret."""
    key = opened.store.data_key.material
    spellings = [
        configured_key,
        configured_key.strip() if configured_key else None,
        key.hex(),
        key.hex().upper(),
        opened.digest_key.hex(),
        opened.project.client_secret,
    ]
    for encoded in (base64.b64encode(key), base64.urlsafe_b64encode(key)):
        text = encoded.decode("ascii")
        spellings += [text, text.rstrip("=")]
    REDACTOR.add(*spellings)


def _url_host(host: str) -> str:
    """How clients reach a bound host: a wildcard bind is reached over loopback."""
    if host in ("0.0.0.0", ""):  # noqa: S104 - naming the wildcard, not binding to it
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this; without it, keep-alive clients that write a
    # request in two segments (httpx) wait ~40 ms per request on Nagle + delayed ACK.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _wait_ready(
    base_url: str,
    server: uvicorn.Server,
    thread: threading.Thread,
    error: Callable[[], BaseException | None],
) -> None:
    """Poll until uvicorn has started and a real request gets an answer.

    The probe bypasses any configured HTTP proxy: it must reach this loopback socket.
    """
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError(f"the local Connect server failed to start: {error()!r}")
        if server.started:
            try:
                with opener.open(f"{base_url}/v1/connect/apps", timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # 401 without a token: it answers HTTP
            except OSError:
                pass
        time.sleep(0.005)
    raise TimeoutError(f"the local Connect server did not answer within {_START_TIMEOUT}s")
