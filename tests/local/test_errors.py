"""401s, 404s, the environment header, and bad input that must change nothing."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from connect_mcp.local.embedded import LocalCredentials
from tests.support import (
    NOT_ORIGINS,
    access_token,
    api_headers,
    connect_token,
    http,
    seed_account,
)


def _url(creds: LocalCredentials, path: str) -> str:
    return f"{creds.base_url}/v1/connect/{creds.project_id}{path}"


PROJECT_ROUTES = [
    ("POST", "/tokens"),
    ("GET", "/accounts"),
    ("GET", "/accounts/apn_x"),
    ("DELETE", "/accounts/apn_x"),
    ("DELETE", "/apps/slack/accounts"),
    ("GET", "/users"),
    ("DELETE", "/users/someone"),
    ("GET", "/users/someone/accounts"),
    ("GET", "/projects/info"),
]


@pytest.mark.parametrize(("method", "path"), PROJECT_ROUTES)
@pytest.mark.parametrize(
    "authorization", [None, "Bearer", "Bearer not-a-token", "Basic abc", "bearer pdat_nope"]
)
def test_401_without_a_valid_bearer(
    local_server: LocalCredentials, method: str, path: str, authorization: str | None
) -> None:
    headers = {"x-pd-environment": "development"}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = http().request(method, _url(local_server, path), headers=headers, json={})
    assert response.status_code == 401
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize("path", ["/v1/connect/apps", "/v1/connect/apps/slack"])
def test_catalog_needs_a_token_too(local_server: LocalCredentials, path: str) -> None:
    response = http().get(local_server.base_url + path)
    assert response.status_code == 401


def test_expired_access_token_is_401(
    make_local_server: Callable[..., LocalCredentials], tmp_path: Path
) -> None:
    creds = make_local_server(data_dir=tmp_path / "exp")
    token = access_token(creds)
    assert http().get(_url(creds, "/users"), headers=api_headers(creds, token=token)).is_success
    # Only the clock can expire a token; move its expiry into the past in the database.
    with sqlite3.connect(tmp_path / "exp" / "connect.db") as db:
        db.execute("UPDATE access_tokens SET expires_at = 0")
    response = http().get(_url(creds, "/users"), headers=api_headers(creds, token=token))
    assert response.status_code == 401
    assert response.json() == {"error": "invalid or expired access token"}


@pytest.mark.parametrize(
    "body",
    [
        {"grant_type": "client_credentials", "client_id": "nope", "client_secret": "nope"},
        {"grant_type": "client_credentials", "client_id": "x"},
        {"grant_type": "password", "client_id": "x", "client_secret": "y"},
    ],
)
def test_oauth_token_bad_requests(local_server: LocalCredentials, body: dict[str, Any]) -> None:
    response = http().post(f"{local_server.base_url}/v1/oauth/token", json=body)
    assert response.status_code in (400, 401)
    assert set(response.json()) == {"error"}


def test_oauth_token_accepts_a_form(local_server: LocalCredentials) -> None:
    response = http().post(
        f"{local_server.base_url}/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": local_server.client_id,
            "client_secret": local_server.client_secret,
        },
    )
    assert response.status_code == 200


@pytest.mark.parametrize("env", [None, "", "staging", "Development"])
def test_environment_header_missing_or_unknown(
    local_server: LocalCredentials, env: str | None
) -> None:
    headers = {"Authorization": f"Bearer {access_token(local_server)}"}
    if env is not None:
        headers["x-pd-environment"] = env
    response = http().get(_url(local_server, "/accounts"), headers=headers)
    assert response.status_code == 400
    assert "x-pd-environment" in response.json()["error"]


def test_404s(local_server: LocalCredentials) -> None:
    headers = api_headers(local_server)
    for method, path in [
        ("GET", "/accounts/apn_missing"),
        ("DELETE", "/accounts/apn_missing"),
        ("DELETE", f"/users/{uuid4().hex}"),
        ("DELETE", "/apps/no_such_app/accounts"),
    ]:
        response = http().request(method, _url(local_server, path), headers=headers)
        assert response.status_code == 404, path
        assert response.json() == {"error": "record not found"}
    other = http().get(f"{local_server.base_url}/v1/connect/proj_other/accounts", headers=headers)
    assert other.status_code == 404
    app = http().get(f"{local_server.base_url}/v1/connect/apps/no_such_app", headers=headers)
    assert app.status_code == 404
    assert app.json() == {"error": "record not found"}
    unknown = http().get(f"{local_server.base_url}/v2/whatever", headers=headers)
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "record not found"}


def test_a_user_with_no_accounts_has_an_empty_list(local_server: LocalCredentials) -> None:
    response = http().get(
        _url(local_server, f"/users/{uuid4().hex}/accounts"), headers=api_headers(local_server)
    )
    assert response.status_code == 200
    assert response.json() == []


# -- bad input: a clear 400 and nothing changed ----------------------------------------------


def _snapshot(creds: LocalCredentials, user: str) -> tuple[Any, Any]:
    headers = api_headers(creds)
    accounts = (
        http()
        .get(_url(creds, "/accounts"), params={"external_user_id": user}, headers=headers)
        .json()
    )
    users = http().get(_url(creds, "/users"), params={"q": user}, headers=headers).json()
    return accounts, users


@pytest.mark.parametrize("origin", NOT_ORIGINS)
def test_allowed_origins_must_be_origins(local_server: LocalCredentials, origin: str) -> None:
    """They become the Connect page's CSP frame-ancestors (see connect_mcp/origins.py)."""
    response = http().post(
        _url(local_server, "/tokens"),
        json={"external_user_id": "u", "allowed_origins": ["https://ok.example.com", origin]},
        headers=api_headers(local_server),
    )
    assert response.status_code == 400, origin
    assert "is not an origin: an origin is scheme://host[:port]" in response.json()["error"]


