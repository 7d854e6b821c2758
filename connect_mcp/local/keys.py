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
from connect_mcp.local.store import Store


@dataclass(frozen=True)
class Rotation:
    old_key_id: str
    new_key_id: str
    accounts: int
    key_file: Path
    configured_key_replaced: bool


def rotate_key(
    data_dir: Path, *, encryption_key: str | None = None, new_key: DataKey | None = None
) -> Rotation:
    """Re-encrypt the data dir's credentials under `new_key` (generated if not given).

    Stop any server using the data dir first: it keeps the old key in memory.
    """
    if not (data_dir / DB_FILE).exists():
        raise FileNotFoundError(f"no local Connect data in {data_dir}")
    old = load_data_key(data_dir, encryption_key)
    fresh = new_key or DataKey.generate()
    store = Store(data_dir / DB_FILE, old)  # refuses a key that cannot open the data
    pending = data_dir / PENDING_KEY_FILE
    try:
        crypto.write_secret_file(pending, fresh.encode() + "\n")
        count = store.rotate_key(fresh)
    except BaseException:
        store.close()
        pending.unlink(missing_ok=True)
        raise
    store.close()
    key_file = data_dir / KEY_FILE
    os.replace(pending, key_file)
    return Rotation(
        old_key_id=old.key_id,
        new_key_id=fresh.key_id,
        accounts=count,
        key_file=key_file,
        configured_key_replaced=bool(encryption_key),
    )
