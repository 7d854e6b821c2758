"""`serve --http --dev-user U`: the development mode that needs no token, and its fences.

Why each test exists: with no token, the socket itself is the credential, so the mode must be
explicit (no default, no environment variable turns it on), loopback-only, still protected
against DNS rebinding (a page in the developer's browser can reach 127.0.0.1), loud on stderr,
and bound to exactly one user with write permission - never to whatever a request claims.

The server runs as a real process (`connect-mcp serve`) against the session's local Connect
server (through PIPEDREAM_* settings), so the test can seed accounts for U and for someone else.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from connect_mcp.cli import build_parser
from connect_mcp.config import Settings
from connect_mcp.local.embedded import LocalCredentials
from connect_mcp.server.dev_auth import is_loopback
from tests.server.helpers import ERAS, call, data
from tests.support import (
    INITIALIZE,
    MCP_HTTP_HEADERS,
    backend_env,
    clean_env,
    connect_mcp_executable,
    seed_account,
    start_connect_mcp,
    stop_process,
)

pytestmark = pytest.mark.timeout(90)

KEY = {"api_key": "sk-dev-user-0123456789abcdef"}


def _run(tmp: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [connect_mcp_executable(), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(tmp / "data", **env),
        cwd=tmp,
        check=False,
    )


@dataclass(frozen=True)
class Running:
    url: str
    user: str
    stderr: str
    stdout_path: Path


@pytest.fixture(scope="module")
def dev_server(
    local_server: LocalCredentials, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("dev-user")
    user = f"dev-{uuid4().hex}"
    process, banner = start_connect_mcp(
        tmp,
        ["serve", "--http", "--port", "0", "--dev-user", user],
        clean_env(tmp / "data", **backend_env(local_server)),
        until="Transport Type: Streamable HTTP",
    )
    try:
        url = re.search(r"URL: (http://127\.0\.0\.1:\d+/mcp)", banner)
        assert url, banner
        yield Running(url[1], user, banner, tmp / "stdout.log")
    finally:
        stop_process(process)


def test_start_up_says_so_loudly(dev_server: Running) -> None:
    banner = dev_server.stderr
    assert "WARNING: DEVELOPMENT MODE (--dev-user) - NO AUTHENTICATION" in banner
    assert f"acts for user {dev_server.user!r} with WRITE" in banner
    assert "Never use this for a deployment" in banner
    assert "Authorization: Bearer" not in banner  # no token banner: none is needed or checked
    assert dev_server.stdout_path.read_text() == ""


@pytest.mark.parametrize("mode", ERAS)
async def test_every_request_acts_for_the_dev_user_with_write(
    dev_server: Running, local_server: LocalCredentials, mode: str
) -> None:
    mine = seed_account(local_server, dev_server.user, "openai", KEY)["id"]
    theirs = seed_account(local_server, f"other-{uuid4().hex}", "openai", KEY)["id"]
    async with Client(streamable_http_client(dev_server.url), mode=mode) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        listing = await call(client, "list_accounts")
        link = await call(client, "create_connect_link", {"app": "openai"})
    assert "delete_account" in tools  # write permission: the write tools are listed
    assert len(tools) == 10
    ids = {a["id"] for a in data(listing)["accounts"]}
    assert mine in ids
    assert theirs not in ids
    assert not link.is_error
    assert data(link)["url"].startswith(local_server.base_url)


async def test_a_bearer_token_cannot_pick_another_user(
    dev_server: Running, local_server: LocalCredentials
) -> None:
    """Tokens are not read at all in this mode: a header naming someone else changes nothing."""
    other = f"other-{uuid4().hex}"
    theirs = seed_account(local_server, other, "openai", KEY)["id"]
    http = httpx2.AsyncClient(headers={"authorization": f"Bearer {other}"}, timeout=20)
    async with Client(streamable_http_client(dev_server.url, http_client=http)) as client:
        listing = await call(client, "list_accounts")
    assert theirs not in {a["id"] for a in data(listing)["accounts"]}


@pytest.mark.parametrize(
    ("header", "value", "status"),
    [("host", "evil.example", 421), ("origin", "http://evil.example", 403)],
)
def test_dns_rebinding_protection_stays_on(
    dev_server: Running, header: str, value: str, status: int
) -> None:
    response = httpx2.post(
        dev_server.url, json=INITIALIZE, headers={**MCP_HTTP_HEADERS, header: value}, timeout=10
    )
    assert response.status_code == status
    ok = httpx2.post(dev_server.url, json=INITIALIZE, headers=MCP_HTTP_HEADERS, timeout=10)
    assert ok.status_code == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3"])
def test_non_loopback_binds_are_refused(tmp_path: Path, host: str) -> None:
    done = _run(tmp_path, "serve", "--http", "--dev-user", "u", "--host", host)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "--dev-user" in done.stderr
    assert f"refusing --host {host}" in done.stderr
    assert "loopback" in done.stderr


@pytest.mark.parametrize("allowed", ["*", "localhost,tunnel.example:*"])
def test_allowed_hosts_cannot_widen_the_host_check(tmp_path: Path, allowed: str) -> None:
    done = _run(tmp_path, "serve", "--http", "--dev-user", "u", CONNECT_MCP_ALLOWED_HOSTS=allowed)
    assert done.returncode == 2
    assert "DNS-rebinding" in done.stderr
    assert "CONNECT_MCP_ALLOWED_HOSTS" in done.stderr


def test_dev_user_is_for_http_only(tmp_path: Path) -> None:
    done = _run(tmp_path, "serve", "--dev-user", "u")
    assert done.returncode == 2
    assert "--dev-user is for --http" in done.stderr


def test_an_overlong_dev_user_is_refused(tmp_path: Path) -> None:
    done = _run(tmp_path, "serve", "--http", "--dev-user", "u" * 251)
    assert done.returncode == 2
    assert "1-250 characters" in done.stderr


def test_never_on_by_default() -> None:
    """Only the flag turns it on: no default, and no setting a deployment could inherit."""
    assert build_parser().parse_args(["serve", "--http"]).dev_user is None
    assert not [name for name in Settings.model_fields if "dev" in name]


def test_an_environment_variable_does_not_turn_it_on(
    tmp_path: Path, local_server: LocalCredentials
) -> None:
    env = {**backend_env(local_server), "CONNECT_MCP_DEV_USER": "mallory"}
    process, banner = start_connect_mcp(
        tmp_path,
        ["serve", "--http", "--port", "0"],
        clean_env(tmp_path / "data", **env),
        until="Tokens for other users",
    )
    try:
        url = re.search(r"URL: (http://127\.0\.0\.1:\d+/mcp)", banner)
        assert url, banner
        response = httpx2.post(url[1], json=INITIALIZE, headers=MCP_HTTP_HEADERS, timeout=10)
    finally:
        stop_process(process)
    assert response.status_code == 401
    assert "DEVELOPMENT MODE" not in banner


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.2", False),
        ("localhost.example.com", False),
        ("", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