def test_allowed_origins_are_capped(local_server: LocalCredentials) -> None:
    origins = [f"https://a{i}.example.com" for i in range(51)]
    response = http().post(
        _url(local_server, "/tokens"),
        json={"external_user_id": "u", "allowed_origins": origins},
        headers=api_headers(local_server),
    )
    assert response.status_code == 400
    assert "at most 50" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "external_user_id"),
        ({"external_user_id": ""}, "must not be empty"),
        ({"external_user_id": "x" * 251}, "at most 250"),
        ({"external_user_id": 42}, "must be a string"),
        ({"external_user_id": "u", "expires_in": 14401}, "expires_in"),
        ({"external_user_id": "u", "expires_in": "60"}, "expires_in"),
        ({"external_user_id": "u", "expires_in": True}, "expires_in"),
        ({"external_user_id": "u", "success_redirect_uri": "javascript:alert(1)"}, "URL"),
        ({"external_user_id": "u", "allowed_origins": "https://a.example"}, "allowed_origins"),
        ({"external_user_id": "u", "webhook_uri": "http://[::1"}, "URL"),
        ({"external_user_id": "u", "success_redirect_uri": "http://h:port/"}, "URL"),
    ],
)
def test_bad_token_requests(
    local_server: LocalCredentials, body: dict[str, Any], message: str
) -> None:
    response = http().post(
        _url(local_server, "/tokens"), json=body, headers=api_headers(local_server)
    )
    assert response.status_code == 400
    assert message in response.json()["error"]


@pytest.mark.parametrize(
    "raw", [b"{not json", b"[1, 2]", b"", b'"text"', b"\xff\xfe", b"[" * 100_000, b" " * 300_000]
)
def test_malformed_bodies(local_server: LocalCredentials, raw: bytes) -> None:
    headers = {**api_headers(local_server), "content-type": "application/json"}
    response = http().post(_url(local_server, "/tokens"), content=raw, headers=headers)
    if len(raw) > 256 * 1024:  # over the body limit: refused as too large, unread
        assert response.status_code == 413
        assert "larger than" in response.json()["error"]
    else:
        assert response.status_code == 400
        assert "JSON" in response.json()["error"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"after": "garbage!"}, "cursor"),
        ({"before": "c2VxOmFiYw"}, "cursor"),
        ({"include_credentials": "yes"}, "include_credentials"),
        ({"app": "no_such_app"}, "unknown app"),
        ({"oauth_app_id": "oa_nope"}, "oauth_app_id"),
        ({"external_user_id": "x" * 251}, "250"),
    ],
)
def test_bad_list_parameters(
    local_server: LocalCredentials, params: dict[str, str], message: str
) -> None:
    response = http().get(
        _url(local_server, "/accounts"), params=params, headers=api_headers(local_server)
    )
    assert response.status_code == 400
    assert message in response.json()["error"]


def _create(creds: LocalCredentials, body: dict[str, Any], env: str = "development") -> Any:
    return http().post(_url(creds, "/accounts"), json=body, headers={"x-pd-environment": env})


