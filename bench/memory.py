"""Figure 6: peak RSS (VmHWM from /proc, read from outside) of our server after N and after M
`list_accounts` calls over stdio, in one process."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.common import Options, Row, StdioPeer, clean_env, median, rss_kib, seed_user, spawn

CALL = {"name": "list_accounts", "arguments": {}}


def one_run(data_dir: Path, first: int, second: int) -> tuple[int, int]:
    cmd = [sys.executable, "-m", "bench.ours_server", "--data-dir", str(data_dir)]
    with spawn(cmd, clean_env()) as proc:
        peer = StdioPeer(proc)
        peer.handshake()
        peaks = []
        done = 0
        for target in (first, second):
            while done < target:
                line = peer.call("tools/call", CALL)
                if b'"isError":true' in line or b'"result"' not in line:
                    raise RuntimeError(line[:300].decode(errors="replace"))
                done += 1
            peaks.append(rss_kib(proc.pid)["VmHWM"])
    return peaks[0], peaks[1]


def run(opts: Options, workdir: Path) -> list[Row]:
    data_dir = workdir / "memory-data"
    seed_user(data_dir)
    first, second = opts.memory_calls
    runs = [one_run(data_dir, first, second) for _ in range(opts.memory_repeats)]
    a = median([r[0] for r in runs]) / 1024
    b = median([r[1] for r in runs]) / 1024
    ratio = median([r[1] / r[0] for r in runs])
    return [
        Row(
            f"6 peak RSS after {first:,} / {second:,} calls (MiB)",
            f"{b:.1f}",
            f"{a:.1f}",
            ratio,
            "<= 1.1",
            ratio <= 1.1,
            "ours = after the larger count, floor/base column = after the smaller; "
            "stdio subprocess (bench.ours_server), list_accounts of 20 accounts",
        )
    ]
