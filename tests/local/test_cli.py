"""`connect-mcp local` as a user runs it: a real process, stdout lines, then the API."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from connect_mcp.local.embedded import LocalCredentials
from tests.support import api_headers, clean_env, http

_KEYS = (
    "PIPEDREAM_BASE_URL",
    "PIPEDREAM_PROJECT_ID",
    "PIPEDREAM_CLIENT_ID",
    "PIPEDREAM_CLIENT_SECRET",
)


def _env(tmp_path: Path) -> dict[str, str]:
    # HOME of the test's own: no stray .local/share from the developer's machine.
    # PYTHONFAULTHANDLER: a process that does not stop can be made to print every thread's
    # stack (SIGABRT), so a hang says where it hangs.
    return clean_env(HOME=str(tmp_path), PYTHONFAULTHANDLER="1")


def _read_lines(proc: subprocess.Popen[str], count: int, timeout: float) -> list[str]:
    """The first `count` stdout lines, read on a thread so a silent process cannot hang us."""
    assert proc.stdout is not None
    stream = proc.stdout
    lines: list[str] = []

    def read() -> None:
        while len(lines) < count:
            line = stream.readline()
            if not line:
                return
            lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    return list(lines)


def _run_local(tmp_path: Path, data_dir: Path) -> tuple[subprocess.Popen[str], list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "connect_mcp", "local", "--port", "0", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
        cwd=tmp_path,
    )
    return proc, _read_lines(proc, 4, timeout=30)


def _creds(lines: list[str]) -> LocalCredentials:
    values = dict(line.split("=", 1) for line in lines)
    return LocalCredentials(
        base_url=values["PIPEDREAM_BASE_URL"],
        project_id=values["PIPEDREAM_PROJECT_ID"],
        client_id=values["PIPEDREAM_CLIENT_ID"],
        client_secret=values["PIPEDREAM_CLIENT_SECRET"],
    )


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
        _, err = proc.communicate(timeout=10)
        pytest.fail(f"connect-mcp local did not stop within 20 s of SIGTERM:\n{err[-6000:]}")
    assert proc.returncode == 0, err
    return out, err


def test_local_prints_the_env_lines_then_serves(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    proc, lines = _run_local(tmp_path, data_dir)
    try:
        assert [line.split("=", 1)[0] for line in lines] == list(_KEYS), lines
        creds = _creds(lines)
        assert creds.project_id.startswith("proj_")
        users = http().get(
            f"{creds.base_url}/v1/connect/{creds.project_id}/users", headers=api_headers(creds)
        )
        assert users.status_code == 200
    finally:
        rest, err = _stop(proc)
    # Nothing but `PIPEDREAM_*=` lines on stdout (later settings may add lines after the four).
    assert all(re.fullmatch(r"PIPEDREAM_[A-Z_]+=\S*", line) for line in rest.splitlines()), rest
    assert '"event"' in err  # logs are JSON on stderr
    assert creds.client_secret not in err

    # A second start reuses the project and client from the data dir.
    proc, again = _run_local(tmp_path, data_dir)
    try:
        assert again[0].startswith("PIPEDREAM_BASE_URL=http://127.0.0.1:")
        assert again[1:] == lines[1:]
    finally:
        _stop(proc)


def test_seed_command(tmp_path: Path) -> None:
    data_dir = tmp_path / "seeded"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "connect_mcp",
            "local",
            "seed",
            "--data-dir",
            str(data_dir),
            "--users",
            "4",
            "--accounts",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=_env(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    assert "seeded 4 users and 12 accounts" in done.stdout
    proc, lines = _run_local(tmp_path, data_dir)
    try:
        creds = _creds(lines)
        body = (
            http()
            .get(
                f"{creds.base_url}/v1/connect/{creds.project_id}/accounts",
                params={"include_credentials": "true"},
                headers=api_headers(creds),
            )
            .json()
        )
        assert body["page_info"]["total_count"] == 12
        assert all(a["credentials"] for a in body["data"])
        assert len({a["app"]["name_slug"] for a in body["data"]}) > 3
    finally:
        _stop(proc)


def test_local_refuses_a_wrong_key_and_prints_nothing(tmp_path: Path) -> None:
    from connect_mcp.local.crypto import DataKey
    from connect_mcp.local.seed import seed

    data_dir = tmp_path / "keyed"
    seed(data_dir, users=1, accounts_per_user=1)
    env = {**_env(tmp_path), "CONNECT_MCP_LOCAL_ENCRYPTION_KEY": DataKey.generate().encode()}
    done = subprocess.run(
        [sys.executable, "-m", "connect_mcp", "local", "--port", "0", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert "cannot decrypt" in done.stderr