@pytest.mark.parametrize(
    ("app", "cfmap", "message"),
    [
        ("no_such_app", "{}", "unknown app"),
        ("openai", "{not json", "malformed JSON in cfmap_json"),
        ("openai", "[]", "JSON object"),
        ("openai", json.dumps({"api_key": 5}), "must be strings"),
        ("openai", json.dumps({"organization": "o"}), "missing credential field(s)"),
        ("openai", json.dumps({"api_key": "k", "password": "p"}), "unknown credential"),
        ("github", json.dumps({"oauth_refresh_token": "r"}), "oauth_access_token"),
    ],
)
def test_bad_account_creation_changes_nothing(
    local_server: LocalCredentials, app: str, cfmap: str, message: str
) -> None:
    user = uuid4().hex
    ctok = connect_token(local_server, user)["token"]
    before = _snapshot(local_server, user)
    response = _create(local_server, {"app_slug": app, "cfmap_json": cfmap, "connect_token": ctok})
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert _snapshot(local_server, user) == before
    # The token was not spent by the failed attempt.
    ok = _create(
        local_server,
        {"app_slug": "openai", "cfmap_json": '{"api_key": "k"}', "connect_token": ctok},
    )
    assert ok.status_code == 200


def test_connect_token_is_single_use(local_server: LocalCredentials) -> None:
    user = uuid4().hex
    ctok = connect_token(local_server, user)["token"]
    body = {"app_slug": "stripe", "cfmap_json": '{"api_key": "sk_test"}', "connect_token": ctok}
    assert _create(local_server, body).status_code == 200
    again = _create(local_server, body)
    assert again.status_code == 401
    assert "already been used" in again.json()["error"]
    accounts, _ = _snapshot(local_server, user)
    assert accounts["page_info"]["total_count"] == 1


def test_connect_token_bound_to_its_environment(local_server: LocalCredentials) -> None:
    user = uuid4().hex
    ctok = connect_token(local_server, user, environment="production")["token"]
    body = {"app_slug": "stripe", "cfmap_json": '{"api_key": "sk"}', "connect_token": ctok}
    response = _create(local_server, body, env="development")
    assert response.status_code == 400
    assert "production" in response.json()["error"]
    forged = _create(local_server, {**body, "connect_token": "ctok_" + "a" * 32})
    assert forged.status_code == 401


def test_bad_user_deletion_changes_nothing(local_server: LocalCredentials) -> None:
    user = uuid4().hex
    seed_account(local_server, user, "openai", {"api_key": "k"})
    before = _snapshot(local_server, user)
    response = http().delete(
        _url(local_server, f"/users/{'x' * 251}"), headers=api_headers(local_server)
    )
    assert response.status_code == 400
    assert _snapshot(local_server, user) == before


def test_one_token_one_account_even_across_two_servers(
    make_local_server: Callable[..., LocalCredentials], tmp_path: Path
) -> None:
    """Two servers on one data dir (embedded + standalone) race the same connect token."""
    from concurrent.futures import ThreadPoolExecutor

    first = make_local_server(data_dir=tmp_path / "shared")
    second = make_local_server(data_dir=tmp_path / "shared")
    assert (first.project_id, first.client_id) == (second.project_id, second.client_id)
    statuses: list[int] = []
    for _ in range(5):
        ctok = connect_token(first, "racer")["token"]
        body = {"app_slug": "stripe", "cfmap_json": '{"api_key": "sk"}', "connect_token": ctok}
        with ThreadPoolExecutor(4) as pool:
            results = list(
                pool.map(lambda c, b=body: _create(c, b), [first, second, first, second])
            )
        statuses += sorted(r.status_code for r in results)
    assert statuses == [200, 401, 401, 401] * 5
    accounts, _ = _snapshot(second, "racer")
    assert accounts["page_info"]["total_count"] == 5


@pytest.mark.parametrize(
    ("path", "body", "auth"),
    [
        (
            "/v1/oauth/token",
            '{"grant_type": "client_credentials", "client_id": "c", "client_secret": "\\ud800"}',
            False,
        ),
        ("/tokens", '{"external_user_id": "u\\udfff"}', True),
        (
            "/accounts",
            '{"app_slug": "openai", "cfmap_json": "{}", "connect_token": "ctok_\\ud800"}',
            False,
        ),
    ],
)
def test_a_lone_surrogate_escape_is_a_400_not_a_500(
    local_server: LocalCredentials, path: str, body: str, auth: bool
) -> None:
    """Valid JSON that no UTF-8 string can hold; it used to fail deep inside (digest, SQLite)."""
    url = f"{local_server.base_url}{path}" if path.startswith("/v1/") else _url(local_server, path)
    headers = {"content-type": "application/json", "x-pd-environment": "development"}
    if auth:
        headers |= api_headers(local_server)
    response = http().post(url, content=body.encode(), headers=headers)
    assert response.status_code == 400, response.text
    assert "surrogate" in response.json()["error"]
