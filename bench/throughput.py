"""Figure 2: streamable HTTP throughput, ours vs the SDK floor, 1 and 16 concurrent sessions.

Both servers run as subprocesses on loopback (uvicorn); the load comes from this process with
plain httpx2 on the handshake revision (2025-11-25: `initialize`, `Mcp-Session-Id`), one
connection per session. Ours authenticates every request with a JWT minted exactly as
`connect-mcp token` mints it; each of its calls is `list_accounts` (20 accounts); each floor
call is `add(1, 2)`.

Ours is measured twice. The main rows use a local Connect server in a process of its own
(`connect-mcp local`, as `serve` with `PIPEDREAM_*` credentials would use the real API), so
the backend's work is not charged to the MCP server's interpreter. The "embedded" rows use
`serve`'s default, the local server on a thread of the MCP server's own process, sharing its
GIL.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2

from bench.common import (
    BENCH_DIR,
    UNLIMITED,
    USER,
    Options,
    Row,
    clean_env,
    fmt,
    median,
    read_port,
    seed_user,
    spawn,
)

PROTOCOL = "2025-11-25"


class Session:
    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url = url
        self.http = httpx2.AsyncClient(
            headers={
                "content-type": "application/json",
                "accept": "application/json, text/event-stream",
                **headers,
            },
            timeout=30,
        )
        self.next_id = 0

    async def post(self, body: dict[str, Any]) -> httpx2.Response:
        response = await self.http.post(self.url, json=body)
        if response.status_code >= 400:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")
        return response

    async def open(self) -> None:
        response = await self.post(
            {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": PROTOCOL,
                    "capabilities": {},
                    "clientInfo": {"name": "bench", "version": "0"},
                },
            }
        )
        self.http.headers["mcp-session-id"] = response.headers["mcp-session-id"]
        self.http.headers["mcp-protocol-version"] = PROTOCOL
        await self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})

    async def call(self, tool: str, args: dict[str, Any]) -> None:
        self.next_id += 1
        body = {
            "jsonrpc": "2.0",
            "id": self.next_id,
            "method": "tools/call",
            "params": {"name": tool, "arguments": args},
        }
        text = (await self.post(body)).text
        if '"result"' not in text or '"isError":true' in text:
            raise RuntimeError(f"tool call failed: {text[:300]}")

    async def aclose(self) -> None:
        await self.http.aclose()


async def throughput(
    url: str, headers: dict[str, str], tool: str, args: dict[str, Any], sessions: int, secs: float
) -> float:
    """Completed tool calls per second over `secs`, with `sessions` concurrent sessions."""
    opened = [Session(url, headers) for _ in range(sessions)]
    try:
        for s in opened:
            await s.open()
        for s in opened:  # warm: connection, caches
            await s.call(tool, args)
        done = 0
        deadline = 0.0

        async def worker(s: Session) -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                await s.call(tool, args)
                done += 1

        start = time.perf_counter()
        deadline = start + secs
        async with anyio.create_task_group() as tg:
            for s in opened:
                tg.start_soon(worker, s)
        return done / (time.perf_counter() - start)
    finally:
        for s in opened:
            await s.aclose()


def read_backend(proc: subprocess.Popen[bytes], timeout: float = 60.0) -> dict[str, str]:
    """The `PIPEDREAM_*=...` lines `connect-mcp local` prints once it serves."""
    assert proc.stdout is not None
    found: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and "PIPEDREAM_CLIENT_SECRET" not in found:
        line = proc.stdout.readline().decode().strip()
        if not line:
            raise RuntimeError(f"connect-mcp local exited with {proc.wait()} before serving")
        name, sep, value = line.partition("=")
        if sep and name.startswith("PIPEDREAM_"):
            found[name] = value
    if "PIPEDREAM_CLIENT_SECRET" not in found:
        raise TimeoutError("connect-mcp local did not print its credentials")
    return found


def run(opts: Options, workdir: Path) -> list[Row]:
    from connect_mcp.server.auth import JWTConfig, mint_token

    embedded_dir = workdir / "http-data"
    separate_dir = workdir / "http-data-separate"
    seed_user(embedded_dir)
    seed_user(separate_dir)
    secret = secrets.token_urlsafe(48)
    token = mint_token(JWTConfig(key=secret, algorithms=("HS256",)), USER, perm="write")
    env = clean_env()
    unlimited = str(UNLIMITED)
    local_cmd = [
        sys.executable, "-m", "connect_mcp", "local", "--port", "0",
        "--data-dir", str(separate_dir),
    ]  # fmt: skip
    local_env = clean_env(
        CONNECT_MCP_LOG_LEVEL="warning",
        CONNECT_MCP_LOCAL_TOKEN_RATE_PER_MINUTE=unlimited,
        CONNECT_MCP_LOCAL_ACCOUNT_RATE_PER_WINDOW=unlimited,
    )

    def ours_cmd(data_dir: Path) -> list[str]:
        return [
            sys.executable, "-m", "bench.ours_server", "--http", "--data-dir", str(data_dir),
            "--jwt-secret", secret,
        ]  # fmt: skip

    floor_cmd = [sys.executable, str(BENCH_DIR / "floor_server.py"), "--http"]
    with spawn(local_cmd, local_env, stdin=False) as local_proc:
        backend = read_backend(local_proc)
        with (
            spawn(ours_cmd(separate_dir), {**env, **backend}, stdin=False) as ours_proc,
            spawn(ours_cmd(embedded_dir), env, stdin=False) as embedded_proc,
            spawn(floor_cmd, env, stdin=False) as floor_proc,
            spawn(
                [*floor_cmd, "--connect-user", USER], {**env, **backend}, stdin=False
            ) as floor_io_proc,
        ):
            auth = {"authorization": f"Bearer {token}"}
            targets = {
                "ours": (_url(ours_proc), auth, "list_accounts", {}),
                "embedded": (_url(embedded_proc), auth, "list_accounts", {}),
                "floor": (_url(floor_proc), {}, "add", {"a": 1, "b": 2}),
                "floor_io": (_url(floor_io_proc), {}, "fetch", {}),
            }
            rates: dict[tuple[str, int], list[float]] = {}
            ratios: dict[tuple[str, int], list[float]] = {}
            for r in range(opts.repeats):
                for sessions in (1, 16):
                    got: dict[str, float] = {}
                    names = list(targets)
                    names = names[r % 4 :] + names[: r % 4]  # no target always goes first
                    for name in names:
                        url, headers, tool, args = targets[name]
                        got[name] = anyio.run(
                            throughput, url, headers, tool, args, sessions, opts.http_seconds
                        )
                        rates.setdefault((name, sessions), []).append(got[name])
                    for name in ("ours", "embedded"):
                        ratios.setdefault((name, sessions), []).append(got[name] / got["floor"])
                    ratios.setdefault(("io", sessions), []).append(got["ours"] / got["floor_io"])
    rows = []
    for name, suffix, note in (
        (
            "ours",
            "",
            "ours: list_accounts (20 accounts, JWT auth) against `connect-mcp local` in its own "
            "process; floor: add(1,2)",
        ),
        (
            "embedded",
            ", embedded backend",
            "the same, with `serve`'s default backend: the local Connect server on a thread of "
            "the MCP server's own process (its CPU and GIL shared)",
        ),
    ):
        for sessions in (1, 16):
            ratio = median(ratios[(name, sessions)])
            rows.append(
                Row(
                    f"2 HTTP calls/s, {sessions} session{'s' if sessions > 1 else ''}{suffix}",
                    fmt(median(rates[(name, sessions)])),
                    fmt(median(rates[("floor", sessions)])),
                    ratio,
                    ">= 0.8",
                    ratio >= 0.8,
                    note if sessions == 1 else "",
                )
            )
    for sessions in (1, 16):
        ratio = median(ratios[("io", sessions)])
        rows.append(
            Row(
                f"2 HTTP calls/s, {sessions} session{'s' if sessions > 1 else ''}, "
                "vs floor + Connect call",
                fmt(median(rates[("ours", sessions)])),
                fmt(median(rates[("floor_io", sessions)])),
                ratio,
                "-",
                None,
                "diagnostic: the floor server's fetch() makes the same Connect call as "
                "list_accounts (ConnectClient, same separate backend) and returns a count; the "
                "ratio is what our MCP layer costs over HTTP, the upstream round trip excluded"
                if sessions == 1
                else "",
            )
        )
    return rows


def _url(proc: subprocess.Popen[bytes]) -> str:
    return f"http://127.0.0.1:{read_port(proc)}/mcp"
