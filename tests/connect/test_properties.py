"""Property: any string, as an external user id or an app, either is refused by our own
validation (`InvalidArgumentError`, nothing sent) or round-trips through the local server
unchanged - in a JSON body, in a query string and in a URL path segment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx2
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from connect_mcp.connect import (
    ConnectClient,
    InvalidArgumentError,
    NotFoundError,
    WorkflowURLRefusedError,
)
from connect_mcp.connect._workflow import WorkflowURLPolicy
from connect_mcp.local.catalog import APPS
from connect_mcp.local.embedded import EmbeddedServer, LocalCredentials
from tests.connect.helpers import local_client
from tests.support import seed_account

# Strings that break naive clients: path syntax, percent signs, NUL and other controls,
# whitespace, surrogates (not encodable), and the length limit's edges.
TRICKY = [
    "..",
    ".",
    "%",
    "%2F",
    "%00",
    "a\x00b",
    "?x=1",
    "#frag",
    "a&b=c",
    "+ +",
    " padded ",
    "\t",
    "é🙂",
    "\ud800",
    "x" * 250,
    "x" * 251,
]
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=260)  # surrogates too
ID_STRINGS = st.one_of(st.sampled_from(TRICKY), ANY_TEXT)
APP_KEYS = [key for app in APPS for key in (app.name_slug, app.id)]
APP_STRINGS = st.one_of(st.sampled_from(APP_KEYS), ID_STRINGS)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCredentials]:
    """A server of its own, with limits out of the way: hypothesis repeats strings while
    shrinking, and this test is about strings, not rates."""
    with EmbeddedServer(
        Path(tmp_path_factory.mktemp("properties")),
        token_rate_per_minute=1_000_000,
        account_rate_per_window=1_000_000,
    ) as creds:
        yield creds


def _client(creds: LocalCredentials) -> ConnectClient:
    return local_client(creds, token_rate_per_minute=None, account_rate_per_window=None)


async def _round_trip_user(creds: LocalCredentials, external_user_id: str) -> None:
    async with _client(creds) as client:
        try:
            page = await client.list_accounts(external_user_id=external_user_id)
        except InvalidArgumentError:
            return
        assert page.data == []
        seed_account(creds, external_user_id, "openai", {"api_key": "sk-property-0123456789"})
        [listed] = (await client.list_accounts(external_user_id=external_user_id)).data
        assert listed.external_id == external_user_id
        token = await client.create_connect_token(external_user_id)
        assert token.token.get_secret_value().startswith("ctok_")
        [by_path] = await client.list_user_accounts(external_user_id)
        assert by_path.external_id == external_user_id
        await client.delete_user(external_user_id)
        assert await client.list_user_accounts(external_user_id) == []


@settings(max_examples=60, deadline=None)
@given(external_user_id=ID_STRINGS)
@example(external_user_id="a/b")
@example(external_user_id="../../accounts")
def test_any_external_user_id_is_refused_or_round_trips(
    server: LocalCredentials, external_user_id: str
) -> None:
    anyio.run(_round_trip_user, server, external_user_id)


async def _round_trip_app(creds: LocalCredentials, app: str) -> None:
    known = {key: a.name_slug for a in APPS for key in (a.name_slug, a.id)}
    async with _client(creds) as client:
        try:
            found = await client.get_app(app)
        except InvalidArgumentError:
            return
        except NotFoundError:
            assert app not in known
            return
        assert app in known
        assert found.name_slug == known[app]
        assert app in (found.name_slug, found.id)


@settings(max_examples=60, deadline=None)
@given(app=APP_STRINGS)
def test_any_app_string_is_refused_or_round_trips(server: LocalCredentials, app: str) -> None:
    anyio.run(_round_trip_app, server, app)


async def test_a_slash_inside_a_user_id_stays_inside_its_path_segment(
    server: LocalCredentials,
) -> None:
    seed_account(server, "team/alice", "openai", {"api_key": "sk-property-0123456789"})
    async with _client(server) as client:
        [account] = await client.list_user_accounts("team/alice")
    assert account.external_id == "team/alice"


# -- the workflow URL policy ------------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        "https://",
        "http://",
        "HTTPS://",
        "//",
        "ftp://",
        "",
        "en1",
        "EN1.",
        "m.pipedream.net",
        ".m.pipedream.net",
        "m.pipedream.net.evil.com",
        "evil.com",
        "@",
        ":",
        ":443",
        ":8443",
        "/",
        "\\",
        "?",
        "#",
        "%2e",
        "%40",
        ".",
        "..",
        "[::1]",
        "127.0.0.1",
        "user:pw@",
        " ",
        "\uff0e",
        "\u3002",
        "xn--",
        "-",
        "localhost",
    ]
)
URLISH = st.one_of(st.lists(_PIECES, max_size=8).map("".join), ANY_TEXT)


@settings(max_examples=400, deadline=None)
@given(endpoint=URLISH)
@example(endpoint="https://en1xn--")  # once escaped as an IDNAError from `URL.host`
@example(endpoint="https://xn--en1-.m.pipedream.net/")
def test_every_url_the_policy_accepts_is_https_on_the_workflow_domain(endpoint: str) -> None:
    policy = WorkflowURLPolicy("m.pipedream.net")
    try:
        url = policy.resolve(endpoint)
    except (WorkflowURLRefusedError, InvalidArgumentError):
        return
    reparsed = httpx2.URL(str(url))  # what any later hop would read from the URL
    host = reparsed.raw_host.decode("ascii")
    assert reparsed.scheme == "https"
    assert reparsed.userinfo == b""
    assert reparsed.port is None
    assert host == "m.pipedream.net" or host.endswith(".m.pipedream.net")
