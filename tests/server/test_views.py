"""Account views: compact, value-free, and explicit about connections that need repair."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from connect_mcp.connect import Account, AccountApp
from connect_mcp.tools._base import result
from connect_mcp.tools._views import AccountView, account_status, account_view, iso
from connect_mcp.tools.accounts import ListAccountsOutput

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


def _page_accounts() -> list[Account]:
    slack = AccountApp(name_slug="slack", name="Slack", description="long text", img_src="x")
    github = AccountApp(name_slug="github")  # no display name: the slug stands in
    return [
        Account.model_validate(
            {
                "id": "apn_ok",
                "name": "Team 'A'",
                "app": slack,
                "healthy": True,
                "dead": False,
                "created_at": "2025-03-04T05:06:07.123456Z",
                "updated_at": datetime(2025, 3, 4, 6, 0, tzinfo=timezone(timedelta(hours=2))),
                "credentials": {"oauth_uid": "U1", "oauth_access_token": "xoxb-golden-1"},
                "expires_at": "2999-01-01T00:00:00+00:00",
            }
        ),
        Account.model_validate({"id": "apn_dead", "app": github, "healthy": False, "dead": True}),
        Account.model_validate(
            {
                "id": "apn_sick",
                "name": "",
                "app": slack,
                "healthy": False,
                "created_at": datetime(2024, 12, 31, 23, 59, 59),  # naive: taken as UTC
                "credentials": {},
            }
        ),
        Account.model_validate(
            {"id": "apn_old", "app": github, "expires_at": "2001-02-03T04:05:06Z"}
        ),
    ]


#: The published result of the page above, byte for byte (compact JSON of structuredContent,
#: and the text). Pinned so that building the views faster can never change what a client
#: reads; regenerate only for a deliberate change of the output.
_GOLDEN_STRUCTURED = (
    '{"accounts": [{"id": "apn_ok", "name": "Team \'A\'", "app_slug": "slack", '
    '"app_name": "Slack", "status": "healthy", "created_at": "2025-03-04T05:06:07.123456Z", '
    '"updated_at": "2025-03-04T04:00:00Z", "credential_fields": ["oauth_access_token", '
    '"oauth_uid"], "credentials_expire_at": "2999-01-01T00:00:00Z"}, {"id": "apn_dead", '
    '"app_slug": "github", "app_name": "github", "status": "dead", "credential_fields": [], '
    '"action": "This connection is dead: the app no longer accepts its credentials. Ask the '
    "user to reconnect it: call create_connect_link with account_id='apn_dead' and give the "
    'user the returned link."}, {"id": "apn_sick", "name": "", "app_slug": "slack", '
    '"app_name": "Slack", "status": "unhealthy", "created_at": "2024-12-31T23:59:59Z", '
    '"credential_fields": [], "action": "This connection is unhealthy: recent use or refresh '
    "failed. Ask the user to reconnect it: call create_connect_link with "
    'account_id=\'apn_sick\' and give the user the returned link."}, {"id": "apn_old", '
    '"app_slug": "github", "app_name": "github", "status": "expired", "credential_fields": '
    '[], "credentials_expire_at": "2001-02-03T04:05:06Z", "action": "This connection\'s '
    "credentials have expired. Ask the user to reconnect it: call create_connect_link with "
    'account_id=\'apn_old\' and give the user the returned link."}], "next_cursor": '
    '"cur_2", "total_count": 9, "needs_attention": 3}'
)
_GOLDEN_TEXT = (
    "4 account(s) of 9:\n"
    "- apn_ok: Slack (slack) 'Team 'A''\n"
    "- apn_dead: github (github) [DEAD - needs reconnecting]\n"
    "- apn_sick: Slack (slack) [UNHEALTHY - needs reconnecting]\n"
    "- apn_old: github (github) [EXPIRED - needs reconnecting]\n"
    "3 need(s) reconnecting: see each account's action.\n"
    "More: call list_accounts with cursor='cur_2'."
)


def test_published_page_is_pinned_byte_for_byte() -> None:
    views = [account_view(a) for a in _page_accounts()]
    output = ListAccountsOutput(
        accounts=views,
        next_cursor="cur_2",
        total_count=9,
        needs_attention=sum(v.status != "healthy" for v in views),
    )
    published = result(output)
    assert json.dumps(published.structured_content) == _GOLDEN_STRUCTURED
    assert [c.model_dump() for c in published.content] == [
        {"type": "text", "text": _GOLDEN_TEXT, "annotations": None, "meta": None}
    ]
    # The same views as validated models: the fast path builds exactly what validation would.
    for view in views:
        again = AccountView.model_validate(view.model_dump())
        assert json.dumps(again.model_dump(mode="json")) == json.dumps(view.model_dump(mode="json"))


def test_iso_tells_apart_times_that_differ_only_in_fold() -> None:
    """`iso` is memoised by datetime; two wall times that compare equal in one zone but are
    different instants (the hour repeated when DST ends) must not share an answer."""
    from zoneinfo import ZoneInfo

    first = datetime(2025, 11, 2, 1, 30, tzinfo=ZoneInfo("America/New_York"))
    second = first.replace(fold=1)
    assert first == second  # why a plain memo by value would be wrong
    assert iso(first) == "2025-11-02T05:30:00Z"
    assert iso(second) == "2025-11-02T06:30:00Z"
    assert (
        iso(datetime(2025, 1, 1)) == iso(datetime(2025, 1, 1, tzinfo=UTC)) == "2025-01-01T00:00:00Z"
    )
