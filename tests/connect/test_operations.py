"""Every operation of the client against the real local Connect server, over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from pydantic import SecretStr

from connect_mcp.config import Settings
from connect_mcp.connect import (
    Account,
    ConnectClient,
    InvalidArgumentError,
    NotFoundError,
    UnauthorizedError,
)
from connect_mcp.local.catalog import APPS
from connect_mcp.local.embedded import LocalCredentials
from connect_mcp.redact import Redactor
from tests.connect.helpers import CountingTransport, local_client
from tests.support import NOT_ORIGINS, seed_account

OPENAI_KEY = {"api_key": "sk-test-openai-0123456789", "organization": "org-test"}


def user() -> str:
    return f"user-{uuid4().hex}"


async def test_create_connect_token_gives_a_link_carrying_the_token(
    local_server: LocalCredentials,
) -> None:
    async with local_client(local_server) as client:
        token = await client.create_connect_token(user(), expires_in=600)
    secret = token.token.get_secret_value()
    assert secret.startswith("ctok_")
    assert len(secret) == len("ctok_") + 32
    assert secret in token.connect_link_url
    assert 500 < (token.expires_at - datetime.now(UTC)).total_seconds() <= 600
    assert secret not in repr(token)
    assert secret not in str(token)


async def test_validate_connect_token_says_whether_it_is_usable(
    local_server: LocalCredentials,
) -> None:
    async with local_client(local_server) as client:
        token = await client.create_connect_token(user())
        valid = await client.validate_connect_token(token.token.get_secret_value(), "openai")
        unknown = await client.validate_connect_token("ctok_" + "f" * 32, "openai")
    assert valid.success is True
    assert unknown.success is False
    assert unknown.error == "invalid connect token"


async def test_list_accounts_filters_by_user_and_app(local_server: LocalCredentials) -> None:
    me, other = user(), user()
    mine = seed_account(local_server, me, "openai", OPENAI_KEY)
    seed_account(local_server, me, "anthropic", {"api_key": "sk-ant-test-0123456789"})
    seed_account(local_server, other, "openai", OPENAI_KEY)
    async with local_client(local_server) as client:
        page = await client.list_accounts(external_user_id=me, app="openai")
    assert [a.id for a in page.data] == [mine["id"]]
    assert page.page_info.count == 1
    assert page.page_info.total_count == 1
    assert page.data[0].external_id == me
    assert page.data[0].app.name_slug == "openai"
    assert page.data[0].credentials is None


async def test_credentials_come_only_as_secrets_and_are_taught_to_the_redactor(
    local_server: LocalCredentials,
) -> None:
    me = user()
    seed_account(local_server, me, "openai", OPENAI_KEY)
    redactor = Redactor()
    async with local_client(local_server, redactor=redactor) as client:
        [account] = (await client.list_accounts(external_user_id=me, include_credentials=True)).data
    assert account.credentials is not None
    assert isinstance(account.credentials["api_key"], SecretStr)
    assert account.credentials["api_key"].get_secret_value() == OPENAI_KEY["api_key"]
    assert account.credential_fields == ["api_key", "organization"]
    assert OPENAI_KEY["api_key"] not in repr(account)
    assert redactor.scrub(f"key={OPENAI_KEY['api_key']}") == "key=[REDACTED]"


async def test_iter_accounts_walks_every_page_once(local_server: LocalCredentials) -> None:
    me = user()
    seeded = [seed_account(local_server, me, "openai", OPENAI_KEY)["id"] for _ in range(5)]
    transport = CountingTransport()
    async with local_client(local_server, transport=transport) as client:
        ids = [a.id async for a in client.iter_accounts(external_user_id=me, limit=2)]
    assert sorted(ids) == sorted(seeded)
    assert len(ids) == 5
    assert transport.count("GET", f"/v1/connect/{local_server.project_id}/accounts") == 3


async def test_get_account_and_its_not_found(local_server: LocalCredentials) -> None:
    me = user()
    seeded = seed_account(local_server, me, "openai", OPENAI_KEY, name="work key")
    async with local_client(local_server) as client:
        account = await client.get_account(seeded["id"], include_credentials=True)
        with pytest.raises(NotFoundError) as caught:
            await client.get_account("apn_doesnotexist")
    assert isinstance(account, Account)
    assert account.name == "work key"
    assert account.credentials is not None
    assert account.healthy is True
    assert account.created_at is not None
    assert caught.value.status == 404
    assert caught.value.path == f"/v1/connect/{local_server.project_id}/accounts/apn_doesnotexist"


async def test_list_user_accounts_returns_that_users_accounts(
    local_server: LocalCredentials,
) -> None:
    me = user()
    a = seed_account(local_server, me, "openai", OPENAI_KEY)["id"]
    b = seed_account(local_server, me, "anthropic", {"api_key": "sk-ant-test-0123456789"})["id"]
    async with local_client(local_server) as client:
        everything = await client.list_user_accounts(me)
        anthropic = await client.list_user_accounts(me, app="anthropic")
        nobody = await client.list_user_accounts(user())
    assert {x.id for x in everything} == {a, b}
    assert [x.id for x in anthropic] == [b]
    assert nobody == []


async def test_delete_account_removes_it(local_server: LocalCredentials) -> None:
    me = user()
    seeded = seed_account(local_server, me, "openai", OPENAI_KEY)
    async with local_client(local_server) as client:
        await client.delete_account(seeded["id"])
        with pytest.raises(NotFoundError):
            await client.get_account(seeded["id"])
        with pytest.raises(NotFoundError):
            await client.delete_account(seeded["id"])


async def test_delete_app_accounts_is_project_wide(
    make_local_server: Callable[..., LocalCredentials],
) -> None:
    creds = make_local_server()  # its own server: this deletes every user's accounts
    a, b = user(), user()
    seed_account(creds, a, "openai", OPENAI_KEY)
    seed_account(creds, b, "openai", OPENAI_KEY)
    kept = seed_account(creds, b, "anthropic", {"api_key": "sk-ant-test-0123456789"})
    async with local_client(creds) as client:
        await client.delete_app_accounts("openai")
        remaining = (await client.list_accounts()).data
    assert [x.id for x in remaining] == [kept["id"]]


async def test_list_users_searches_and_pages(local_server: LocalCredentials) -> None:
    tag = uuid4().hex
    names = [f"{tag}-{i}" for i in range(3)]
    for name in names:
        seed_account(local_server, name, "openai", OPENAI_KEY)
    async with local_client(local_server) as client:
        first = await client.list_users(q=tag, limit=2)
        assert first.page_info.end_cursor is not None
        second = await client.list_users(q=tag, limit=2, after=first.page_info.end_cursor)
    found = [u.external_id for u in first.data + second.data]
    assert sorted(found) == names
    assert second.page_info.end_cursor is None


async def test_delete_user_removes_the_user_and_their_accounts(
    local_server: LocalCredentials,
) -> None:
    me = user()
    seed_account(local_server, me, "openai", OPENAI_KEY)
    async with local_client(local_server) as client:
        await client.delete_user(me)
        assert await client.list_user_accounts(me) == []
        assert (await client.list_users(q=me)).data == []
        with pytest.raises(NotFoundError):
            await client.delete_user(me)


async def test_project_info_lists_the_configured_apps_and_reveals_no_users_data(
    local_server: LocalCredentials,
) -> None:
    async with local_client(local_server) as client:
        before = await client.get_project_info()
        seed_account(local_server, user(), "sendgrid", {"api_key": "SG.test-0123456789"})
        after = await client.get_project_info()
    assert {a.name_slug for a in before.apps} == {a.name_slug for a in APPS}
    assert after == before  # another user's new account changes nothing a session can see


async def test_list_and_get_apps(local_server: LocalCredentials) -> None:
    async with local_client(local_server) as client:
        slack = await client.list_apps(q="slack")
        first = await client.list_apps(limit=3)
        second = await client.list_apps(limit=3, after=first.page_info.end_cursor)
        by_slug = await client.get_app("slack")
        assert by_slug.id is not None
        by_id = await client.get_app(by_slug.id)
        with pytest.raises(NotFoundError):
            await client.get_app("no-such-app")
    assert [a.name_slug for a in slack.data] == ["slack"]
    assert len(first.data) == 3
    assert not {a.name_slug for a in first.data} & {a.name_slug for a in second.data}
    assert by_slug.name == "Slack"
    assert by_slug.auth_type == "oauth"
    assert by_id.name_slug == "slack"


async def test_environments_never_mix(local_server: LocalCredentials) -> None:
    me = user()
    seed_account(local_server, me, "openai", OPENAI_KEY, environment="production")
    async with (
        local_client(local_server) as development,
        local_client(local_server, environment="production") as production,
    ):
        assert await development.list_user_accounts(me) == []
        assert len(await production.list_user_accounts(me)) == 1


async def test_bad_client_secret_is_unauthorized(local_server: LocalCredentials) -> None:
    client = ConnectClient(
        client_id=local_server.client_id,
        client_secret="not-the-secret-at-all",
        project_id=local_server.project_id,
        base_url=local_server.base_url,
        redactor=Redactor(),
    )
    async with client:
        with pytest.raises(UnauthorizedError) as caught:
            await client.get_project_info()
    assert caught.value.path == "/v1/oauth/token"
    assert "not-the-secret-at-all" not in str(caught.value)


@pytest.mark.parametrize("origin", NOT_ORIGINS)
async def test_allowed_origins_must_be_origins_before_anything_is_sent(
    local_server: LocalCredentials, origin: str
) -> None:
    """They become the Connect page's CSP frame-ancestors: `*`, a scheme or a path would let
    other sites frame the page, `;` would break out of the header."""
    transport = CountingTransport()
    async with local_client(local_server, transport=transport) as client:
        with pytest.raises(InvalidArgumentError, match="is not an origin"):
            await client.create_connect_token(
                user(), allowed_origins=["https://ok.example.com", origin]
            )
    assert transport.requests == []


async def test_real_origins_are_accepted_by_client_and_server(
    local_server: LocalCredentials,
) -> None:
    origins = [
        "https://app.example.com",
        "HTTPS://App.Example.com:8443",
        "http://localhost:3000",
        "http://127.0.0.1:8080",
        "http://[::1]:8080",
        "https://xn--pp-qia.example",
    ]
    async with local_client(local_server) as client:
        token = await client.create_connect_token(user(), allowed_origins=origins)
    assert token.token.get_secret_value().startswith("ctok_")


@pytest.mark.parametrize(
    ("call", "why"),
    [
        (lambda c: c.create_connect_token("x" * 251), "at most 250"),
        (lambda c: c.create_connect_token(""), "must not be empty"),
        (lambda c: c.list_user_accounts("   "), "must not be blank"),
        (lambda c: c.list_accounts(external_user_id="\ud800"), "not valid Unicode"),
        (lambda c: c.get_account(""), "account_id must not be empty"),
        (lambda c: c.delete_account(""), "account_id must not be empty"),
        (lambda c: c.delete_app_accounts(""), "app_id must not be empty"),
        (lambda c: c.list_users(limit=0), "positive integer"),
        (lambda c: c.get_app(""), "app_id must not be empty"),
    ],
)
async def test_bad_arguments_are_refused_before_anything_is_sent(
    local_server: LocalCredentials, call: Callable[[ConnectClient], object], why: str
) -> None:
    transport = CountingTransport()
    async with local_client(local_server, transport=transport) as client:
        with pytest.raises(InvalidArgumentError, match=why) as caught:
            await call(client)  # type: ignore[misc]
    assert isinstance(caught.value, ValueError)
    assert transport.requests == []


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read the environment and `.env`; these tests must see neither."""
    for name in ("PIPEDREAM_CLIENT_ID", "PIPEDREAM_CLIENT_SECRET", "PIPEDREAM_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.mark.usefixtures("clean_env")
async def test_from_settings_builds_a_working_client(local_server: LocalCredentials) -> None:
    settings = Settings(
        _env_file=None,
        client_id=local_server.client_id,
        client_secret=SecretStr(local_server.client_secret),
        project_id=local_server.project_id,
        base_url=local_server.base_url,
    )
    async with ConnectClient.from_settings(settings, redactor=Redactor()) as client:
        info = await client.get_project_info()
        assert client.environment == "development"
    assert isinstance(info.apps, list)


@pytest.mark.usefixtures("clean_env")
def test_from_settings_names_the_missing_variables() -> None:
    settings = Settings(_env_file=None, client_secret=SecretStr("s" * 20))
    with pytest.raises(InvalidArgumentError, match="PIPEDREAM_CLIENT_ID, PIPEDREAM_PROJECT_ID"):
        ConnectClient.from_settings(settings)


@pytest.mark.parametrize(
    "base_url",
    [
        "http://api.pipedream.com",  # the client secret would travel in clear
        "http://evil.localhost:8420",  # *.localhost goes to DNS here: not loopback
        "https://user:pw@api.pipedream.com",
        "https://api.pipedream.com/?x=1",
        "ftp://api.pipedream.com",
        "not a url",
    ],
)
def test_an_unsafe_base_url_is_refused_at_construction(base_url: str) -> None:
    with pytest.raises(InvalidArgumentError):
        ConnectClient(client_id="c", client_secret="s" * 20, project_id="p", base_url=base_url)


def test_plain_http_base_url_is_fine_on_loopback() -> None:
    for base_url in ("http://127.0.0.1:8420", "http://localhost:8420/", "http://[::1]:8420"):
        client = ConnectClient(
            client_id="c", client_secret="s" * 20, project_id="p", base_url=base_url
        )
        assert not client.base_url.endswith("/")


@pytest.mark.parametrize(
    ("external_user_id", "encoded"),
    [
        ("team/alice", "team%2Falice"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("../../accounts", "..%2F..%2Faccounts"),
        ("50%", "50%25"),
        ("nul\x00byte", "nul%00byte"),
        ("a?b#c", "a%3Fb%23c"),
        ("é 🙂", "%C3%A9%20%F0%9F%99%82"),
    ],
)
async def test_a_user_id_stays_inside_its_path_segment(
    local_server: LocalCredentials, external_user_id: str, encoded: str
) -> None:
    # Dot segments cannot take a unique prefix (they would stop being dot segments);
    # every other id does, so tests sharing the server never share a user.
    tag = "" if external_user_id in (".", "..") else uuid4().hex[:8]
    uid = tag + external_user_id
    seeded = seed_account(local_server, uid, "openai", OPENAI_KEY)
    transport = CountingTransport()
    async with local_client(local_server, transport=transport) as client:
        [account] = await client.list_user_accounts(uid)
        await client.delete_user(uid)
        assert await client.list_user_accounts(uid) == []
    assert account.id == seeded["id"]
    assert account.external_id == uid
    users = f"/v1/connect/{local_server.project_id}/users"
    assert transport.raw_paths[1:] == [
        f"{users}/{tag}{encoded}/accounts",
        f"{users}/{tag}{encoded}",
        f"{users}/{tag}{encoded}/accounts",
    ]
