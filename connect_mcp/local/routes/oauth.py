"""`POST /v1/oauth/token`: client credentials in, a one-hour bearer token out."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from connect_mcp.local.http import ApiError, json_object, json_ok, read_body, state_of

ACCESS_TOKEN_TTL = 3600


async def _credentials_body(request: Request) -> dict[str, Any]:
    """The official SDKs send JSON; OAuth tooling sends a form. Accept both, each read
    within the body limit (`read_body`: 413 beyond it)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        raw = (await read_body(request)).decode("utf-8", "replace")
        form: dict[str, Any] = {}
        for name, value in parse_qsl(raw, keep_blank_values=True):
            if name in form:  # RFC 6749 3.2: a parameter must not be sent twice
                raise ApiError(400, f"the form parameter {name[:40]!r} is repeated")
            form[name] = value
        return form
    return await json_object(request)


async def create_token(request: Request) -> Response:
    body = await _credentials_body(request)
    grant = body.get("grant_type")
    if grant != "client_credentials":
        raise ApiError(400, "grant_type must be 'client_credentials'")
    client_id = body.get("client_id")
    client_secret = body.get("client_secret")
    if not isinstance(client_id, str) or not isinstance(client_secret, str):
        raise ApiError(400, "client_id and client_secret are required strings")
    state = state_of(request)
    project = state.store.client_project(client_id, state.digest(client_secret))
    if project is None:
        raise ApiError(401, "invalid client credentials")
    token = "pdat_" + secrets.token_urlsafe(32)
    now = state.clock()
    state.store.save_access_token(
        state.digest(token), client_id, project, now + ACCESS_TOKEN_TTL, now
    )
    return json_ok(
        {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_TTL,
            "created_at": int(now),
        },
        headers={"Cache-Control": "no-store"},
    )
