"""Account views: compact, value-free, and explicit about connections that need repair."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connect_mcp.connect import Account, AccountApp
from connect_mcp.tools._views import account_status, account_view

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _account(**fields: object) -> Account:
    base: dict[str, object] = {
        "id": "apn_1",
        "app": AccountApp(name_slug="slack", name="Slack", description="long text", img_src="x"),
        "healthy": True,
        "dead": False,
    }
    return Account.model_validate({**base, **fields})


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({}, "healthy"),
        ({"expires_at": NOW + timedelta(hours=1)}, "healthy"),
        ({"expires_at": NOW - timedelta(seconds=1)}, "expired"),
        ({"healthy": False}, "unhealthy"),
        ({"dead": True, "healthy": False}, "dead"),
    ],
)
def test_status(fields: dict[str, object], status: str) -> None:
    assert account_status(_account(**fields), NOW) == status


def test_view_is_compact_and_value_free() -> None:
    account = _account(
        credentials={"oauth_access_token": "xoxb-secret-123", "oauth_uid": "U1"},
        expires_at=datetime(2000, 1, 1, tzinfo=UTC),
    )
    view = account_view(account).model_dump()
    assert view["credential_fields"] == ["oauth_access_token", "oauth_uid"]
    assert view["status"] == "expired"
    assert "create_connect_link" in view["action"]
    assert "apn_1" in view["action"]
    assert view["credentials_expire_at"] == "2000-01-01T00:00:00Z"
    dumped = str(view)
    assert "xoxb-secret-123" not in dumped
    assert "long text" not in dumped
