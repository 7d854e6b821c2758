"""Helpers every test layer uses against the local Connect server (sync, real HTTP)."""

from __future__ import annotations

import json
from typing import Any

import httpx2

from connect_mcp.local.embedded import LocalCredentials

TIMEOUT = 10.0
_client: httpx2.Client | None = None

#: Values that are not web origins (`connect_mcp.origins`) but look close to one: each would
#: widen the Connect page's CSP frame-ancestors or break out of the header.
NOT_ORIGINS = [
    "*",
    "https:",
    "'self'",
    "https://*.example.com",
    "https://app.example.com/",
    "https://app.example.com/path",
    "https://app.example.com?x=1",
    "https://app.example.com#x",
    "https://user@app.example.com",
    "https://app.example.com; script-src *",
    "https://app.example.com https://evil.example",
    "https://app.example.com,https://evil.example",
    "https://app.example.com\n",
    " https://app.example.com",
    "javascript://app.example.com",
    "data:text/html,x",
    "ftp://app.example.com",
    "https://app_x.example.com",
    "https://-app.example.com",
    "https://app..example.com",
    "https://app.example.com:0",
    "https://app.example.com:99999",
    "https://[::1",
    "https://[not:an:ip]",
    "https://\u00e4pp.example.com",
    "app.example.com",
]


def http() -> httpx2.Client:
    """One shared client: building one per call costs more than the request itself."""
    global _client
    if _client is None:
        _client = httpx2.Client(timeout=TIMEOUT)
    return _client


def access_token(creds: LocalCredentials) -> str:
    """A fresh OAuth access token for the project's client (POST /v1/oauth/token)."""
    response = http().post(
        f"{creds.base_url}/v1/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
        },
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def api_headers(
    creds: LocalCredentials, *, environment: str = "development", token: str | None = None
) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token or access_token(creds)}",
        "x-pd-environment": environment,
    }


def connect_token(
    creds: LocalCredentials,
    external_user_id: str,
    *,
    environment: str = "development",
    token: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """POST …/tokens; returns `{token, expires_at, connect_link_url}`."""
    response = http().post(
        f"{creds.base_url}/v1/connect/{creds.project_id}/tokens",
        json={"external_user_id": external_user_id, **extra},
        headers=api_headers(creds, environment=environment, token=token),
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def seed_account(
    creds: LocalCredentials,
    external_user_id: str,
    app_slug: str,
    credentials: dict[str, str],
    *,
    environment: str = "development",
    name: str | None = None,
) -> dict[str, Any]:
    """Connect an account the way the Connect Link page does; returns the Account JSON."""
    token = access_token(creds)
    ctok = connect_token(creds, external_user_id, environment=environment, token=token)["token"]
    response = http().post(
        f"{creds.base_url}/v1/connect/{creds.project_id}/accounts",
        json={
            "app_slug": app_slug,
            "cfmap_json": json.dumps(credentials),
            "connect_token": ctok,
            "name": name,
        },
        headers={"x-pd-environment": environment},
    )
    if response.status_code != 200:
        raise AssertionError(f"seed_account failed: {response.status_code} {response.text}")
    account: dict[str, Any] = response.json()
    return account
