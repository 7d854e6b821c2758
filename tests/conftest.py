"""Shared fixtures: the local Connect server, one per session and one per test on demand.

Hypothesis runs *derandomized* by default, so a test run - CI's above all - is repeatable: a
red build means a change broke something, not that a new random draw found an old bug. Find
new bugs on purpose with `HYPOTHESIS_PROFILE=explore pytest ...` (random draws, more of them);
a failure found that way becomes a fix and, where it is instructive, an `@example`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from connect_mcp.local.embedded import EmbeddedServer, LocalCredentials

settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture(scope="session")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCredentials]:
    """One server for the session; tests isolate themselves with unique external_user_ids."""
    server = EmbeddedServer(tmp_path_factory.mktemp("local-connect"))
    with server as creds:
        yield creds


@pytest.fixture
def make_local_server(tmp_path: Path) -> Iterator[Callable[..., LocalCredentials]]:
    """Factory for a server with its own limits or data dir; all are stopped at teardown."""
    servers: list[EmbeddedServer] = []

    def make(**kwargs: Any) -> LocalCredentials:
        data_dir = kwargs.pop("data_dir", None) or tmp_path / f"local-{len(servers)}"
        server = EmbeddedServer(data_dir, **kwargs)
        servers.append(server)
        return server.start()

    yield make
    for server in reversed(servers):
        server.stop()
