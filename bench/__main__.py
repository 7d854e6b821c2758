"""`python -m bench [--quick] [...]`: run the figures of issue 9 and print one table."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.common import QUICK, Options, Row, render


def parse(argv: list[str] | None = None) -> Options:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="tiny sizes (the smoke test)")
    p.add_argument("--repeats", type=int, help="runs per figure (median over them)")
    p.add_argument("--calls", type=int, help="tool calls per run, figure 1")
    p.add_argument("--http-seconds", type=float, help="window per throughput run, figure 2")
    p.add_argument("--cold-runs", type=int, help="cold starts per server, figure 3")
    p.add_argument("--scale-sizes", help="comma-separated account counts, figure 5 (first vs last)")
    p.add_argument("--memory-calls", help="two call counts, e.g. 100,10000 (figure 6)")
    p.add_argument("--cache-dir", type=Path, help="where figure 5's data sets are cached")
    p.add_argument("--only", help="comma-separated figure numbers, e.g. 1,4")
    args = p.parse_args(argv)
    opts = QUICK if args.quick else Options()
    changes: dict[str, object] = {}
    for name in ("repeats", "calls", "http_seconds", "cold_runs", "cache_dir"):
        value = getattr(args, name)
        if value is not None:
            changes[name] = value
    if args.repeats is not None:
        changes["memory_repeats"] = args.repeats
    if args.scale_sizes:
        changes["scale_sizes"] = tuple(int(s) for s in args.scale_sizes.split(","))
    if args.memory_calls:
        first, second = (int(s) for s in args.memory_calls.split(","))
        changes["memory_calls"] = (first, second)
    if args.only:
        changes["only"] = frozenset(int(s) for s in args.only.split(","))
    return dataclasses.replace(opts, **changes)  # type: ignore[arg-type]


def _progress(rows: list[Row]) -> list[Row]:
    """Each figure's rows on stderr as soon as they exist (a later failure loses nothing)."""
    for r in rows:
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}"
        print(f"bench: {r.figure}: {r.ours} | {r.floor} | ratio {ratio}", file=sys.stderr)
    return rows


def main(argv: list[str] | None = None) -> int:
    opts = parse(argv)
    import anyio

    from connect_mcp.log import configure_logging

    # The production log level (info: one audit line per tool call), into the void.
    configure_logging("info", stream=open(os.devnull, "w"))  # noqa: SIM115
    rows: list[Row] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="connect-mcp-bench-") as tmp:
        work = Path(tmp)
        if opts.only & {1, 4}:
            from bench import inproc

            async def in_process() -> list[Row]:
                out: list[Row] = []
                async with inproc.local_backend(work / "inproc-data") as backend:
                    if 1 in opts.only:
                        out += await inproc.overhead(opts, backend)
                    if 4 in opts.only:
                        out += await inproc.context_cost(backend)
                return out

            rows += _progress(anyio.run(in_process))
        if 2 in opts.only:
            from bench import throughput

            rows += _progress(throughput.run(opts, work))
        if 3 in opts.only:
            from bench import coldstart

            rows += _progress(coldstart.run(opts, work))
        if 5 in opts.only:
            from bench import scale

            rows += _progress(scale.run(opts))
        if 6 in opts.only:
            from bench import memory

            rows += _progress(memory.run(opts, work))
    rows.sort(key=lambda r: r.figure.split(" ", 1)[0])
    print(render(rows))
    print(
        f"\n{len(rows)} rows in {time.perf_counter() - started:.0f} s; "
        f"repeats={opts.repeats}; python {sys.version.split()[0]}; {os.cpu_count()} CPUs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
