"""Request parsing and error answers shared by the routes.

Every failure a client can cause becomes an `ApiError`, rendered as the real API renders
errors: JSON `{error}` with the right status. Handlers validate everything before they touch
the store, so a rejected request changes nothing.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from connect_mcp.bodies import BadContentLength, BodyTooLarge, read_limited
from connect_mcp.local.limits import Decision, FixedWindowLimiter
from connect_mcp.local.paging import MAX_LIMIT, CursorError, PageRequest, decode_cursor
from connect_mcp.local.state import LocalState
from connect_mcp.local.store import Scope

ENVIRONMENTS = ("development", "production")
MAX_EXTERNAL_USER_ID = 250
NOT_FOUND = "record not found"
MAX_BODY = 256 * 1024


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.message}, self.status, headers=self.headers)


def not_found() -> ApiError:
    return ApiError(404, NOT_FOUND)


def path_param(request: Request, name: str) -> str:
    """A path parameter, percent-decoded here because routing ran on the raw path.

    See `app._RawPathRouting`: `%2F` inside an id stays inside its segment.
    """
    return unquote(str(request.path_params.get(name, "")))


def state_of(request: Request) -> LocalState:
    state: LocalState = request.app.state.local
    return state


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def json_ok(body: Any, *, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, 200, headers=headers)


def no_content(*, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=204, headers=headers)


# -- authentication and scope ---------------------------------------------------------------


def bearer_project(request: Request) -> str:
    """The project of a valid, unexpired access token in `Authorization`, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "missing bearer access token in the Authorization header")
    state = state_of(request)
    project = state.store.access_token_project(state.digest(token.strip()), state.clock())
    if project is None:
        raise ApiError(401, "invalid or expired access token")
    return project


def environment(request: Request) -> str:
    env = request.headers.get("x-pd-environment")
    if env is None or not env.strip():
        raise ApiError(
            400, "the x-pd-environment header is required: 'development' or 'production'"
        )
    if env not in ENVIRONMENTS:
        raise ApiError(
            400, f"unknown x-pd-environment {env[:40]!r}: use 'development' or 'production'"
        )
    return env


def project_scope(request: Request) -> Scope:
    """Authenticate, then pin the request to its token's project and its environment."""
    project = bearer_project(request)
    env = environment(request)
    if path_param(request, "project_id") != project:
        raise ApiError(404, NOT_FOUND)
    return Scope(project, env)


def limit_hit(request: Request, limiter: FixedWindowLimiter, key: str) -> Decision:
    decision = limiter.hit(key, state_of(request).clock())
    if not decision.allowed:
        raise ApiError(429, "Throttled", headers=decision.headers())
    return decision


def account_limit(request: Request, scope: Scope) -> dict[str, str]:
    """Account reads and deletes share one budget per project (and environment)."""
    state = state_of(request)
    key = f"{scope.project_id}:{scope.environment}"
    return limit_hit(request, state.account_limiter, key).headers()


# -- bodies and parameters --------------------------------------------------------------------


def parse_json(raw: str | bytes, what: str) -> Any:
    """`json.loads` whose every failure (including absurd nesting) is a 400 naming `what`."""
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"malformed JSON in {what}: {exc}") from exc
    except RecursionError as exc:
        raise ApiError(400, f"malformed JSON in {what}: nested too deeply") from exc
    # JSON may spell a lone UTF-16 surrogate ("\ud800"): valid JSON, but no UTF-8 string -
    # SQLite, digests and logs would fail on it later, as a 500. Refuse it here instead.
    if _SURROGATE_ESCAPE.search(raw if isinstance(raw, str) else raw.decode("utf-8", "replace")):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ApiError(400, f"malformed JSON in {what}: a lone surrogate escape") from exc
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def body_too_large(limit: int) -> ApiError:
    return ApiError(413, f"the request body is larger than {limit // 1024} KiB")


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The request body within `limit` (`bodies.read_limited`), as API errors: 413 beyond
    it, 400 for a malformed `Content-Length`."""
    try:
        return await read_limited(request, limit)
    except BodyTooLarge:
        raise body_too_large(limit) from None
    except BadContentLength as exc:
        raise ApiError(400, str(exc)) from None


async def json_object(request: Request) -> dict[str, Any]:
    raw = await read_body(request)
    if not raw.strip():
        raise ApiError(400, "the request body must be a JSON object")
    body = parse_json(raw, "the request body")
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return body


def opt_str(body: dict[str, Any], name: str, *, max_len: int = 2048) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"{name} must be a string")
    if len(value) > max_len:
        raise ApiError(400, f"{name} must be at most {max_len} characters")
    return value


def req_str(body: dict[str, Any], name: str, *, max_len: int = 2048) -> str:
    value = opt_str(body, name, max_len=max_len)
    if value is None or not value:
        raise ApiError(400, f"{name} is required")
    return value


def opt_url(body: dict[str, Any], name: str) -> str | None:
    value = opt_str(body, name)
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise ApiError(400, f"{name} must be an absolute http(s) URL") from exc
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ApiError(400, f"{name} must be an absolute http(s) URL")
    return value


def check_external_user_id(value: object, *, name: str = "external_user_id") -> str:
    if not isinstance(value, str):
        raise ApiError(400, f"{name} is required and must be a string")
    if not value.strip():
        raise ApiError(400, f"{name} must not be empty")
    if len(value) > MAX_EXTERNAL_USER_ID:
        raise ApiError(400, f"{name} must be at most {MAX_EXTERNAL_USER_ID} characters")
    return value


def query_bool(request: Request, name: str) -> bool:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return False
    lowered = raw.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ApiError(400, f"{name} must be true or false")


def query_str(request: Request, name: str) -> str | None:
    raw = request.query_params.get(name)
    return raw if raw else None


def page_request(request: Request) -> PageRequest:
    params = request.query_params
    limit_raw = params.get("limit")
    limit = MAX_LIMIT
    if limit_raw:
        try:
            limit = int(limit_raw)
        except ValueError as exc:
            raise ApiError(400, "limit must be an integer") from exc
        if not 1 <= limit <= MAX_LIMIT:
            raise ApiError(400, f"limit must be between 1 and {MAX_LIMIT}")
    cursors: dict[str, int | None] = {}
    for name in ("after", "before"):
        raw = params.get(name)
        if not raw:
            cursors[name] = None
            continue
        try:
            cursors[name] = decode_cursor(raw)
        except CursorError as exc:
            raise ApiError(400, f"{name} is not a valid cursor") from exc
    return PageRequest(after=cursors["after"], before=cursors["before"], limit=limit)
