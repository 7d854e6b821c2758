"""The SQLite store behind the local Connect server.

One connection per process, guarded by a lock: the server runs a single event loop, and
SQLite calls here take microseconds, so they run inline rather than hopping to a thread
pool. WAL mode lets `connect-mcp local seed` write while a server is reading. Every method
that changes several rows does it in one `BEGIN IMMEDIATE` transaction, so a failure leaves
nothing half-done (deleting a user and their accounts, spending a connect token on an
account, re-encrypting under a new key).

Credentials are sealed per account with the account's id, project and environment as
associated data (see `crypto`). Bearer secrets arrive here only as digests.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connect_mcp.local import crypto
from connect_mcp.local.crypto import DataKey
from connect_mcp.local.paging import Page, PageRequest, T, fetch_page
from connect_mcp.local.schema import MIGRATIONS

_KEY_CHECK_AAD = b"connect-mcp key check"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BULK_CHUNK = 5000


def new_id(prefix: str, length: int = 10) -> str:
    # One CSPRNG read per id (not one `secrets.choice` per character): 8 spare random bytes
    # make the modulo bias of the base-62 digits negligible (< 2^-64).
    number = int.from_bytes(os.urandom(length + 8), "big")
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        chars.append(_ALPHABET[digit])
    return prefix + "".join(chars)


class StoreError(Exception):
    """A write the data does not allow (for example: a connect token spent twice)."""


@dataclass(frozen=True)
class Scope:
    """Everything a project route sees is confined to one project and one environment."""

    project_id: str
    environment: str


@dataclass(frozen=True)
class ConnectTokenRow:
    project_id: str
    environment: str
    external_user_id: str
    created_at: float
    expires_at: float
    used_at: float | None
    success_redirect_uri: str | None
    error_redirect_uri: str | None
    webhook_uri: str | None
    allowed_origins: tuple[str, ...]


@dataclass(frozen=True)
class UserRow:
    seq: int
    id: str
    external_id: str
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class AccountRow:
    seq: int
    id: str
    project_id: str
    environment: str
    external_id: str
    app_slug: str
    name: str | None
    sealed: str
    healthy: bool
    dead: bool
    error: str | None
    created_at: float
    updated_at: float
    expires_at: float | None
    last_refreshed_at: float | None
    next_refresh_at: float | None


@dataclass(frozen=True)
class NewAccount:
    """What an account is created from; timestamps are filled in by the caller's clock."""

    external_id: str
    app_slug: str
    name: str | None
    credentials: dict[str, str]
    now: float
    expires_at: float | None = None
    next_refresh_at: float | None = None


_ACCOUNT_COLUMNS = (
    "a.seq, a.id, a.project_id, a.environment, u.external_id, a.app_slug, a.name, "
    "a.credentials, a.healthy, a.dead, a.error, a.created_at, a.updated_at, a.expires_at, "
    "a.last_refreshed_at, a.next_refresh_at"
)


def _account(row: sqlite3.Row) -> AccountRow:
    return AccountRow(
        seq=row[0], id=row[1], project_id=row[2], environment=row[3], external_id=row[4],
        app_slug=row[5], name=row[6], sealed=row[7], healthy=bool(row[8]), dead=bool(row[9]),
        error=row[10], created_at=row[11], updated_at=row[12], expires_at=row[13],
        last_refreshed_at=row[14], next_refresh_at=row[15],
    )  # fmt: skip


def _aad(account_id: str, project_id: str, environment: str) -> bytes:
    return f"account:{project_id}:{environment}:{account_id}".encode()


