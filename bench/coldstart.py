"""Figure 3: cold start - process start to the `tools/list` answer over stdio.

Ours is the real `connect-mcp serve --external-user-id ...` with the embedded local Connect
server (no PIPEDREAM_* credentials) on a temporary data dir created by a warm-up start; the
floor is `bench/floor_server.py`, a minimal `MCPServer` with one tool. Starts alternate.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from bench.common import BENCH_DIR, Options, Row, StdioPeer, clean_env, fmt, median, spawn


def serve_command() -> list[str]:
    script = Path(sys.executable).with_name("connect-mcp")
    if script.exists():
        return [str(script)]
    found = shutil.which("connect-mcp")
    return [found] if found else [sys.executable, "-m", "connect_mcp"]


def cold_start(args: list[str], env: dict[str, str]) -> float:
    """Seconds from spawn to the complete `tools/list` response line."""
    start = time.perf_counter()
    with spawn(args, env) as proc:
        peer = StdioPeer(proc)
        peer.handshake()
        line = peer.call("tools/list")
        elapsed = time.perf_counter() - start
    assert b'"tools"' in line
    return elapsed


def run(opts: Options, workdir: Path) -> list[Row]:
    data_dir = workdir / "cold-data"
    ours = [*serve_command(), "serve", "--external-user-id", "bench-cold"]
    ours_env = clean_env(CONNECT_MCP_DATA_DIR=str(data_dir))
    floor = [sys.executable, str(BENCH_DIR / "floor_server.py")]
    floor_env = clean_env()
    cold_start(ours, ours_env)  # creates the data dir (a first run's cost), warms the cache
    if opts.cold_runs > 1:
        cold_start(floor, floor_env)
    ours_t: list[float] = []
    floor_t: list[float] = []
    for i in range(opts.cold_runs):
        if i % 2 == 0:
            ours_t.append(cold_start(ours, ours_env))
            floor_t.append(cold_start(floor, floor_env))
        else:
            floor_t.append(cold_start(floor, floor_env))
            ours_t.append(cold_start(ours, ours_env))
    ratio = median(ours_t) / median(floor_t)
    return [
        Row(
            "3 cold start to tools/list (ms)",
            fmt(median(ours_t) * 1000),
            fmt(median(floor_t) * 1000),
            ratio,
            "<= 1.3",
            ratio <= 1.3,
            "`connect-mcp serve` (embedded local server, temp data dir) vs minimal MCPServer "
            "script, stdio, spawn to tools/list answer",
        )
    ]
