"""Generated users and accounts, written straight into the store (demos and benchmarks).

Seeding bypasses HTTP on purpose: ten thousand accounts in one transaction take a second,
while going through connect tokens would hit the per-user token limit. The credentials are
random but shaped like the app's real ones, and they are sealed like any other.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from connect_mcp.local.bootstrap import open_data_dir
from connect_mcp.local.catalog import APPS, CatalogApp
from connect_mcp.local.store import NewAccount, Scope

_OAUTH_TTL = 3600.0


@dataclass(frozen=True)
class SeedResult:
    project_id: str
    environment: str
    users: int
    accounts: int


def generated_credentials(app: CatalogApp) -> dict[str, str]:
    """Random values in the shape of the app's fields."""
    creds: dict[str, str] = {}
    if app.auth_type == "oauth":
        creds["oauth_access_token"] = "seed_at_" + secrets.token_urlsafe(24)
        creds["oauth_refresh_token"] = "seed_rt_" + secrets.token_urlsafe(24)
        creds["oauth_uid"] = str(secrets.randbelow(10**9))
    for field in app.fields:
        if field.type == "password":
            creds[field.name] = "seed_" + secrets.token_urlsafe(24)
        elif field.default is not None:
            creds[field.name] = field.default
        else:
            creds[field.name] = f"seed-{field.name}-{secrets.token_hex(3)}"
    return creds


def seed(
    data_dir: Path,
    *,
    users: int,
    accounts_per_user: int,
    environment: str = "development",
    prefix: str = "seed-user-",
    encryption_key: str | None = None,
) -> SeedResult:
    """Create `users` external users with `accounts_per_user` accounts each."""
    if users < 0 or accounts_per_user < 0:
        raise ValueError("users and accounts must not be negative")
    opened = open_data_dir(data_dir, encryption_key=encryption_key)
    try:
        scope = Scope(opened.project.project_id, environment)
        now = time.time()
        batch: list[NewAccount] = []
        for u in range(users):
            for a in range(accounts_per_user):
                app = APPS[(u + a) % len(APPS)]
                expires = now + _OAUTH_TTL if app.auth_type == "oauth" else None
                batch.append(
                    NewAccount(
                        external_id=f"{prefix}{u:05d}",
                        app_slug=app.name_slug,
                        name=f"{app.name} #{a + 1}",
                        credentials=generated_credentials(app),
                        now=now,
                        expires_at=expires,
                        next_refresh_at=None if expires is None else expires - 300,
                    )
                )
        opened.store.create_accounts_bulk(scope, batch)
        return SeedResult(scope.project_id, environment, users, len(batch))
    finally:
        opened.close()
