"""The benchmark still runs: `python -m bench --quick` (tiny sizes) prints every figure.

It asserts that the table is complete, not that the targets are met: on a shared machine the
numbers of a run this small mean nothing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import clean_env

ROOT = Path(__file__).resolve().parents[2]
FIGURES = {
    "1 tool-call overhead p50",
    "1 tool-call overhead p99",
    "1 overhead parts",
    "2 HTTP calls/s, 1 session",
    "2 HTTP calls/s, 16 sessions",
    "2 HTTP calls/s, 1 session, embedded backend",
    "2 HTTP calls/s, 16 sessions, vs floor + Connect call",
    "3 cold start to tools/list",
    "4 tools/list",
    "4 list_accounts 20 accts",
    "5 GET accounts p50",
    "5 connect tokens created /s",
    "6 peak RSS after",
}


@pytest.mark.timeout(180)
def test_quick_bench_prints_every_figure(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--cache-dir", str(tmp_path / "cache")],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert rows[0].split("|")[1].strip() == "figure"
    names = [row.split("|")[1].strip() for row in rows[1:]]
    for figure in FIGURES:
        matching = [n for n in names if n.startswith(figure)]
        assert matching, f"{figure!r} missing from:\n{done.stdout}"
    for row in rows[1:]:
        ours = row.split("|")[2].strip()
        assert ours, row
    assert "ratio" in rows[0]
    assert not list(ROOT.glob("scale-v*")), "data sets belong in the cache dir, not the repo"
