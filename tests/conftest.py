"""Shared fixtures: the local Connect server, one per session and one per test on demand."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connect_mcp.local.embedded import EmbeddedServer, LocalCredentials


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
