"""Environment separation and rate limits (with limits set low)."""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import uuid4

from connect_mcp.local.embedded import LocalCredentials
from tests.support import access_token, api_headers, http, seed_account


def _url(creds: LocalCredentials, path: str) -> str:
    return f"{creds.base_url}/v1/connect/{creds.project_id}{path}"


def test_environments_never_mix(local_server: LocalCredentials) -> None:
    user = uuid4().hex
    dev = seed_account(local_server, user, "openai", {"api_key": "dev-key"})
    prod = seed_account(
        local_server, user, "openai", {"api_key": "prod-key"}, environment="production"
    )
    token = access_token(local_server)
    for env, mine, other in [("development", dev, prod), ("production", prod, dev)]:
        headers = api_headers(local_server, environment=env, token=token)
        listed = (
            http()
            .get(
                _url(local_server, "/accounts"), params={"external_user_id": user}, headers=headers
            )
            .json()
        )
        assert [a["id"] for a in listed["data"]] == [mine["id"]]
        assert (
            http().get(_url(local_server, f"/accounts/{other['id']}"), headers=headers).status_code
            == 404
        )
        assert (
            http()
            .delete(_url(local_server, f"/accounts/{other['id']}"), headers=headers)
            .status_code
            == 404
        )
        users = http().get(_url(local_server, "/users"), params={"q": user}, headers=headers)
        assert [u["external_id"] for u in users.json()["data"]] == [user]
    # Deleting the user in production leaves the development user and account alone.
    prod_headers = api_headers(local_server, environment="production", token=token)
    assert (
        http().delete(_url(local_server, f"/users/{user}"), headers=prod_headers).status_code == 204
    )
    dev_headers = api_headers(local_server, token=token)
    got = http().get(
        _url(local_server, f"/accounts/{dev['id']}"),
        params={"include_credentials": "true"},
        headers=dev_headers,
    )
    assert got.json()["credentials"] == {"api_key": "dev-key"}


def _assert_throttled(response: object) -> None:
    from httpx2 import Response

    assert isinstance(response, Response)
    assert response.status_code == 429
    assert response.json() == {"error": "Throttled"}
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["X-RateLimit-Limit"]
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Reset"]) >= int(time.time())


def test_token_limit_is_per_external_user(
    make_local_server: Callable[..., LocalCredentials],
) -> None:
    creds = make_local_server(token_rate_per_minute=3)
    headers = api_headers(creds)
    for i in range(3):
        ok = http().post(
            _url(creds, "/tokens"), json={"external_user_id": "alice"}, headers=headers
        )
        assert ok.status_code == 200
        assert ok.headers["X-RateLimit-Remaining"] == str(2 - i)
    throttled = http().post(
        _url(creds, "/tokens"), json={"external_user_id": "alice"}, headers=headers
    )
    _assert_throttled(throttled)
    assert 55 <= int(throttled.headers["Retry-After"]) <= 60
    other = http().post(_url(creds, "/tokens"), json={"external_user_id": "bob"}, headers=headers)
    assert other.status_code == 200


def test_account_limit_is_per_project_and_window(
    make_local_server: Callable[..., LocalCredentials],
) -> None:
    creds = make_local_server(account_rate_per_window=4, account_rate_window_seconds=0.5)
    account = seed_account(creds, "carol", "openai", {"api_key": "k"})
    headers = api_headers(creds)
    calls = [
        ("GET", "/accounts"),
        ("GET", f"/accounts/{account['id']}"),
        ("GET", "/users/carol/accounts"),
        ("DELETE", "/accounts/apn_missing"),  # deletes count too, even a 404
    ]
    for method, path in calls:
        assert http().request(method, _url(creds, path), headers=headers).status_code != 429
    _assert_throttled(http().get(_url(creds, "/accounts"), headers=headers))
    # The limit throttled; nothing was deleted behind it.
    _assert_throttled(http().delete(_url(creds, f"/accounts/{account['id']}"), headers=headers))
    # Other routes are not account reads and keep working.
    assert http().get(_url(creds, "/users"), headers=headers).status_code == 200
    time.sleep(0.55)
    after = http().get(_url(creds, f"/accounts/{account['id']}"), headers=headers)
    assert after.status_code == 200
