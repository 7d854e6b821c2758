"""`rotate-key`: re-encrypt every stored credential under a fresh key, all or nothing.

Order matters for crash safety: the new key is written to `encryption.key.new` first, then
the database is re-encrypted in one transaction, then the new file replaces the old. If the
process dies between the last two steps, the next start finds the pending key and promotes
it (see `bootstrap`), so no interruption can leave data that no key on disk can open.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from connect_mcp.local import crypto
from connect_mcp.local.bootstrap import DB_FILE, KEY_FILE, PENDING_KEY_FILE, load_data_key
from connect_mcp.local.crypto import DataKey
from connect_mcp.local.dirlock import DirLock
from connect_mcp.local.store import Store


@dataclass(frozen=True)
class Rotation:
    old_key_id: str
    new_key_id: str
    accounts: int
    key_file: Path
    configured_key_replaced: bool


def _reseal(data_dir: Path, old: DataKey, fresh: DataKey) -> int:
    store = Store(data_dir / DB_FILE, old)  # refuses a key that cannot open the data
    pending = data_dir / PENDING_KEY_FILE
    try:
        try:
            crypto.write_secret_file(pending, fresh.encode() + "\n")
            count = store.rotate_key(fresh)
        except BaseException:
            pending.unlink(missing_ok=True)
            raise
        os.replace(pending, data_dir / KEY_FILE)  # the data now opens only with `fresh`
        store.vacuum()  # then scrub old ciphertexts; a failure here loses nothing
    finally:
        store.close()
    return count


def rotate_key(
    data_dir: Path, *, encryption_key: str | None = None, new_key: DataKey | None = None
) -> Rotation:
    """Re-encrypt the data dir's credentials under `new_key` (generated if not given).

    A running server keeps the old key in memory and would seal new accounts with it, so
    it holds a shared lock on the data dir and this refuses (`DataDirBusyError`) until it
    stops.
    """
    if not (data_dir / DB_FILE).exists():
        raise FileNotFoundError(f"no local Connect data in {data_dir}")
    lock = DirLock(data_dir, exclusive=True)  # no server may hold the old key meanwhile
    try:
        old = load_data_key(data_dir, encryption_key)
        fresh = new_key or DataKey.generate()
        count = _reseal(data_dir, old, fresh)
    finally:
        lock.release()
    key_file = data_dir / KEY_FILE
    return Rotation(
        old_key_id=old.key_id,
        new_key_id=fresh.key_id,
        accounts=count,
        key_file=key_file,
        configured_key_replaced=bool(encryption_key),
    )
