"""The built-in catalog: shaped as the real API shapes apps, parsed by the official SDK."""

from __future__ import annotations

import json

import pytest
from pipedream.types import App

from connect_mcp.local.catalog import APPS, find_app, find_by_oauth_app_id


def test_a_dozen_apps_of_both_kinds() -> None:
    assert len(APPS) >= 12
    assert {a.auth_type for a in APPS} == {"oauth", "keys"}
    assert len({a.id for a in APPS}) == len({a.name_slug for a in APPS}) == len(APPS)


@pytest.mark.parametrize("app", APPS, ids=lambda a: a.name_slug)
def test_each_app_parses_and_describes_its_fields(app: object) -> None:
    from connect_mcp.local.catalog import CatalogApp

    assert isinstance(app, CatalogApp)
    body = app.to_json()
    parsed = App.model_validate(body)  # every field the SDK requires is there
    assert parsed.name_slug == app.name_slug
    fields = json.loads(body["custom_fields_json"])
    assert isinstance(fields, list)
    for field in fields:
        assert {"name", "label"} <= set(field)
        assert field.get("type", "string") in ("string", "password")
        assert isinstance(field.get("optional", False), bool)
    if app.auth_type == "keys":
        assert fields, "a key-based app must say which keys it needs"
        assert body["oauth_app_id"] is None
    else:
        assert body["oauth_app_id"].startswith("oa_")
        assert find_by_oauth_app_id(body["oauth_app_id"]) is app
    assert find_app(app.id) is find_app(app.name_slug) is app


def test_ids_are_stable() -> None:
    """Derived from the slug, so ids survive restarts, new data dirs and releases."""
    slack = find_app("slack")
    assert slack is not None
    assert slack.id == "app_Mt0bLA"
    assert find_app("nope") is None