class Store:
    """Typed access to the local server's data; see the module docstring for the rules."""

    def __init__(self, path: Path, key: DataKey) -> None:
        self.path = path
        self._key = key
        self._lock = threading.RLock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            os.chmod(path, 0o600)  # SQLite gives the -wal and -shm files the same mode
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
            self._check_key()
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- plumbing ------------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._lock:
            return self._db.execute(sql, params).fetchone()

    def _migrate(self) -> None:
        with self._tx() as db:
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > len(MIGRATIONS):
                raise StoreError(
                    f"{self.path} has schema version {version}, newer than this connect-mcp "
                    f"understands ({len(MIGRATIONS)}); upgrade connect-mcp"
                )
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(number),),
                )

    def _check_key(self) -> None:
        """Refuse a key that cannot open what is stored, before serving anything."""
        row = self._one("SELECT value FROM meta WHERE key='key_check'")
        if row is None:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO meta (key, value) VALUES ('key_check', ?)",
                    (crypto.seal(self._key, b"ok", aad=_KEY_CHECK_AAD),),
                )
            return
        try:
            crypto.open_sealed(self._key, row[0], aad=_KEY_CHECK_AAD)
        except crypto.EncryptionKeyError as exc:
            raise crypto.WrongKeyError(
                f"the encryption key cannot decrypt the data in {self.path.parent} ({exc}); "
                "configure the key this data was written with (CONNECT_MCP_LOCAL_ENCRYPTION_KEY "
                "or the key file in the data directory)"
            ) from exc

    @property
    def data_key(self) -> DataKey:
        """The key credentials are sealed with now (for the redactor: see `embedded`)."""
        return self._key

    # -- projects and OAuth clients ----------------------------------------------------

    def first_project(self) -> str | None:
        row = self._one("SELECT id FROM projects ORDER BY created_at LIMIT 1")
        return None if row is None else str(row[0])

    def create_project(self, project_id: str, name: str, now: float) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO projects (id, name, created_at) VALUES (?, ?, ?)",
                (project_id, name, now),
            )

    def project_exists(self, project_id: str) -> bool:
        return self._one("SELECT 1 FROM projects WHERE id=?", (project_id,)) is not None

    def upsert_client(
        self, client_id: str, project_id: str, secret_digest: str, now: float
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO oauth_clients (client_id, project_id, secret_digest, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (client_id) DO UPDATE SET "
                "secret_digest=excluded.secret_digest, project_id=excluded.project_id",
                (client_id, project_id, secret_digest, now),
            )

    def client_project(self, client_id: str, secret_digest: str) -> str | None:
        row = self._one(
            "SELECT project_id, secret_digest FROM oauth_clients WHERE client_id=?", (client_id,)
        )
        if row is None or not secrets.compare_digest(str(row[1]), secret_digest):
            return None
        return str(row[0])

    # -- access tokens (digests) -------------------------------------------------------

    def save_access_token(
        self, digest: str, client_id: str, project_id: str, expires_at: float, now: float
    ) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM access_tokens WHERE expires_at <= ?", (now,))
            db.execute(
                "INSERT INTO access_tokens (digest, client_id, project_id, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (digest, client_id, project_id, expires_at),
            )

    def access_token_project(self, digest: str, now: float) -> str | None:
        row = self._one(
            "SELECT project_id FROM access_tokens WHERE digest=? AND expires_at > ?",
            (digest, now),
        )
        return None if row is None else str(row[0])

    # -- connect tokens (digests) ------------------------------------------------------

    def create_connect_token(self, digest: str, scope: Scope, token: ConnectTokenRow) -> None:
        """Keep a token (by digest) and make sure its external user exists."""
        with self._tx() as db:
            db.execute("DELETE FROM connect_tokens WHERE expires_at <= ?", (token.created_at,))
            db.execute(
                "INSERT INTO connect_tokens (digest, project_id, environment, external_user_id,"
                " created_at, expires_at, success_redirect_uri, error_redirect_uri, webhook_uri,"
                " allowed_origins) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    digest, scope.project_id, scope.environment, token.external_user_id,
                    token.created_at, token.expires_at, token.success_redirect_uri,
                    token.error_redirect_uri, token.webhook_uri,
                    json.dumps(list(token.allowed_origins)),
                ),
            )  # fmt: skip
            self._ensure_user(db, scope, token.external_user_id, token.created_at)

    def connect_token(self, digest: str) -> ConnectTokenRow | None:
        row = self._one(
            "SELECT project_id, environment, external_user_id, created_at, expires_at, used_at,"
            " success_redirect_uri, error_redirect_uri, webhook_uri, allowed_origins"
            " FROM connect_tokens WHERE digest=?",
            (digest,),
        )
        if row is None:
            return None
        return ConnectTokenRow(
            project_id=row[0], environment=row[1], external_user_id=row[2], created_at=row[3],
            expires_at=row[4], used_at=row[5], success_redirect_uri=row[6],
            error_redirect_uri=row[7], webhook_uri=row[8],
            allowed_origins=tuple(json.loads(row[9])),
        )  # fmt: skip

    # -- users ---------------------------------------------------------------------------

    def _ensure_user(
        self, db: sqlite3.Connection, scope: Scope, external_id: str, now: float
    ) -> int:
        row = db.execute(
            "SELECT seq FROM users WHERE project_id=? AND environment=? AND external_id=?",
            (scope.project_id, scope.environment, external_id),
        ).fetchone()
        if row is not None:
            return int(row[0])
        cur = db.execute(
            "INSERT INTO users (id, project_id, environment, external_id, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (new_id("exu_"), scope.project_id, scope.environment, external_id, now, now),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def list_users(self, scope: Scope, q: str | None, page: PageRequest) -> Page[UserRow]:
        where = "project_id=? AND environment=?"
        params: list[Any] = [scope.project_id, scope.environment]
        if q:
            where += " AND external_id LIKE ? ESCAPE '\\' COLLATE NOCASE"
            escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.append(f"%{escaped}%")
        return self._page(
            "seq, id, external_id, created_at, updated_at",
            "users",
            "seq",
            where,
            params,
            page,
            lambda r: UserRow(*r),
        )

    def delete_user(self, scope: Scope, external_id: str) -> bool:
        """Delete the user and every account of theirs in one transaction."""
        with self._tx() as db:
            row = db.execute(
                "SELECT seq FROM users WHERE project_id=? AND environment=? AND external_id=?",
                (scope.project_id, scope.environment, external_id),
            ).fetchone()
            if row is None:
                return False
            db.execute("DELETE FROM accounts WHERE user_seq=?", (row[0],))
            db.execute("DELETE FROM users WHERE seq=?", (row[0],))
            return True

    # -- accounts ------------------------------------------------------------------------

    def _seal(self, account_id: str, scope: Scope, credentials: dict[str, str]) -> str:
        payload = json.dumps(credentials, sort_keys=True).encode()
        return crypto.seal(
            self._key, payload, aad=_aad(account_id, scope.project_id, scope.environment)
        )

    def credentials(self, account: AccountRow) -> dict[str, str]:
        plain = crypto.open_sealed(
            self._key,
            account.sealed,
            aad=_aad(account.id, account.project_id, account.environment),
        )
        loaded: dict[str, str] = json.loads(plain)
        return loaded

    def create_account(
        self, scope: Scope, new: NewAccount, *, token_digest: str | None = None
    ) -> AccountRow:
        """Insert an account; with `token_digest`, spend that connect token in the same step.

        The token is re-checked inside the transaction, so two concurrent requests with one
        token cannot both create an account.
        """
        with self._tx() as db:
            if token_digest is not None:
                self._spend_token(db, token_digest, new.now)
            account_id = self._insert_account(db, scope, new)
        account = self.get_account(scope, account_id)
        assert account is not None
        return account

    def create_accounts_bulk(self, scope: Scope, accounts: Sequence[NewAccount]) -> int:
        """Seed many accounts in one transaction (the `seed` command; no tokens involved)."""
        users: dict[str, int] = {}
        touched: dict[int, float] = {}
        with self._tx() as db:
            rows: list[tuple[Any, ...]] = []
            pending: set[str] = set()  # ids of rows not inserted yet (the SELECT cannot see them)
            for new in accounts:
                user_seq = users.get(new.external_id)
                if user_seq is None:
                    user_seq = self._ensure_user(db, scope, new.external_id, new.now)
                    users[new.external_id] = user_seq
                account_id = self._free_account_id(db, taken=pending)
                pending.add(account_id)
                rows.append(self._account_values(account_id, scope, user_seq, new))
                touched[user_seq] = new.now
                if len(rows) >= _BULK_CHUNK:
                    self._insert_rows(db, rows)
                    rows, pending = [], set()
            self._insert_rows(db, rows)
            db.executemany(
                "UPDATE users SET updated_at=? WHERE seq=?",
                [(now, seq) for seq, now in touched.items()],
            )
        return len(accounts)

    @staticmethod
    def _free_account_id(db: sqlite3.Connection, taken: set[str]) -> str:
        """A fresh account id. Seven base-62 characters (as Pipedream's) collide within a
        million accounts about once in seven sets, so every id is checked before use."""
        while True:
            account_id = new_id("apn_", 7)
            if account_id in taken:
                continue
            if db.execute("SELECT 1 FROM accounts WHERE id=?", (account_id,)).fetchone() is None:
                return account_id

    def _account_values(
        self, account_id: str, scope: Scope, user_seq: int, new: NewAccount
    ) -> tuple[Any, ...]:
        return (
            account_id, scope.project_id, scope.environment, user_seq, new.app_slug,
            new.name, self._seal(account_id, scope, new.credentials), new.now, new.now,
            new.expires_at, new.now if new.expires_at else None, new.next_refresh_at,
        )  # fmt: skip

    @staticmethod
    def _insert_rows(db: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        db.executemany(
            "INSERT INTO accounts (id, project_id, environment, user_seq, app_slug, name,"
            " credentials, created_at, updated_at, expires_at, last_refreshed_at,"
            " next_refresh_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def _spend_token(self, db: sqlite3.Connection, token_digest: str, now: float) -> None:
        """Mark a connect token used, re-checked inside the caller's transaction."""
        cur = db.execute(
            "UPDATE connect_tokens SET used_at=? WHERE digest=? AND used_at IS NULL"
            " AND expires_at > ?",
            (now, token_digest, now),
        )
        if cur.rowcount != 1:
            raise StoreError("connect token already used or expired")

    def _insert_account(self, db: sqlite3.Connection, scope: Scope, new: NewAccount) -> str:
        user_seq = self._ensure_user(db, scope, new.external_id, new.now)
        account_id = self._free_account_id(db, taken=set())
        self._insert_rows(db, [self._account_values(account_id, scope, user_seq, new)])
        db.execute("UPDATE users SET updated_at=? WHERE seq=?", (new.now, user_seq))
        return account_id

    def update_credentials(
        self, scope: Scope, account_id: str, new: NewAccount, *, token_digest: str
    ) -> AccountRow | None:
        """Reconnect: replace an account's credentials, spending the connect token."""
        with self._tx() as db:
            self._spend_token(db, token_digest, new.now)
            cur = db.execute(
                "UPDATE accounts SET credentials=?, updated_at=?, expires_at=?,"
                " last_refreshed_at=?, next_refresh_at=?, healthy=1, dead=0, error=NULL,"
                " name=COALESCE(?, name)"
                " WHERE id=? AND project_id=? AND environment=? AND app_slug=? AND user_seq="
                " (SELECT seq FROM users WHERE project_id=? AND environment=? AND external_id=?)",
                (
                    self._seal(account_id, scope, new.credentials), new.now, new.expires_at,
                    new.now if new.expires_at else None, new.next_refresh_at, new.name,
                    account_id, scope.project_id, scope.environment, new.app_slug,
                    scope.project_id, scope.environment, new.external_id,
                ),
            )  # fmt: skip
            if cur.rowcount != 1:
                raise LookupError(account_id)
        return self.get_account(scope, account_id)

    def get_account(self, scope: Scope, account_id: str) -> AccountRow | None:
        row = self._one(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts a JOIN users u ON u.seq = a.user_seq"  # noqa: S608
            " WHERE a.id=? AND a.project_id=? AND a.environment=?",
            (account_id, scope.project_id, scope.environment),
        )
        return None if row is None else _account(row)

    def list_accounts(
        self,
        scope: Scope,
        page: PageRequest,
        *,
        external_id: str | None = None,
        app_slugs: Sequence[str] | None = None,
    ) -> Page[AccountRow]:
        where = "a.project_id=? AND a.environment=?"
        params: list[Any] = [scope.project_id, scope.environment]
        if external_id is not None:
            # By the user's seq, so SQLite walks `accounts_user` (that user's rows only)
            # instead of every account of the project: O(page), not O(project).
            where += (
                " AND a.user_seq=(SELECT seq FROM users"
                " WHERE project_id=? AND environment=? AND external_id=?)"
            )
            params.extend([scope.project_id, scope.environment, external_id])
        if app_slugs is not None:
            where += f" AND a.app_slug IN ({','.join('?' * len(app_slugs)) or 'NULL'})"
            params.extend(app_slugs)
        return self._page(
            _ACCOUNT_COLUMNS,
            "accounts a JOIN users u ON u.seq = a.user_seq",
            "a.seq",
            where,
            params,
            page,
            _account,
        )

    def delete_account(self, scope: Scope, account_id: str) -> bool:
        with self._tx() as db:
            cur = db.execute(
                "DELETE FROM accounts WHERE id=? AND project_id=? AND environment=?",
                (account_id, scope.project_id, scope.environment),
            )
            return cur.rowcount == 1

    def delete_app_accounts(self, scope: Scope, app_slug: str) -> int:
        with self._tx() as db:
            cur = db.execute(
                "DELETE FROM accounts WHERE app_slug=? AND project_id=? AND environment=?",
                (app_slug, scope.project_id, scope.environment),
            )
            return cur.rowcount

    # -- keys ----------------------------------------------------------------------------

    def rotate_key(self, new_key: DataKey) -> int:
        """Re-encrypt every credential and the key check under `new_key`, all or nothing."""
        with self._tx() as db:
            rows = db.execute("SELECT id, project_id, environment, credentials FROM accounts")
            resealed = []
            for account_id, project_id, environment, sealed in rows.fetchall():
                aad = _aad(account_id, project_id, environment)
                plain = crypto.open_sealed(self._key, sealed, aad=aad)
                resealed.append((crypto.seal(new_key, plain, aad=aad), account_id))
            db.executemany("UPDATE accounts SET credentials=? WHERE id=?", resealed)
            db.execute(
                "UPDATE meta SET value=? WHERE key='key_check'",
                (crypto.seal(new_key, b"ok", aad=_KEY_CHECK_AAD),),
            )
        self._key = new_key
        return len(resealed)

    def vacuum(self) -> None:
        """Drop old ciphertexts from free pages and the WAL, so the old key opens nothing.

        Run after a rotation only once the new key is safely on disk: VACUUM can fail (it
        needs twice the database's size in free space; Ctrl-C interrupts it), and such a
        failure must not cost the only copy of the key the data is now sealed with."""
        with self._lock:
            self._db.execute("VACUUM")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- paging --------------------------------------------------------------------------

    def _page(
        self,
        columns: str,
        from_clause: str,
        seq_column: str,
        where: str,
        params: Sequence[Any],
        page: PageRequest,
        convert: Callable[[Any], T],
    ) -> Page[T]:
        """A page and its counts from one read snapshot, even with a seeder writing."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                return fetch_page(
                    self._db, columns, from_clause, seq_column, where, params, page, convert
                )
            finally:
                self._db.execute("COMMIT")
