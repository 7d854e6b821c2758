"""The command line as a person and an MCP client use it: `serve` over stdio launched from
`mcp.json`, `serve --http` with its start-up banner, start-up refusals, and `token`."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import jwt
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from connect_mcp.cli import main
from tests.server.helpers import call, data
from tests.support import REPO, clean_env, connect_mcp_executable


async def test_stdio_server_launched_as_mcp_json_says(tmp_path: Path) -> None:
    entry = json.loads((REPO / "mcp.json").read_text())["mcpServers"]["connect-mcp"]
    assert entry["command"] == ".venv/bin/connect-mcp"
    command = entry["command"] if (REPO / entry["command"]).exists() else connect_mcp_executable()
    params = StdioServerParameters(
        command=command,
        args=entry["args"],
        env={**clean_env(tmp_path / "data"), **entry.get("env", {})},
        cwd=REPO,
    )
    async with Client(params) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        listing = await call(client, "list_accounts")
    assert len(tools) == 10
    assert data(listing)["accounts"] == []


async def test_output_schemas_setting_reaches_the_tool_list(tmp_path: Path) -> None:
    """`CONNECT_MCP_OUTPUT_SCHEMAS=true` publishes every tool's output schema (default: none,
    `tests/server/test_tools.py`)."""
    params = StdioServerParameters(
        command=connect_mcp_executable(),
        args=["serve", "--external-user-id", "schema-user"],
        env=clean_env(tmp_path / "data", CONNECT_MCP_OUTPUT_SCHEMAS="true"),
        cwd=tmp_path,
    )
    async with Client(params) as client:
        tools = (await client.list_tools()).tools
        listing = await call(client, "list_accounts")
    assert len(tools) == 10
    assert all((t.output_schema or {}).get("type") == "object" for t in tools)
    assert data(listing)["accounts"] == []


def _main(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *args: str, **env: str) -> int:
    """Run the command in-process (the refusals happen before any heavy import)."""
    for name in list(os.environ):
        if name.startswith(("CONNECT_MCP_", "PIPEDREAM_")):
            monkeypatch.delenv(name)
    for name, value in {"CONNECT_MCP_DATA_DIR": str(tmp_path / "data"), **env}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no stray .env
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return main(list(args))
    finally:  # `serve` configures process-wide logging; give the next test its own back
        root.handlers[:] = handlers
        root.setLevel(level)


def test_stdio_without_a_user_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _main(monkeypatch, tmp_path, "serve") == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "--external-user-id" in err
    assert "CONNECT_MCP_EXTERNAL_USER_ID" in err


def test_http_on_a_reachable_address_needs_a_configured_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No generated secret, and no printed write token, for a server others can reach."""
    code = _main(monkeypatch, tmp_path, "serve", "--http", "--host", "0.0.0.0", "--port", "0")
    out, err = capsys.readouterr()
    assert code == 2
    assert "CONNECT_MCP_JWT_SECRET" in err
    assert "Development token" not in out + err
    assert not (tmp_path / "mcp-dev-jwt-secret").exists()


def test_token_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "t" * 48
    code = _main(
        monkeypatch,
        tmp_path,
        "token",
        "--user",
        "alice",
        "--write",
        "--ttl",
        "2h",
        CONNECT_MCP_JWT_SECRET=secret,
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    claims = jwt.decode(out.strip(), secret, algorithms=["HS256"])
    assert (claims["sub"], claims["perm"]) == ("alice", "write")
    assert 7100 < claims["exp"] - claims["iat"] <= 7200
    assert (
        _main(monkeypatch, tmp_path, "token", "--user", "bob", CONNECT_MCP_JWT_SECRET=secret) == 0
    )
    read = capsys.readouterr().out
    assert jwt.decode(read.strip(), secret, algorithms=["HS256"])["perm"] == "read"


def test_cli_module_is_light() -> None:
    code = (
        "import sys, connect_mcp.cli as c; c.build_parser(); "
        "heavy = ('mcp', 'uvicorn', 'httpx2', 'connect_mcp.connect'); "
        "print([m for m in heavy if m in sys.modules])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert done.stdout.strip() == "[]"


async def test_http_banner_is_actionable(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [connect_mcp_executable(), "serve", "--http", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(tmp_path / "data"),
        cwd=REPO,
    )
    try:
        assert process.stderr is not None
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            lines.append(line)
            if line.startswith("Tokens for other users"):
                break
        banner = "".join(lines)
        url = re.search(r"URL: (http://127\.0\.0\.1:\d+/mcp)", banner)
        token = re.search(r"Authorization: Bearer (\S+)", banner)
        assert url, banner
        assert token, banner
        assert "embedded local Connect server" in banner
        assert "npx @modelcontextprotocol/inspector" in banner
        assert "curl" in banner
        assert str(tmp_path / "data" / "mcp-dev-jwt-secret") in banner
        http = httpx2.AsyncClient(headers={"authorization": f"Bearer {token[1]}"}, timeout=20)
        async with Client(streamable_http_client(url[1], http_client=http)) as client:
            assert len((await client.list_tools()).tools) == 10
            listing = await call(client, "list_accounts")
        assert data(listing)["accounts"] == []
    finally:
        process.terminate()
        process.wait(timeout=15)
    assert process.stdout is not None
    assert process.stdout.read() == ""


def test_dns_rebinding_allowlist_for_wildcard_binds() -> None:
    import socket

    from connect_mcp.config import Settings
    from connect_mcp.server.serve import transport_security

    loopback = transport_security("127.0.0.1", Settings())
    assert loopback.enable_dns_rebinding_protection
    assert "localhost:*" in loopback.allowed_hosts
    assert socket.gethostname() not in loopback.allowed_hosts
    wildcard = transport_security("0.0.0.0", Settings(allowed_hosts="mcp.example.com"))
    assert wildcard.enable_dns_rebinding_protection
    for host in ("127.0.0.1:*", socket.gethostname(), "mcp.example.com", "mcp.example.com:*"):
        assert host in wildcard.allowed_hosts
    assert "https://mcp.example.com" in wildcard.allowed_origins
    assert not transport_security(
        "0.0.0.0", Settings(allowed_hosts="*")
    ).enable_dns_rebinding_protection


@pytest.mark.parametrize(
    "raw", ["hooks.example.com, *.internal.example", '["hooks.example.com", "*.internal.example"]']
)
def test_list_settings_read_as_people_write_them(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    """Comma-separated (as the README shows) or a JSON list; a comma list used to crash start-up."""
    from connect_mcp.config import Settings

    monkeypatch.setenv("CONNECT_MCP_WORKFLOW_ALLOWLIST", raw)
    monkeypatch.setenv("CONNECT_MCP_WORKFLOW_OAUTH_ENDPOINTS", raw)
    settings = Settings()
    assert settings.workflow_allowlist == ["hooks.example.com", "*.internal.example"]
    assert settings.workflow_oauth_endpoints == ["hooks.example.com", "*.internal.example"]
