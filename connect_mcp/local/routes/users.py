"""External users: list (with `q` and cursor paging) and delete (with all their accounts)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from connect_mcp.local.http import (
    account_limit,
    check_external_user_id,
    json_ok,
    no_content,
    not_found,
    page_request,
    path_param,
    project_scope,
    query_str,
    state_of,
)
from connect_mcp.local.views import user_json


async def list_users(request: Request) -> Response:
    scope = project_scope(request)
    q = query_str(request, "q")
    page = page_request(request)
    result = state_of(request).store.list_users(scope, q, page)
    return json_ok({"data": [user_json(r) for r in result.rows], "page_info": result.page_info()})


async def delete_user(request: Request) -> Response:
    scope = project_scope(request)
    external_id = check_external_user_id(path_param(request, "external_user_id"))
    headers = account_limit(request, scope)
    if not state_of(request).store.delete_user(scope, external_id):
        raise not_found()
    return no_content(headers=headers)
