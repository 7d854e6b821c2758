"""Cursor pagination as the Connect API does it: `after` / `before` / `limit`, `page_info`.

Cursors are opaque base64url strings around a row's insertion sequence number, so pages
stay stable while rows are added or deleted. `end_cursor` is set only when more rows follow
the page and `start_cursor` only when rows precede it: the official SDKs stop iterating
exactly when `end_cursor` is empty.
"""

from __future__ import annotations

import base64
import binascii
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

DEFAULT_LIMIT = 100
MAX_LIMIT = 100


class HasSeq(Protocol):
    @property
    def seq(self) -> int: ...


T = TypeVar("T", bound=HasSeq)


class CursorError(ValueError):
    """A cursor this server did not issue."""


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        prefix, _, number = text.partition(":")
        if prefix != "seq" or not number.isdigit():
            raise CursorError(cursor)
        return int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise CursorError(cursor) from exc


@dataclass(frozen=True)
class PageRequest:
    after: int | None = None
    before: int | None = None
    limit: int = DEFAULT_LIMIT


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    total_count: int
    has_before: bool
    has_after: bool

    def page_info(self) -> dict[str, Any]:
        return {
            "count": len(self.rows),
            "total_count": self.total_count,
            "start_cursor": encode_cursor(self.rows[0].seq)
            if self.rows and self.has_before
            else None,
            "end_cursor": encode_cursor(self.rows[-1].seq)
            if self.rows and self.has_after
            else None,
        }


def fetch_page(
    db: sqlite3.Connection,
    columns: str,
    from_clause: str,
    seq_column: str,
    where: str,
    params: Sequence[Any],
    page: PageRequest,
    convert: Callable[[Any], T],
) -> Page[T]:
    """One page of `SELECT columns FROM from_clause WHERE where`, by `seq_column`.

    With only `before`, the page is the `limit` rows just before the cursor (walking back);
    otherwise it is the `limit` rows just after `after` (or from the start). The SQL pieces
    are fixed strings from the store; every value travels as a parameter.
    """
    bounds = ""
    bound_params: list[Any] = []
    if page.after is not None:
        bounds += f" AND {seq_column} > ?"
        bound_params.append(page.after)
    if page.before is not None:
        bounds += f" AND {seq_column} < ?"
        bound_params.append(page.before)
    backwards = page.before is not None and page.after is None
    order = "DESC" if backwards else "ASC"
    base = f"FROM {from_clause} WHERE {where}"
    raw = db.execute(
        f"SELECT {columns} {base}{bounds} ORDER BY {seq_column} {order} LIMIT ?",
        [*params, *bound_params, page.limit],
    ).fetchall()
    rows = [convert(r) for r in raw]
    if backwards:
        rows.reverse()
    total = int(db.execute(f"SELECT COUNT(*) {base}", params).fetchone()[0])
    has_before = has_after = False
    if rows:
        probe = f"SELECT 1 {base} AND {seq_column} %s ? LIMIT 1"
        has_before = db.execute(probe % "<", [*params, rows[0].seq]).fetchone() is not None
        has_after = db.execute(probe % ">", [*params, rows[-1].seq]).fetchone() is not None
    return Page(rows=rows, total_count=total, has_before=has_before, has_after=has_after)
