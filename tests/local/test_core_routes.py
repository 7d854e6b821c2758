"""The OAuth token, connect token and account routes over real HTTP."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import httpx2
import pytest

from connect_mcp.local.embedded import EmbeddedServer, LocalCredentials
from tests.support import access_token, api_headers, connect_token, seed_account


def _url(creds: LocalCredentials, path: str) -> str:
    return f"{creds.base_url}/v1/connect/{creds.project_id}{path}"


def test_oauth_token_shape(local_server: LocalCredentials) -> None:
    response = httpx2.post(
        f"{local_server.base_url}/v1/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": local_server.client_id,
            "client_secret": local_server.client_secret,
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert isinstance(body["access_token"], str)
    assert len(body["access_token"]) > 20


def test_oauth_token_rejects_bad_secret(local_server: LocalCredentials) -> None:
    response = httpx2.post(
        f"{local_server.base_url}/v1/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": local_server.client_id,
            "client_secret": local_server.client_secret + "x",
        },
    )
    assert response.status_code == 401
    assert response.json() == {"error": "invalid client credentials"}


def test_connect_token_shape(local_server: LocalCredentials) -> None:
    before = datetime.now(UTC)
    body = connect_token(local_server, uuid4().hex)
    assert re.fullmatch(r"ctok_[0-9a-f]{32}", body["token"])
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert 4 * 3600 - 5 <= (expires - before).total_seconds() <= 4 * 3600 + 5
    assert body["connect_link_url"] == (
        f"{local_server.base_url}/_static/connect.html?token={body['token']}&connectLink=true"
    )


def test_seed_then_list_get_delete(local_server: LocalCredentials) -> None:
    user = uuid4().hex
    account = seed_account(local_server, user, "openai", {"api_key": "sk-test-123"}, name="mine")
    assert account["id"].startswith("apn_")
    assert account["external_id"] == user
    assert account["name"] == "mine"
    assert account["app"]["name_slug"] == "openai"
    assert "credentials" not in account
    headers = api_headers(local_server)

    listed = httpx2.get(
        _url(local_server, "/accounts"), params={"external_user_id": user}, headers=headers
    ).json()
    assert [a["id"] for a in listed["data"]] == [account["id"]]
    assert listed["page_info"]["count"] == 1
    assert listed["page_info"]["total_count"] == 1

    got = httpx2.get(
        _url(local_server, f"/accounts/{account['id']}"),
        params={"include_credentials": "true"},
        headers=headers,
    )
    assert got.status_code == 200
    assert got.json()["credentials"] == {"api_key": "sk-test-123"}

    deleted = httpx2.delete(_url(local_server, f"/accounts/{account['id']}"), headers=headers)
    assert deleted.status_code == 204
    again = httpx2.get(_url(local_server, f"/accounts/{account['id']}"), headers=headers)
    assert again.status_code == 404
    assert again.json() == {"error": "record not found"}


def test_access_token_helper(local_server: LocalCredentials) -> None:
    assert access_token(local_server) != access_token(local_server)


def test_embedded_server_is_quick_and_silent_on_stdout(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The stdio MCP transport owns stdout, so the embedded server must never write there."""
    started = time.perf_counter()
    server = EmbeddedServer(tmp_path / "quiet")
    creds = server.start()
    assert time.perf_counter() - started < 2.0
    assert server.start() is creds  # idempotent
    seed_account(creds, "quiet", "openai", {"api_key": "k"})
    httpx2.get(f"{creds.base_url}/nowhere")
    server.stop()
    server.stop()
    out, _err = capfd.readouterr()
    assert out == ""
    # Stopped means stopped: the port no longer answers.
    with pytest.raises(httpx2.TransportError):
        httpx2.get(f"{creds.base_url}/v1/connect/apps", timeout=2)


@pytest.mark.parametrize(
    "user", ["team/alice", "a%2Fb", "100% sure", "q?x=1#frag", "émile 漢字", "a+b", ".hidden"]
)
def test_odd_external_user_ids_stay_in_their_segment(
    local_server: LocalCredentials, user: str
) -> None:
    """Ids are percent-encoded by clients; a `/` inside one must not split the path."""
    from urllib.parse import quote

    account = seed_account(local_server, user, "openai", {"api_key": "k"})
    assert account["external_id"] == user
    headers = api_headers(local_server)
    segment = quote(user, safe="")
    mine = httpx2.get(_url(local_server, f"/users/{segment}/accounts"), headers=headers)
    assert mine.status_code == 200, mine.text
    assert [a["id"] for a in mine.json()] == [account["id"]]
    gone = httpx2.delete(_url(local_server, f"/users/{segment}"), headers=headers)
    assert gone.status_code == 204
    assert (
        httpx2.get(_url(local_server, f"/accounts/{account['id']}"), headers=headers).status_code
        == 404
    )
