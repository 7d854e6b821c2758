"""Helpers every test layer uses: the local Connect server over real HTTP (sync), the
`connect-mcp` executable and a clean environment for its subprocesses, and what to do when a
part the tests need (Chromium, Node, npm) is missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import httpx2
import pytest

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


# -- subprocesses, raw MCP requests, and missing parts ---------------------------------

REPO = Path(__file__).resolve().parents[1]
#: Set to 1 (`.ci/run` does) to turn a skip for a missing part into a failure.
REQUIRE_ALL = "CONNECT_MCP_REQUIRE_ALL"
#: The ten tools, as a client must see them (spelled out, not read from the code under test).
TOOL_NAMES = frozenset(
    {
        "create_connect_link",
        "list_accounts",
        "get_account",
        "delete_account",
        "delete_app_accounts",
        "delete_user",
        "list_apps",
        "get_app",
        "get_project_info",
        "invoke_workflow",
    }
)
#: What a stock client sends with every Streamable HTTP POST.
MCP_HTTP_HEADERS = {
    "content-type": "application/json",
    "accept": "application/json, text/event-stream",
}
#: A stock client's first request on the 2025-11-25 wire.
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"},
    },
}


def connect_mcp_executable() -> str:
    """The `connect-mcp` of this checkout's `.venv` (what the README and mcp.json use), else the
    one next to the running interpreter."""
    local = REPO / ".venv" / "bin" / "connect-mcp"
    return str(local) if local.exists() else str(Path(sys.executable).parent / "connect-mcp")


def clean_env(data_dir: Path | None = None, **extra: str) -> dict[str, str]:
    """A minimal environment for a subprocess: PATH, HOME, LANG and TMPDIR only, so no
    PIPEDREAM_* (a real project) and no CONNECT_MCP_* setting of the developer's shell leaks
    in; `CONNECT_MCP_DATA_DIR` is `data_dir` when given; `extra` is added last."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    data = {"CONNECT_MCP_DATA_DIR": str(data_dir)} if data_dir is not None else {}
    return {**keep, **data, **extra}


def backend_env(creds: LocalCredentials) -> dict[str, str]:
    """The PIPEDREAM_* settings that point a `connect-mcp` process at a local server."""
    return {
        "PIPEDREAM_BASE_URL": creds.base_url,
        "PIPEDREAM_PROJECT_ID": creds.project_id,
        "PIPEDREAM_CLIENT_ID": creds.client_id,
        "PIPEDREAM_CLIENT_SECRET": creds.client_secret,
    }


def missing_part(reason: str) -> NoReturn:
    """A part this machine lacks (Chromium, Node.js, npm, the npm registry): a skip saying why on
    a developer's machine; a failure when `CONNECT_MCP_REQUIRE_ALL=1` (set by `.ci/run`), so CI
    never goes green with tests silently skipped."""
    if os.environ.get(REQUIRE_ALL) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ALL}=1: every part is required)", pytrace=False)
    pytest.skip(reason)


def start_connect_mcp(
    tmp: Path, args: Sequence[str], env: dict[str, str], until: str, timeout: float = 30.0
) -> tuple[subprocess.Popen[bytes], str]:
    """Start `connect-mcp ARGS` in `tmp` (stdout and stderr to files there) and wait until its
    stderr shows `until`; returns the process and the stderr so far. Fails the test if it exits
    or does not get there in time."""
    err_path, out_path = tmp / "stderr.log", tmp / "stdout.log"
    with err_path.open("wb") as err, out_path.open("wb") as out:
        process = subprocess.Popen(
            [connect_mcp_executable(), *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            cwd=tmp,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = err_path.read_text(errors="replace")
        if until in text:
            return process, text
        if process.poll() is not None:
            pytest.fail(
                f"connect-mcp {' '.join(args)} exited with {process.returncode}:\n{text[-2000:]}"
            )
        time.sleep(0.05)
    stop_process(process)
    pytest.fail(f"connect-mcp {' '.join(args)} did not print {until!r} within {timeout:.0f} s")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate, and kill if it does not end in 15 s."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def npm_install(npm: str, args: Sequence[str], *, cwd: Path | None, timeout: float) -> None:
    """`npm install ARGS`: a registry that cannot be reached (or an install slower than
    `timeout`) is a missing part; any other failure fails the test."""
    try:
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        missing_part(
            f"npm install {' '.join(args)} took over {timeout:.0f} s (registry unreachable?)"
        )
    if done.returncode != 0:
        if not npm_registry_reachable(npm):
            missing_part(f"the npm registry is unreachable: {done.stderr[-300:]}")
        pytest.fail(f"npm install {' '.join(args)} failed:\n{done.stderr[-2000:]}")


def npm_registry_reachable(npm: str) -> bool:
    """Whether `npm ping` gets an answer: tells "the registry is down" (a missing part) from
    an install that fails for a reason of ours (a test failure)."""
    try:
        done = subprocess.run(
            [npm, "ping"], capture_output=True, text=True, timeout=30, check=False
        )
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0
