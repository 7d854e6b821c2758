"""The JSON shapes the API returns, built from store rows and the catalog."""

from __future__ import annotations

import functools
from typing import Any

from connect_mcp.local.catalog import find_app
from connect_mcp.local.http import iso
from connect_mcp.local.store import AccountRow, Store, UserRow


def _missing_app(slug: str) -> dict[str, Any]:
    """An account whose app left the catalog still renders (with what is known)."""
    return {
        "id": None,
        "name_slug": slug,
        "name": slug,
        "auth_type": None,
        "description": None,
        "img_src": "",
        "custom_fields_json": "[]",
        "categories": [],
        "featured_weight": 0,
        "scope_profiles": [],
    }


@functools.lru_cache(maxsize=256)
def _app_json(slug: str) -> dict[str, Any]:
    """An account's `app` object, built once per slug (the catalog is fixed at import).
    Shared between responses: serialised, never mutated."""
    app = find_app(slug)
    return app.to_json() if app else _missing_app(slug)


def account_json(store: Store, row: AccountRow, *, include_credentials: bool) -> dict[str, Any]:
    app = find_app(row.app_slug)
    out: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "external_id": row.external_id,
        "healthy": row.healthy,
        "dead": row.dead,
        "app": _app_json(row.app_slug),
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "authorized_scopes": list(app.scopes) if app and app.auth_type == "oauth" else [],
        "expires_at": iso(row.expires_at),
        "error": row.error,
        "last_refreshed_at": iso(row.last_refreshed_at),
        "next_refresh_at": iso(row.next_refresh_at),
    }
    if include_credentials:
        out["credentials"] = store.credentials(row)
    return out


def user_json(row: UserRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "external_id": row.external_id,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }
