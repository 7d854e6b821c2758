"""The ASGI application: routes plus error handling that always answers JSON `{error}`."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from connect_mcp.local.http import NOT_FOUND, ApiError
from connect_mcp.local.routes import api_routes
from connect_mcp.local.state import LocalState
from connect_mcp.log import get_logger

_log = get_logger("connect_mcp.local")


async def _api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = NOT_FOUND if exc.status_code == 404 else str(exc.detail)
    return JSONResponse({"error": message}, exc.status_code, headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> Response:
    """A bug, not a client error: log it (redacted) and answer without details."""
    _log.error("local_server_error", path=request.url.path, error=repr(exc))
    return JSONResponse({"error": "internal server error"}, 500)


class _RawPathRouting:
    """Route on the path as the client sent it, not the percent-decoded one.

    An `external_user_id` may contain `/`; clients send it as `%2F`, and routing on the
    decoded path would split it into two segments (a 404 or, worse, another route). Handlers
    decode each parameter themselves (`http.path_param`).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path")
        if scope["type"] == "http" and raw:
            scope = {**scope, "path": raw.decode("latin-1").partition("?")[0]}
        await self.app(scope, receive, send)


def build_app(state: LocalState) -> ASGIApp:
    app = Starlette(
        routes=api_routes(),
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
    )
    app.state.local = state
    return _RawPathRouting(app)
