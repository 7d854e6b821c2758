"""Accounts: list, get, a user's accounts, delete, delete by app, and create.

Reads and deletes share the per-project account budget. Creating an account is the Connect
Link flow's last step: it is authorised by the connect token in the body (the end user's
browser has no API token), and spends that token in the same transaction as the insert.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from connect_mcp.local.catalog import CatalogApp, find_app, find_by_oauth_app_id
from connect_mcp.local.connect_page.flow import store_account
from connect_mcp.local.http import (
    ApiError,
    account_limit,
    check_external_user_id,
    environment,
    json_object,
    json_ok,
    no_content,
    not_found,
    opt_str,
    page_request,
    parse_json,
    path_param,
    project_scope,
    query_bool,
    query_str,
    req_str,
    state_of,
)
from connect_mcp.local.paging import PageRequest
from connect_mcp.local.routes.tokens import token_problem
from connect_mcp.local.store import Scope, StoreError
from connect_mcp.local.views import account_json

MAX_NAME = 200


def _app_filter(request: Request) -> list[str] | None:
    """The slugs `app` / `oauth_app_id` select; an unknown one is a 400, not an empty page."""
    slugs: set[str] | None = None
    app_param = query_str(request, "app")
    if app_param is not None:
        app = find_app(app_param)
        if app is None:
            raise ApiError(400, f"unknown app {app_param[:80]!r}")
        slugs = {app.name_slug}
    oauth_param = query_str(request, "oauth_app_id")
    if oauth_param is not None:
        app = find_by_oauth_app_id(oauth_param)
        if app is None:
            raise ApiError(400, f"unknown oauth_app_id {oauth_param[:80]!r}")
        slugs = {app.name_slug} if slugs is None else slugs & {app.name_slug}
    return None if slugs is None else sorted(slugs)


async def list_accounts(request: Request) -> Response:
    scope = project_scope(request)
    external = request.query_params.get("external_user_id")
    external_id = None if external is None else check_external_user_id(external)
    slugs = _app_filter(request)
    include = query_bool(request, "include_credentials")
    page = page_request(request)
    headers = account_limit(request, scope)
    store = state_of(request).store
    result = store.list_accounts(scope, page, external_id=external_id, app_slugs=slugs)
    return json_ok(
        {
            "data": [account_json(store, r, include_credentials=include) for r in result.rows],
            "page_info": result.page_info(),
        },
        headers=headers,
    )


async def get_account(request: Request) -> Response:
    scope = project_scope(request)
    include = query_bool(request, "include_credentials")
    headers = account_limit(request, scope)
    store = state_of(request).store
    row = store.get_account(scope, path_param(request, "account_id"))
    if row is None:
        raise not_found()
    return json_ok(account_json(store, row, include_credentials=include), headers=headers)


async def user_accounts(request: Request) -> Response:
    scope = project_scope(request)
    external_id = check_external_user_id(path_param(request, "external_user_id"))
    slugs = _app_filter(request)
    include = query_bool(request, "include_credentials")
    headers = account_limit(request, scope)
    store = state_of(request).store
    rows: list[dict[str, Any]] = []
    page = PageRequest()
    while True:
        result = store.list_accounts(scope, page, external_id=external_id, app_slugs=slugs)
        rows.extend(account_json(store, r, include_credentials=include) for r in result.rows)
        if not result.has_after or not result.rows:
            break
        page = PageRequest(after=result.rows[-1].seq)
    return json_ok(rows, headers=headers)


async def delete_account(request: Request) -> Response:
    scope = project_scope(request)
    headers = account_limit(request, scope)
    if not state_of(request).store.delete_account(scope, path_param(request, "account_id")):
        raise not_found()
    return no_content(headers=headers)


async def delete_app_accounts(request: Request) -> Response:
    scope = project_scope(request)
    headers = account_limit(request, scope)
    app = find_app(path_param(request, "app_id"))
    if app is None:
        raise not_found()
    state_of(request).store.delete_app_accounts(scope, app.name_slug)
    return no_content(headers=headers)


# -- create (connect-token auth) ---------------------------------------------------------


def _credentials(app: CatalogApp, raw: str) -> dict[str, str]:
    """Parse and check `cfmap_json` against the app's fields; say exactly what is wrong."""
    fields = parse_json(raw, "cfmap_json")
    if not isinstance(fields, dict):
        raise ApiError(400, "cfmap_json must encode a JSON object of credential fields")
    bad_types = sorted(k for k, v in fields.items() if not isinstance(v, str))
    if bad_types:
        raise ApiError(400, f"credential fields must be strings: {', '.join(bad_types)}")
    unknown = sorted(set(fields) - app.credential_fields)
    if unknown:
        raise ApiError(
            400, f"unknown credential field(s) for app {app.name_slug}: {', '.join(unknown)}"
        )
    missing = [name for name in app.required_fields if not fields.get(name)]
    if missing:
        raise ApiError(
            400, f"missing credential field(s) for app {app.name_slug}: {', '.join(missing)}"
        )
    defaults = {f.name: f.default for f in app.fields if f.default is not None}
    merged: dict[str, str] = {**defaults, **fields}
    return merged


async def create_account(request: Request) -> Response:
    env = environment(request)
    body = await json_object(request)
    ctok = req_str(body, "connect_token", max_len=200)
    app_slug = req_str(body, "app_slug", max_len=200)
    cfmap = req_str(body, "cfmap_json", max_len=64_000)
    name = opt_str(body, "name", max_len=MAX_NAME)
    reconnect_id = opt_str(body, "account_id", max_len=100)
    if body.get("app_override_id") is not None:
        raise ApiError(400, "app_override_id is not supported by the local Connect server")
    app = find_app(app_slug)
    if app is None:
        raise ApiError(400, f"unknown app {app_slug[:80]!r}")
    credentials = _credentials(app, cfmap)

    state = state_of(request)
    now = state.clock()
    digest = state.digest(ctok)
    token = state.store.connect_token(digest)
    problem = token_problem(token, now)
    if problem is not None or token is None:
        raise ApiError(401, problem or "invalid connect token")
    if token.project_id != path_param(request, "project_id"):
        raise ApiError(401, "the connect token was not issued for this project")
    if token.environment != env:
        raise ApiError(400, f"the connect token was issued for the {token.environment} environment")
    query_user = request.query_params.get("external_user_id")
    if query_user and query_user != token.external_user_id:
        raise ApiError(400, "external_user_id does not match the connect token's user")

    try:
        row = store_account(
            state,
            Scope(token.project_id, env),
            digest,
            token.external_user_id,
            app,
            credentials,
            name=name,
            reconnect_id=reconnect_id,
        )
    except StoreError as exc:
        raise ApiError(401, str(exc)) from exc
    except LookupError as exc:
        raise ApiError(404, "account_id names no account of this user and app") from exc
    if row is None:
        raise not_found()
    return json_ok(account_json(state.store, row, include_credentials=False))
