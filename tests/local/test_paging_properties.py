"""Properties of cursor paging, checked on the store directly (fast, many cases)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connect_mcp.local.crypto import DataKey
from connect_mcp.local.paging import CursorError, PageRequest, decode_cursor, encode_cursor
from connect_mcp.local.store import NewAccount, Scope, Store

SCOPE = Scope("proj_test", "development")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, list[str]]]:
    path: Path = tmp_path_factory.mktemp("props") / "connect.db"
    store = Store(path, DataKey.generate())
    store.create_project(SCOPE.project_id, "t", time.time())
    store.create_accounts_bulk(
        SCOPE,
        [
            NewAccount(f"user-{i % 4}", "stripe", None, {"api_key": str(i)}, time.time())
            for i in range(23)
        ],
    )
    every = store.list_accounts(SCOPE, PageRequest(limit=100)).rows
    # Holes in the sequence: deleted rows must not break cursors.
    for row in every[3:20:4]:
        store.delete_account(SCOPE, row.id)
    ids = [r.id for r in store.list_accounts(SCOPE, PageRequest(limit=100)).rows]
    yield store, ids
    store.close()


@settings(max_examples=60, deadline=None)
@given(limit=st.integers(1, 30), user=st.sampled_from([None, "user-1", "user-3"]))
def test_walking_forward_and_back_sees_everything_once(
    store: tuple[Store, list[str]], limit: int, user: str | None
) -> None:
    db, _ = store
    expected = [r.id for r in db.list_accounts(SCOPE, PageRequest(), external_id=user).rows]
    forward: list[str] = []
    page = db.list_accounts(SCOPE, PageRequest(limit=limit), external_id=user)
    pages = [page]
    while True:
        forward += [r.id for r in page.rows]
        assert page.total_count == len(expected)
        info = page.page_info()
        assert info["count"] == len(page.rows) <= limit
        if info["end_cursor"] is None:
            break
        page = db.list_accounts(
            SCOPE,
            PageRequest(after=decode_cursor(info["end_cursor"]), limit=limit),
            external_id=user,
        )
        pages.append(page)
    assert forward == expected
    assert len(pages) == max(1, -(-len(expected) // limit))

    backward: list[str] = []
    page = pages[-1]
    while True:
        backward = [r.id for r in page.rows] + backward
        info = page.page_info()
        if info["start_cursor"] is None:
            break
        page = db.list_accounts(
            SCOPE,
            PageRequest(before=decode_cursor(info["start_cursor"]), limit=limit),
            external_id=user,
        )
    assert backward == expected


@given(st.integers(0, 2**62))
def test_cursor_round_trip(seq: int) -> None:
    assert decode_cursor(encode_cursor(seq)) == seq


@given(st.text(max_size=40))
def test_foreign_cursors_are_rejected_not_crashing(text: str) -> None:
    try:
        seq = decode_cursor(text)
    except CursorError:
        return
    assert seq >= 0
