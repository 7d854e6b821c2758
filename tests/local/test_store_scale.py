"""The store at scale: account ids stay unique when the random ids collide, bulk seeding
keeps the same shape as one-by-one inserts, and one user's page does not read the project."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connect_mcp.local import store as store_module
from connect_mcp.local.bootstrap import open_data_dir
from connect_mcp.local.paging import PageRequest
from connect_mcp.local.seed import seed
from connect_mcp.local.store import NewAccount, Scope


def _account(user: str) -> NewAccount:
    return NewAccount(
        external_id=user, app_slug="openai", name=None, credentials={"api_key": "k" * 20},
        now=time.time(),
    )  # fmt: skip


def test_colliding_random_ids_are_drawn_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real collision needs ~10^6 accounts (7 base-62 characters); a fixed sequence of
    # ids - the only mock here - makes it happen on the first draw.
    opened = open_data_dir(tmp_path)
    real = store_module.new_id
    draws: Iterator[str] = iter(["apn_AAAAAAA", "apn_AAAAAAA", "apn_BBBBBBB", "apn_AAAAAAA"])

    def scripted(prefix: str, length: int = 10) -> str:
        return (
            next(draws, None) or real(prefix, length) if prefix == "apn_" else real(prefix, length)
        )

    monkeypatch.setattr(store_module, "new_id", scripted)
    try:
        scope = Scope(opened.project.project_id, "development")
        bulk = opened.store.create_accounts_bulk(scope, [_account("u1"), _account("u1")])
        single = opened.store.create_account(scope, _account("u2"))
        rows = opened.store.list_accounts(scope, PageRequest()).rows
    finally:
        opened.close()
    assert bulk == 2
    ids = [r.id for r in rows]
    assert len(set(ids)) == 3
    assert ids[:2] == ["apn_AAAAAAA", "apn_BBBBBBB"]
    assert single.id not in ids[:2]


def test_one_users_page_among_many(tmp_path: Path) -> None:
    seed(tmp_path, users=300, accounts_per_user=3)
    opened = open_data_dir(tmp_path)
    try:
        scope = Scope(opened.project.project_id, "development")
        page = opened.store.list_accounts(
            scope, PageRequest(limit=2), external_id="seed-user-00150"
        )
        rest = opened.store.list_accounts(
            scope, PageRequest(after=page.rows[-1].seq), external_id="seed-user-00150"
        )
        nobody = opened.store.list_accounts(scope, PageRequest(), external_id="nobody")
        for row in page.rows:
            assert opened.store.credentials(row)  # sealed under its own id
    finally:
        opened.close()
    assert [r.external_id for r in page.rows + rest.rows] == ["seed-user-00150"] * 3
    assert (page.total_count, page.has_after, page.has_before) == (3, True, False)
    assert (rest.total_count, rest.has_after, rest.has_before, len(rest.rows)) == (
        3,
        False,
        True,
        1,
    )
    assert nobody.rows == []
    assert nobody.total_count == 0
