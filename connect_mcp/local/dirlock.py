"""An advisory lock on the data directory, so `rotate-key` cannot race a running server.

A server (or a seeder) holds a shared lock while it has the data open; `rotate-key` needs
the exclusive lock. Without it, a server still running on the old key would seal new
accounts under a key that no longer exists on disk. POSIX only (fcntl); elsewhere the lock
is a no-op and the "stop the server first" rule stands on its own.
"""

from __future__ import annotations

import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".lock"


class DataDirBusyError(RuntimeError):
    """Another process has the data directory open."""


class DirLock:
    def __init__(self, data_dir: Path, *, exclusive: bool) -> None:
        self._fd: int | None = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        if fcntl is None:
            return
        mode = fcntl.LOCK_EX | fcntl.LOCK_NB if exclusive else fcntl.LOCK_SH | fcntl.LOCK_NB
        try:
            fcntl.flock(self._fd, mode)
        except BlockingIOError as exc:
            os.close(self._fd)
            self._fd = None
            what = "a running local Connect server or seeder" if exclusive else "rotate-key"
            raise DataDirBusyError(
                f"{data_dir} is in use by {what}; stop it and try again"
            ) from exc

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None
