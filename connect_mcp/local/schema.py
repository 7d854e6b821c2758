"""The SQLite schema of the local Connect server, as an ordered list of migrations.

The server brings any older database up to the newest version itself, inside one
transaction per step, so a data directory from an earlier release just works. Times are
stored as UNIX seconds (REAL); `seq` columns give a stable, gap-tolerant cursor order.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: projects, OAuth clients, tokens (digests only), users, accounts (sealed credentials)
    """
    CREATE TABLE projects (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE oauth_clients (
        client_id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL REFERENCES projects(id),
        secret_digest TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE access_tokens (
        digest TEXT PRIMARY KEY,
        client_id TEXT NOT NULL REFERENCES oauth_clients(client_id),
        project_id TEXT NOT NULL REFERENCES projects(id),
        expires_at REAL NOT NULL
    );
    CREATE TABLE connect_tokens (
        digest TEXT PRIMARY KEY,
        project_id TEXT NOT NULL REFERENCES projects(id),
        environment TEXT NOT NULL,
        external_user_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        used_at REAL,
        success_redirect_uri TEXT,
        error_redirect_uri TEXT,
        webhook_uri TEXT,
        allowed_origins TEXT NOT NULL DEFAULT '[]'
    );
    CREATE TABLE users (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        project_id TEXT NOT NULL REFERENCES projects(id),
        environment TEXT NOT NULL,
        external_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        UNIQUE (project_id, environment, external_id)
    );
    CREATE TABLE accounts (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        project_id TEXT NOT NULL REFERENCES projects(id),
        environment TEXT NOT NULL,
        user_seq INTEGER NOT NULL REFERENCES users(seq) ON DELETE CASCADE,
        app_slug TEXT NOT NULL,
        name TEXT,
        credentials TEXT NOT NULL,
        healthy INTEGER NOT NULL DEFAULT 1,
        dead INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        expires_at REAL,
        last_refreshed_at REAL,
        next_refresh_at REAL
    );
    CREATE INDEX accounts_scope ON accounts (project_id, environment, seq);
    CREATE INDEX accounts_user ON accounts (user_seq, seq);
    CREATE INDEX users_scope ON users (project_id, environment, seq);
    """,
    # 2: every token request sweeps expired tokens first; without these indexes each sweep
    # read the whole token table (O(tokens issued in the last 4 hours) per request).
    """
    CREATE INDEX connect_tokens_expiry ON connect_tokens (expires_at);
    CREATE INDEX access_tokens_expiry ON access_tokens (expires_at);
    """,
)
