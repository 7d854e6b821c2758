"""Figure 2: streamable HTTP throughput, ours vs the SDK floor, 1 and 16 concurrent sessions.

Both servers run as subprocesses on loopback (uvicorn); the load comes from this process with
plain httpx2 on the handshake revision (2025-11-25: `initialize`, `Mcp-Session-Id`), one
connection per session. Ours authenticates every request with a JWT minted exactly as
`connect-mcp token` mints it; each of its calls is `list_accounts` (20 accounts, through the
embedded local Connect server); each floor call is `add(1, 2)`.
"""

from __future__ import annotations

import secrets
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2

from bench.common import (
    BENCH_DIR,
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


def run(opts: Options, workdir: Path) -> list[Row]:
    from connect_mcp.server.auth import JWTConfig, mint_token

    data_dir = workdir / "http-data"
    seed_user(data_dir)
    secret = secrets.token_urlsafe(48)
    token = mint_token(JWTConfig(key=secret, algorithms=("HS256",)), USER, perm="write")
    env = clean_env()
    ours_cmd = [
        sys.executable, "-m", "bench.ours_server", "--http", "--data-dir", str(data_dir),
        "--jwt-secret", secret,
    ]  # fmt: skip
    floor_cmd = [sys.executable, str(BENCH_DIR / "floor_server.py"), "--http"]
    with (
        spawn(ours_cmd, env, stdin=False) as ours_proc,
        spawn(floor_cmd, env, stdin=False) as floor_proc,
    ):
        ours_url = f"http://127.0.0.1:{read_port(ours_proc)}/mcp"
        floor_url = f"http://127.0.0.1:{read_port(floor_proc)}/mcp"
        targets = {
            "ours": (ours_url, {"authorization": f"Bearer {token}"}, "list_accounts", {}),
            "floor": (floor_url, {}, "add", {"a": 1, "b": 2}),
        }
        rates: dict[tuple[str, int], list[float]] = {}
        ratios: dict[int, list[float]] = {1: [], 16: []}
        for r in range(opts.repeats):
            for sessions in (1, 16):
                got: dict[str, float] = {}
                names = ["ours", "floor"] if r % 2 == 0 else ["floor", "ours"]
                for name in names:
                    url, headers, tool, args = targets[name]
                    got[name] = anyio.run(
                        throughput, url, headers, tool, args, sessions, opts.http_seconds
                    )
                    rates.setdefault((name, sessions), []).append(got[name])
                ratios[sessions].append(got["ours"] / got["floor"])
    rows = []
    for sessions in (1, 16):
        ratio = median(ratios[sessions])
        rows.append(
            Row(
                f"2 HTTP calls/s, {sessions} session{'s' if sessions > 1 else ''}",
                fmt(median(rates[("ours", sessions)])),
                fmt(median(rates[("floor", sessions)])),
                ratio,
                ">= 0.8",
                ratio >= 0.8,
                "ours: list_accounts (20 accounts, embedded backend, JWT auth); floor: add(1,2)"
                if sessions == 1
                else "",
            )
        )
    return rows
