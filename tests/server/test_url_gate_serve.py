"""`CONNECT_MCP_CONFIRM=url` as an operator runs it: `connect-mcp serve` in its own process.

Over stdio the server starts its own loopback page server (stdout stays the protocol); over
streamable HTTP the pages are served by the same app as `/mcp`, on the same port, without the
bearer token a browser does not have. Each test deletes an account only after a "person"
(an HTTP client pressing the page's button) confirms on that page.
"""

from __future__ import annotations

import re
from pathlib import Path
from uuid import uuid4

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ElicitRequestURLParams

from connect_mcp.local.embedded import LocalCredentials
from tests.server.helpers import ERAS, data, text
from tests.server.test_url_gate import person
from tests.support import (
    backend_env,
    clean_env,
    connect_mcp_executable,
    seed_account,
    start_connect_mcp,
    stop_process,
)

pytestmark = pytest.mark.timeout(90)
KEY = {"api_key": "sk-test-0123456789abcdef"}


@pytest.mark.parametrize("mode", ERAS)
async def test_stdio_serves_its_own_confirmation_pages(
    local_server: LocalCredentials, tmp_path: Path, mode: str
) -> None:
    user = f"user-{uuid4().hex}"
    target = seed_account(local_server, user, "openai", KEY)["id"]
    params = StdioServerParameters(
        command=connect_mcp_executable(),
        args=["serve", "--external-user-id", user],
        env=clean_env(tmp_path / "data", CONNECT_MCP_CONFIRM="url", **backend_env(local_server)),
        cwd=tmp_path,
    )
    seen: list[ElicitRequestURLParams] = []
    async with Client(params, mode=mode, elicitation_callback=person("confirm", seen)) as client:
        result = await client.call_tool("delete_account", {"account_id": target})
        listing = await client.call_tool("list_accounts", {})
    assert data(result)["deleted_ids"] == [target], text(result)
    assert data(listing)["accounts"] == []
    [asked] = seen
    url = asked.url
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/confirm/[A-Za-z0-9_-]{32}", url)


@pytest.mark.parametrize("mode", ERAS)
async def test_http_serves_the_pages_beside_mcp(
    local_server: LocalCredentials, tmp_path: Path, mode: str
) -> None:
    user = f"dev-{uuid4().hex}"
    target = seed_account(local_server, user, "openai", KEY)["id"]
    process, banner = start_connect_mcp(
        tmp_path,
        ["serve", "--http", "--port", "0", "--dev-user", user],
        clean_env(tmp_path / "data", CONNECT_MCP_CONFIRM="url", **backend_env(local_server)),
        until="Transport Type: Streamable HTTP",
    )
    try:
        assert "CONNECT_MCP_CONFIRM=url" in banner
        found = re.search(r"URL: (http://127\.0\.0\.1:(\d+)/mcp)", banner)
        assert found, banner
        seen: list[ElicitRequestURLParams] = []
        callback = person("confirm", seen)
        async with Client(
            streamable_http_client(found[1]),
            mode=mode,
            elicitation_callback=callback,
        ) as client:
            result = await client.call_tool("delete_account", {"account_id": target})
    finally:
        stop_process(process)
    assert data(result)["deleted_ids"] == [target], text(result)
    [asked] = seen
    url = asked.url
    assert url.startswith(f"http://127.0.0.1:{found[2]}/confirm/")
