"""The unmodified official Python SDK (`pipedream` from PyPI) against the local server."""

from __future__ import annotations

import re
from collections.abc import Callable
from uuid import uuid4

import pytest
from pipedream import Pipedream
from pipedream.core.api_error import ApiError

from connect_mcp.local.embedded import LocalCredentials
from tests.support import seed_account


def _client(local_server: LocalCredentials) -> Pipedream:
    return Pipedream(
        base_url=local_server.base_url,
        project_id=local_server.project_id,
        project_environment="development",
        client_id=local_server.client_id,
        client_secret=local_server.client_secret,
        timeout=10,
        max_retries=0,
    )


@pytest.fixture
def pd(local_server: LocalCredentials) -> Pipedream:
    return _client(local_server)


def test_create_and_validate_token(pd: Pipedream, local_server: LocalCredentials) -> None:
    created = pd.tokens.create(
        external_user_id=uuid4().hex,
        success_redirect_uri="https://example.com/ok",
        expires_in=600,
    )
    assert re.fullmatch(r"ctok_[0-9a-f]{32}", created.token)
    assert created.connect_link_url.startswith(f"{local_server.base_url}/_static/connect.html?")
    valid = pd.tokens.validate(created.token, app_id="slack")
    assert valid.success is True
    assert valid.app is not None
    assert valid.app.name_slug == "slack"
    assert valid.success_redirect_uri == "https://example.com/ok"
    assert valid.project_environment == "development"
    bogus = pd.tokens.validate("ctok_" + "0" * 32, app_id="slack")
    assert bogus.success is False


def test_list_accounts_pages_through_everything(
    pd: Pipedream, local_server: LocalCredentials
) -> None:
    user = uuid4().hex
    made = [
        seed_account(local_server, user, "github", {"oauth_access_token": f"gho_{i}"})["id"]
        for i in range(7)
    ]
    first = pd.accounts.list(external_user_id=user, limit=3)
    assert [a.id for a in first.items] == made[:3]
    assert first.response is not None
    info = first.response.page_info
    assert (info.count, info.total_count, info.start_cursor) == (3, 7, None)
    assert info.end_cursor
    # The SDK's pager follows end_cursor until the server stops giving one.
    assert [a.id for a in pd.accounts.list(external_user_id=user, limit=3)] == made
    pages = list(pd.accounts.list(external_user_id=user, limit=3).iter_pages())
    assert [len(p.items) for p in pages] == [3, 3, 1]


def test_retrieve_with_and_without_credentials(
    pd: Pipedream, local_server: LocalCredentials
) -> None:
    user = uuid4().hex
    made = seed_account(
        local_server, user, "twilio", {"accountSid": "AC123", "authToken": "tw-secret"}
    )
    plain = pd.accounts.retrieve(made["id"])
    assert plain.credentials is None
    assert plain.app is not None
    assert plain.app.auth_type == "keys"
    assert plain.external_id == user
    full = pd.accounts.retrieve(made["id"], include_credentials=True)
    assert full.credentials is not None
    assert full.credentials.model_dump()["authToken"] == "tw-secret"
    mine = pd.accounts.list_by_external_user(user)
    assert [a.id for a in mine] == [made["id"]]


def test_delete_and_delete_by_app(make_local_server: Callable[..., LocalCredentials]) -> None:
    """A server of its own: deleting by app is project-wide and must not hit other tests."""
    local_server = make_local_server()
    pd = _client(local_server)
    user = uuid4().hex
    first = seed_account(local_server, user, "notion", {"oauth_access_token": "n1"})
    seed_account(local_server, user, "notion", {"oauth_access_token": "n2"})
    kept = seed_account(local_server, user, "stripe", {"api_key": "sk_test_1"})
    pd.accounts.delete(first["id"])
    with pytest.raises(ApiError) as missing:
        pd.accounts.retrieve(first["id"])
    assert missing.value.status_code == 404
    pd.accounts.delete_by_app("notion")
    remaining = pd.accounts.list(external_user_id=user)
    assert [a.id for a in remaining] == [kept["id"]]


def test_users_list_and_delete(pd: Pipedream, local_server: LocalCredentials) -> None:
    tag = uuid4().hex
    users = [f"{tag}-{i}" for i in range(3)]
    for user in users:
        seed_account(local_server, user, "openai", {"api_key": "sk-x"})
    listed = [u.external_id for u in pd.users.list(q=tag, limit=2)]
    assert listed == users
    pd.users.delete_external_user(users[0])
    assert [u.external_id for u in pd.users.list(q=tag)] == users[1:]
    assert list(pd.accounts.list(external_user_id=users[0])) == []


def test_project_info_and_apps(pd: Pipedream, local_server: LocalCredentials) -> None:
    seed_account(local_server, uuid4().hex, "datadog", {"api_key": "a", "application_key": "b"})
    info = pd.projects.retrieve_info()
    assert "datadog" in {a.name_slug for a in info.apps}
    every = list(pd.apps.list(limit=5))
    assert len(every) >= 12
    assert {a.auth_type for a in every} == {"oauth", "keys"}
    assert [a.name_slug for a in pd.apps.list(q="google")] == ["google_sheets"]
    slack = pd.apps.retrieve("slack").data
    assert slack.name == "Slack"
    assert pd.apps.retrieve(slack.id or "").data.name_slug == "slack"


def test_create_and_reconnect_an_account(pd: Pipedream) -> None:
    user = uuid4().hex
    ctok = pd.tokens.create(external_user_id=user).token
    made = pd.accounts.create(
        app_slug="shopify_developer_app",
        cfmap_json='{"oauth_access_token": "shpat_1", "shop_id": "my-store"}',
        connect_token=ctok,
        name="Store",
    )
    assert made.name == "Store"
    assert made.external_id == user
    assert made.expires_at is not None
    assert pd.tokens.validate(ctok, app_id="shopify_developer_app").success is False
    again = pd.tokens.create(external_user_id=user).token
    fixed = pd.accounts.create(
        app_slug="shopify_developer_app",
        cfmap_json='{"oauth_access_token": "shpat_2", "shop_id": "my-store"}',
        connect_token=again,
        account_id=made.id,
    )
    assert fixed.id == made.id
    creds = pd.accounts.retrieve(made.id, include_credentials=True).credentials
    assert creds is not None
    assert creds.oauth_access_token == "shpat_2"
    assert [a.id for a in pd.accounts.list(external_user_id=user)] == [made.id]
