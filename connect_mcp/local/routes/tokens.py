"""Connect tokens: create (per-user rate limit) and validate (no auth, as the API does)."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from connect_mcp.local.catalog import find_app
from connect_mcp.local.http import (
    ApiError,
    check_external_user_id,
    iso,
    json_object,
    json_ok,
    limit_hit,
    opt_url,
    path_param,
    project_scope,
    state_of,
)
from connect_mcp.local.store import ConnectTokenRow
from connect_mcp.origins import ORIGIN_FORM, is_origin

DEFAULT_TTL = 4 * 3600
MAX_TTL = 14_400


def _expires_in(body: dict[str, Any]) -> int:
    value = body.get("expires_in")
    if value is None:
        return DEFAULT_TTL
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, "expires_in must be an integer number of seconds")
    if not 1 <= value <= MAX_TTL:
        raise ApiError(400, f"expires_in must be between 1 and {MAX_TTL} seconds")
    return value


MAX_ORIGINS = 50


def _origins(body: dict[str, Any]) -> tuple[str, ...]:
    """Plain origins only: they become the Connect page's CSP `frame-ancestors`."""
    value = body.get("allowed_origins")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(400, "allowed_origins must be a list of strings")
    if len(value) > MAX_ORIGINS:
        raise ApiError(400, f"allowed_origins may list at most {MAX_ORIGINS} origins")
    for origin in value:
        if not is_origin(origin):
            raise ApiError(
                400, f"allowed_origins entry {origin[:80]!r} is not an origin: {ORIGIN_FORM}"
            )
    return tuple(value)


async def create(request: Request) -> Response:
    scope = project_scope(request)
    body = await json_object(request)
    external_user_id = check_external_user_id(body.get("external_user_id"))
    ttl = _expires_in(body)
    success_uri = opt_url(body, "success_redirect_uri")
    error_uri = opt_url(body, "error_redirect_uri")
    webhook_uri = opt_url(body, "webhook_uri")
    origins = _origins(body)
    state = state_of(request)
    decision = limit_hit(
        request,
        state.token_limiter,
        f"{scope.project_id}:{scope.environment}:{external_user_id}",
    )
    now = state.clock()
    token = "ctok_" + secrets.token_hex(16)
    row = ConnectTokenRow(
        project_id=scope.project_id,
        environment=scope.environment,
        external_user_id=external_user_id,
        created_at=now,
        expires_at=now + ttl,
        used_at=None,
        success_redirect_uri=success_uri,
        error_redirect_uri=error_uri,
        webhook_uri=webhook_uri,
        allowed_origins=origins,
    )
    state.store.create_connect_token(state.digest(token), scope, row)
    link = f"{state.base_url}/_static/connect.html?token={token}&connectLink=true"
    return json_ok(
        {"token": token, "expires_at": iso(row.expires_at), "connect_link_url": link},
        headers=decision.headers(),
    )


def token_problem(token: ConnectTokenRow | None, now: float) -> str | None:
    """Why a connect token cannot be used now, or None when it can."""
    if token is None:
        return "invalid connect token"
    if token.used_at is not None:
        return "connect token has already been used"
    if token.expires_at <= now:
        return "connect token has expired"
    return None


async def validate(request: Request) -> Response:
    state = state_of(request)
    ctok = path_param(request, "ctok")
    token = state.store.connect_token(state.digest(ctok))
    problem = token_problem(token, state.clock())
    if problem is not None or token is None:
        return json_ok({"success": False, "error": problem})
    app_id = request.query_params.get("app_id")
    app = find_app(app_id) if app_id else None
    if app_id and app is None:
        return json_ok({"success": False, "error": f"unknown app {app_id[:80]!r}"})
    return json_ok(
        {
            "success": True,
            "error": None,
            "app": app.to_json() if app else None,
            "oauth_app_id": app.oauth_app_id if app else None,
            "project_id": token.project_id,
            "project_environment": token.environment,
            "project_app_name": "connect-mcp local",
            "project_support_email": None,
            "success_redirect_uri": token.success_redirect_uri,
            "error_redirect_uri": token.error_redirect_uri,
        }
    )
