"""Shared pieces of the MCP server tests: server factories, elicitation answers, listeners."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import urlsplit
from uuid import uuid4

import anyio
import jsonschema  # type: ignore[import-untyped]
from mcp import Client
from mcp.client.session import ClientRequestContext, ElicitationFnT
from mcp.server import MCPServer
from mcp.types import CallToolResult, ElicitRequestParams, ElicitResult, ErrorData

from connect_mcp.connect import ConnectClient
from connect_mcp.local.embedded import LocalCredentials
from connect_mcp.server.app import build_server
from connect_mcp.server.state import ServerConfig, ServerState
from connect_mcp.tools._base import OUTPUT_SCHEMAS, Principal

ERAS = ["auto", "legacy"]  # 2026-07-28 (input-required) and 2025-11-25 (pushed elicitation)

Answer = ElicitationFnT


def new_user() -> str:
    return f"user-{uuid4().hex}"


def connect_factory(creds: LocalCredentials, **overrides: Any) -> Callable[[], ConnectClient]:
    def make() -> ConnectClient:
        kwargs: dict[str, Any] = {
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
            "project_id": creds.project_id,
            "base_url": creds.base_url,
            "max_retries": 0,
            "timeout": 10.0,
        }
        kwargs.update(overrides)
        return ConnectClient(**kwargs)

    return make


def make_server(
    creds: LocalCredentials,
    user: str | None,
    *,
    perm: Literal["read", "write"] = "write",
    client: dict[str, Any] | None = None,
    **config: Any,
) -> MCPServer[ServerState]:
    principal = Principal(user=user, perm=perm, source="test") if user else None
    return build_server(
        ServerConfig(
            connect=connect_factory(creds, **(client or {})), fixed_principal=principal, **config
        )
    )


def answer(
    action: Literal["accept", "decline", "cancel"],
    confirm: bool | None = None,
    *,
    log: list[str] | None = None,
) -> Answer:
    """An elicitation callback that answers every question the same way (and records it)."""

    async def callback(
        context: ClientRequestContext, params: ElicitRequestParams
    ) -> ElicitResult | ErrorData:
        if log is not None:
            log.append(params.message)
        content = {"confirm": confirm} if action == "accept" else None
        return ElicitResult(action=action, content=content)

    return callback


def data(result: CallToolResult) -> dict[str, Any]:
    """The structured content of a result that must have one."""
    content: dict[str, Any] | None = result.structured_content
    assert content is not None, text(result)
    return content


def text(result: CallToolResult) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def expected_output_schema(tool: str) -> dict[str, Any]:
    """The compact output schema this code base publishes for `tool` when asked to (also for
    a server in another process: registering the tools here fills `OUTPUT_SCHEMAS`)."""
    if tool not in OUTPUT_SCHEMAS:

        def unused() -> ConnectClient:
            raise AssertionError("the lifespan of this throwaway server never runs")

        build_server(ServerConfig(connect=unused))
    schema = OUTPUT_SCHEMAS.get(tool)
    assert schema is not None, tool
    return schema


async def call(client: Client, tool: str, args: dict[str, Any] | None = None) -> CallToolResult:
    """Call a tool; a successful result must validate against the tool's output schema: the
    published one when the server publishes them (`output_schemas=True`), else the one it
    would publish (`OUTPUT_SCHEMAS`, the same compact schema)."""
    result = await client.call_tool(tool, args or {})
    if not result.is_error:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        published = tools[tool].output_schema
        schema = expected_output_schema(tool)
        if published is not None:
            assert published == schema, tool
        jsonschema.validate(result.structured_content, schema)
    return result


# --- a stand-in workflow host (plain HTTP on loopback) -------------------------------------


class _QuietServer(ThreadingHTTPServer):
    """A client that stops reading (a truncated workflow answer) is expected here; only other
    errors deserve a traceback on stderr."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], BrokenPipeError | ConnectionResetError):
            super().handle_error(request, client_address)


@dataclass
class Listener:
    """A loopback HTTP server that records every request and answers with `reply(request)`."""

    reply: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]] = lambda r: (200, {"ok": True})
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0

    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> Listener:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                request = {
                    "method": self.command,
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                }
                listener.requests.append(request)
                status, payload = listener.reply(request)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, *_: Any) -> None:
                pass

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- streamable HTTP on loopback -----------------------------------------------------------


@asynccontextmanager
async def serving(app: Any, sock: socket.socket | None = None) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on 127.0.0.1 in this event loop; yield the /mcp URL.
    Pass a socket from `loopback_socket()` to know the address before the app is built."""
    import uvicorn

    sock = sock or loopback_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", ws="none")
    )
    async with anyio.create_task_group() as tg:
        tg.start_soon(server._serve, [sock])  # _serve: no signal handlers inside pytest
        with anyio.fail_after(10):
            while not server.started:
                await anyio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            server.should_exit = True
    sock.close()


def loopback_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


def host_of(url: str) -> str:
    return urlsplit(url).netloc
