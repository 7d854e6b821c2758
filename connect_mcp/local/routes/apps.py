"""The app catalog (global, needs only a valid token) and the project's apps."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from connect_mcp.local.catalog import APPS, CatalogApp, find_app
from connect_mcp.local.http import (
    bearer_project,
    json_ok,
    not_found,
    page_request,
    path_param,
    project_scope,
    query_str,
)
from connect_mcp.local.paging import Page


@dataclass(frozen=True)
class _Entry:
    seq: int
    app: CatalogApp


def _matches(app: CatalogApp, q: str | None) -> bool:
    if not q:
        return True
    needle = q.lower()
    return needle in app.name.lower() or needle in app.name_slug.lower()


async def list_apps(request: Request) -> Response:
    bearer_project(request)
    q = query_str(request, "q")
    page = page_request(request)
    entries = [_Entry(i + 1, a) for i, a in enumerate(APPS) if _matches(a, q)]
    window = [
        e
        for e in entries
        if (page.after is None or e.seq > page.after)
        and (page.before is None or e.seq < page.before)
    ]
    rows = (
        window[-page.limit :]
        if page.before is not None and page.after is None
        else window[: page.limit]
    )
    result = Page(
        rows=rows,
        total_count=len(entries),
        has_before=bool(rows) and rows[0].seq > entries[0].seq,
        has_after=bool(rows) and rows[-1].seq < entries[-1].seq,
    )
    return json_ok({"data": [e.app.to_json() for e in rows], "page_info": result.page_info()})


async def get_app(request: Request) -> Response:
    bearer_project(request)
    app = find_app(path_param(request, "app_id"))
    if app is None:
        raise not_found()
    return json_ok({"data": app.to_json()})


async def project_info(request: Request) -> Response:
    """The apps configured for this project: the local project is configured for every
    built-in app.

    Deliberately *not* derived from accounts: "which apps has anyone in the project
    connected" is data about other end users, and an MCP session bound to one user must not
    learn even that another user has, say, a PostgreSQL account."""
    project_scope(request)  # authenticates and checks the project and environment
    return json_ok({"apps": [{"id": a.id, "name_slug": a.name_slug} for a in APPS]})
