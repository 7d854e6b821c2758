"""Built-in workflows of the local Connect server, invoked the way the client invokes them.

With the workflow domain set to the local server's `host:port` (the embedded default does
this), the Connect client sends an endpoint id to `http://{host:port}/{endpoint_id}`; a
browser may also use `http://{endpoint_id}.localhost:{port}/` (Chromium resolves
`*.localhost`). Endpoints:

    enecho      echoes the request: method, path, query, headers, body, and the external
                user, environment and project it ran for - with the values of credential
                headers and of secret-named headers, query parameters and JSON fields
                masked (a workflow that echoes secrets back would leak them; this one models
                the good behaviour; other values, in neutral fields, are echoed as sent)
    enaccount   uses the user's account of the app named by `{"app": slug}` (or `?app=`):
                answers with the account (never its credentials); 404 when the user has
                connected none

Like a workflow whose HTTP trigger has OAuth authorization on the platform, each checks
`Authorization: Bearer <access token of the project>` (401 otherwise) and needs
`X-PD-External-User-ID` (400 otherwise); `X-PD-Environment` defaults to development. Errors
are the API's `ApiError` answers (JSON `{error}`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Host, Route, Router

from connect_mcp.local.catalog import find_app
from connect_mcp.local.http import (
    ENVIRONMENTS,
    MAX_EXTERNAL_USER_ID,
    NOT_FOUND,
    ApiError,
    bearer_project,
    iso,
    path_param,
    read_body,
    state_of,
)
from connect_mcp.local.paging import PageRequest
from connect_mcp.local.store import AccountRow, Scope
from connect_mcp.redact import REDACTED, is_secret_name

ECHO = "enecho"
ACCOUNT = "enaccount"
#: The endpoint ids served here: an embedded backend lets the project's token go to these.
BUILT_IN = (ECHO, ACCOUNT)
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_HIDDEN_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


@dataclass(frozen=True)
class Run:
    """One authorised invocation: who it runs for, where, and what was sent."""

    request: Request
    scope: Scope
    user: str
    body: bytes

    def json_body(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):
            return None


async def _authorise(request: Request) -> Run:
    """The platform's checks, in its order: bearer token, then the external user."""
    project = bearer_project(request)
    user = request.headers.get("x-pd-external-user-id", "")
    if not user.strip():
        raise ApiError(400, "the x-pd-external-user-id header is required")
    if len(user) > MAX_EXTERNAL_USER_ID:
        raise ApiError(
            400, f"x-pd-external-user-id must be at most {MAX_EXTERNAL_USER_ID} characters"
        )
    environment = request.headers.get("x-pd-environment") or "development"
    if environment not in ENVIRONMENTS:
        raise ApiError(400, "x-pd-environment must be 'development' or 'production'")
    return Run(request, Scope(project, environment), user, await read_body(request))


def _shown_headers(request: Request) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        hidden = key.replace("_", "-") in _HIDDEN_HEADERS or is_secret_name(key)
        out[key] = REDACTED if hidden else value
    return out


def _shown_query(request: Request) -> dict[str, str]:
    return {
        name: REDACTED if is_secret_name(name) else value
        for name, value in request.query_params.items()
    }


def _masked(value: Any) -> Any:
    """A JSON value with the values of secret-named fields masked, at any depth."""
    if isinstance(value, dict):
        return {
            key: REDACTED if is_secret_name(str(key)) else _masked(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


async def _echo(run: Run) -> Response:
    request = run.request
    parsed = run.json_body()
    return JSONResponse(
        {
            "workflow": "echo",
            "method": request.method,
            "path": request.url.path,
            "query": _shown_query(request),
            "headers": _shown_headers(request),
            "body": _masked(parsed) if parsed is not None else run.body.decode("utf-8", "replace"),
            "external_user_id": run.user,
            "environment": run.scope.environment,
            "project_id": run.scope.project_id,
        }
    )


def _newest_account(run: Run, slug: str) -> AccountRow | None:
    """The most recently created account of the app (the platform uses that one)."""
    store = state_of(run.request).store
    newest: AccountRow | None = None
    page = PageRequest()
    while True:
        result = store.list_accounts(run.scope, page, external_id=run.user, app_slugs=[slug])
        for row in result.rows:
            if newest is None or row.seq > newest.seq:
                newest = row
        if not result.has_after or not result.rows:
            return newest
        page = PageRequest(after=result.rows[-1].seq)


async def _account(run: Run) -> Response:
    parsed = run.json_body()
    slug = parsed.get("app") if isinstance(parsed, dict) else None
    slug = slug or run.request.query_params.get("app")
    if not isinstance(slug, str) or not slug:
        raise ApiError(400, 'name the app to use: a JSON body {"app": "<name_slug>"} or ?app=')
    app = find_app(slug)
    if app is None:
        raise ApiError(400, f"unknown app {slug[:80]!r}")
    account = _newest_account(run, app.name_slug)
    if account is None:
        raise ApiError(
            404,
            f"No {app.name} account is connected for external user {run.user!r} in the "
            f"{run.scope.environment} environment. Connect one first (app {app.name_slug}).",
        )
    store = state_of(run.request).store
    fields = sorted(store.credentials(account))
    return JSONResponse(
        {
            "workflow": "account",
            "external_user_id": run.user,
            "environment": run.scope.environment,
            "app": app.name_slug,
            "account": {
                "id": account.id,
                "name": account.name,
                "healthy": account.healthy,
                "dead": account.dead,
                "updated_at": iso(account.updated_at),
            },
            "credential_fields": fields,
            "result": f"used {app.name} account {account.id} ({len(fields)} credential fields)",
        }
    )


_WORKFLOWS: dict[str, Callable[[Run], Awaitable[Response]]] = {ECHO: _echo, ACCOUNT: _account}


async def invoke(request: Request) -> Response:
    """Route one invocation to its built-in workflow, with the platform's checks first."""
    endpoint = path_param(request, "endpoint_id").lower()
    workflow = _WORKFLOWS.get(endpoint)
    if workflow is None:
        return JSONResponse({"error": NOT_FOUND}, 404)
    try:
        return await workflow(await _authorise(request))
    except ApiError as refused:
        return refused.response()


def workflow_routes() -> list[BaseRoute]:
    """Path routes (what the client uses) and `{id}.localhost` host routes (for browsers).

    The host route goes first so any path on a workflow host reaches the workflow; the path
    route goes last so it never shadows an API path.
    """
    by_host = Router(
        routes=[
            Route("/", invoke, methods=METHODS),
            Route("/{rest:path}", invoke, methods=METHODS),
        ]
    )
    return [
        Host("{endpoint_id}.localhost", app=by_host),
        Route("/{endpoint_id}", invoke, methods=METHODS),
    ]
