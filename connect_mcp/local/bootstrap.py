"""The data directory: keys, the database, and the project with its OAuth client.

Layout (files holding secrets are 0600, the directory 0700):

    connect.db (+ -wal, -shm)   SQLite, credentials sealed, bearer secrets as digests
    encryption.key              AES-256 key, unless one is configured
    digest.key                  HMAC key for token and client-secret digests
    client.json                 project id, OAuth client id and secret (for printing)

The first start creates all of it; later starts reuse it. A configured key always wins
over the key file, and a key that cannot open the stored data stops the start (see
`Store`), so a typo in a key never turns into silently unreadable accounts.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from connect_mcp.local import crypto
from connect_mcp.local.crypto import DataKey
from connect_mcp.local.dirlock import DirLock
from connect_mcp.local.store import Store, new_id

DB_FILE = "connect.db"
KEY_FILE = "encryption.key"
PENDING_KEY_FILE = "encryption.key.new"
DIGEST_KEY_FILE = "digest.key"
CLIENT_FILE = "client.json"


@dataclass(frozen=True)
class LocalProject:
    project_id: str
    client_id: str
    client_secret: str


@dataclass
class Opened:
    store: Store
    digest_key: bytes
    project: LocalProject
    lock: DirLock

    def close(self) -> None:
        self.store.close()
        self.lock.release()


def prepare_dir(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)


def load_data_key(data_dir: Path, configured: str | None) -> DataKey:
    """The configured key, else the key file (created with a fresh key if absent)."""
    if configured:
        return DataKey.parse(configured)
    path = data_dir / KEY_FILE
    if path.exists():
        return DataKey.parse(path.read_text(encoding="utf-8"))
    if (data_dir / DB_FILE).exists():
        raise crypto.WrongKeyError(
            f"{data_dir / DB_FILE} exists but {path} is missing and no key is configured "
            "(CONNECT_MCP_LOCAL_ENCRYPTION_KEY); restore the key file or configure the key"
        )
    key = DataKey.generate()
    crypto.write_secret_file(path, key.encode() + "\n")
    return key


def _digest_key(data_dir: Path) -> bytes:
    path = data_dir / DIGEST_KEY_FILE
    if path.exists():
        return bytes.fromhex(path.read_text(encoding="utf-8").strip())
    key = secrets.token_bytes(32)
    crypto.write_secret_file(path, key.hex() + "\n")
    return key


def _project(store: Store, data_dir: Path, digest_key: bytes) -> LocalProject:
    path = data_dir / CLIENT_FILE
    now = time.time()
    if path.exists():
        saved = json.loads(path.read_text(encoding="utf-8"))
        project = LocalProject(saved["project_id"], saved["client_id"], saved["client_secret"])
    else:
        project = LocalProject(
            project_id=store.first_project() or new_id("proj_", 7),
            client_id=secrets.token_urlsafe(24),
            client_secret=secrets.token_urlsafe(32),
        )
        crypto.write_secret_file(path, json.dumps(project.__dict__, indent=2) + "\n")
    if not store.project_exists(project.project_id):
        store.create_project(project.project_id, "connect-mcp local", now)
    store.upsert_client(
        project.client_id,
        project.project_id,
        crypto.digest(digest_key, project.client_secret),
        now,
    )
    return project


def _open_store(data_dir: Path, key: DataKey, *, configured: bool) -> Store:
    """Open the store; finish a key rotation that was interrupted before its last step."""
    try:
        return Store(data_dir / DB_FILE, key)
    except crypto.WrongKeyError:
        pending = data_dir / PENDING_KEY_FILE
        if configured or not pending.exists():
            raise
        new_key = DataKey.parse(pending.read_text(encoding="utf-8"))
        store = Store(data_dir / DB_FILE, new_key)
        os.replace(pending, data_dir / KEY_FILE)
        return store


def open_data_dir(data_dir: Path, *, encryption_key: str | None = None) -> Opened:
    """Everything a server (or the seed command) needs, created on first use."""
    prepare_dir(data_dir)
    lock = DirLock(data_dir, exclusive=False)
    try:
        key = load_data_key(data_dir, encryption_key)
        digest_key = _digest_key(data_dir)
        store = _open_store(data_dir, key, configured=bool(encryption_key))
    except BaseException:
        lock.release()
        raise
    try:
        project = _project(store, data_dir, digest_key)
    except BaseException:
        store.close()
        lock.release()
        raise
    return Opened(store=store, digest_key=digest_key, project=project, lock=lock)
