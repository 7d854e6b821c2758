"""Shared pieces: options, statistics, the result table, data dirs, subprocess helpers."""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

BENCH_DIR = Path(__file__).resolve().parent
UNLIMITED = 1_000_000_000
#: The user whose 20 accounts figures 1, 2, 4 and 6 read (`seed` names users prefix + 00000).
USER_PREFIX = "bench-user-"
USER = f"{USER_PREFIX}00000"
ACCOUNTS = 20


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "connect-mcp-bench"


@dataclass(frozen=True)
class Options:
    repeats: int = 5  # runs per figure; each figure is the median over them
    calls: int = 200  # tool calls per run (figure 1)
    http_seconds: float = 2.0  # measuring window per throughput run (figure 2)
    cold_runs: int = 5  # cold starts per server (figure 3)
    scale_sizes: tuple[int, ...] = (1_000, 100_000, 1_000_000)  # figure 5
    scale_requests: int = 100  # GETs per size per run (figure 5)
    tokens: int = 300  # connect tokens created per run (figure 5)
    memory_calls: tuple[int, int] = (100, 10_000)  # figure 6
    memory_repeats: int = 1
    cache_dir: Path = field(default_factory=default_cache_dir)
    only: frozenset[int] = frozenset({1, 2, 3, 4, 5, 6})


QUICK = Options(
    repeats=1,
    calls=10,
    http_seconds=0.25,
    cold_runs=1,
    scale_sizes=(50, 200, 1_000),
    scale_requests=5,
    tokens=10,
    memory_calls=(10, 100),
    memory_repeats=1,
)


# --- statistics ---------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


# --- the table ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    figure: str
    ours: str
    floor: str = "-"
    ratio: float | None = None
    target: str = "-"
    met: bool | None = None
    note: str = ""


def fmt(value: float, digits: int = 2) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.{digits}f}"


def render(rows: Sequence[Row]) -> str:
    head = ("figure", "ours", "floor / base", "ratio", "target", "met")
    body = [
        (
            r.figure,
            r.ours,
            r.floor,
            "-" if r.ratio is None else f"{r.ratio:.2f}",
            r.target,
            "-" if r.met is None else ("yes" if r.met else "NO"),
        )
        for r in rows
    ]
    widths = [max(len(str(line[i])) for line in [head, *body]) for i in range(len(head))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    out = [line(head), sep, *(line(b) for b in body)]
    notes = [f"- {r.figure}: {r.note}" for r in rows if r.note]
    return "\n".join(out + (["", *notes] if notes else []))


# --- tokens -------------------------------------------------------------------------------

_TOKEN = re.compile(r"[A-Za-z]+|[0-9]+|[^\sA-Za-z0-9]")


def estimate_tokens(text: str) -> int:
    """A simple, documented token estimate: runs of letters, runs of digits and every other
    non-space character each count one (close to BPE counts for JSON; slightly pessimistic
    for English prose)."""
    return len(_TOKEN.findall(text))


def compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# --- data dirs and processes --------------------------------------------------------------


def seed_user(data_dir: Path) -> None:
    """One user (USER) with ACCOUNTS accounts, written straight into the store."""
    from connect_mcp.local.seed import seed

    seed(data_dir, users=1, accounts_per_user=ACCOUNTS, prefix=USER_PREFIX)


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any PIPEDREAM_* / CONNECT_MCP_* setting, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIPEDREAM_", "CONNECT_MCP_", "pipedream_", "connect_mcp_"))
    }
    # Children import connect_mcp and bench from this tree (also a git worktree of it).
    env["PYTHONPATH"] = str(repo_root())
    env.update(extra)
    return env


def repo_root() -> Path:
    return BENCH_DIR.parent


@contextmanager
def spawn(
    args: Sequence[str], env: dict[str, str], *, stdin: bool = True
) -> Iterator[subprocess.Popen[bytes]]:
    """A child process (stderr to a temp file, shown if it fails), always reaped."""
    import tempfile

    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            list(args),
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            env=env,
            cwd=repo_root(),
        )
        try:
            yield proc
        except BaseException:
            err.seek(0)
            tail = err.read()[-2000:].decode(errors="replace")
            print(f"bench: child {args[:3]} stderr tail:\n{tail}", file=sys.stderr)
            raise
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        if proc.stdin is not None:
            with suppress(OSError):
                proc.stdin.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def read_port(proc: subprocess.Popen[bytes], timeout: float = 60.0) -> int:
    """The `PORT <n>` line a server subprocess prints once it listens."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"server exited with {proc.wait()} before listening")
        if line.startswith(b"PORT "):
            return int(line.split()[1])
    raise TimeoutError("server did not report its port")


class StdioPeer:
    """Newline-delimited JSON-RPC over a child's stdin/stdout (the stdio transport)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdin is not None
        assert proc.stdout is not None
        self.proc = proc
        self._in: IO[bytes] = proc.stdin
        self._out: IO[bytes] = proc.stdout
        self._id = 0

    def send(
        self, method: str, params: dict[str, Any] | None = None, *, notify: bool = False
    ) -> int:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        if not notify:
            self._id += 1
            message["id"] = self._id
        self._in.write(compact(message).encode() + b"\n")
        self._in.flush()
        return self._id

    def answer(self, request_id: int) -> bytes:
        """The raw line of the response to `request_id` (skipping notifications)."""
        while True:
            line = self._out.readline()
            if not line:
                raise RuntimeError(f"server closed stdout (exit {self.proc.poll()})")
            if b'"id"' in line and json.loads(line).get("id") == request_id:
                return line

    def call(self, method: str, params: dict[str, Any] | None = None) -> bytes:
        return self.answer(self.send(method, params))

    def handshake(self) -> None:
        self.call(
            "initialize",
            {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "0"},
            },
        )
        self.send("notifications/initialized", notify=True)


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in KiB, read from /proc from outside."""
    out: dict[str, int] = {}
    for raw in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = raw.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out
