"""Argument checks and path building, done before anything is sent.

Identifiers end up in URL paths, so each path segment is percent-encoded completely - a
``/`` in an external user id must stay *inside* its segment, and ``.``/``..`` segments are
encoded too, because URL normalisation would otherwise resolve them and send the request to
a different resource.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from connect_mcp.connect.errors import InvalidArgumentError
from connect_mcp.origins import ORIGIN_FORM, is_origin

MAX_EXTERNAL_USER_ID = 250


def text(name: str, value: Any, *, max_length: int | None = None) -> str:
    """A non-empty string that can travel as UTF-8 (no lone surrogates)."""
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be a string")
    if not value:
        raise InvalidArgumentError(f"{name} must not be empty")
    if max_length is not None and len(value) > max_length:
        raise InvalidArgumentError(f"{name} must be at most {max_length} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgumentError(f"{name} is not valid Unicode text") from None
    return value


def origin(name: str, value: Any) -> str:
    """A web origin (`connect_mcp.origins`): it feeds the Connect page's CSP."""
    checked = text(name, value)
    if not is_origin(checked):
        raise InvalidArgumentError(f"{name} entry {checked[:80]!r} is not an origin: {ORIGIN_FORM}")
    return checked


def optional_text(name: str, value: Any) -> str | None:
    return None if value is None else text(name, value)


def external_user_id(value: Any) -> str:
    """1-250 characters, as the API documents, and not only whitespace (an id that looks
    empty is a bug upstream of us, and the API refuses it too)."""
    checked = text("external_user_id", value, max_length=MAX_EXTERNAL_USER_ID)
    if not checked.strip():
        raise InvalidArgumentError("external_user_id must not be blank")
    return checked


def limit(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgumentError("limit must be a positive integer")
    return value


def segment(value: str) -> str:
    """One percent-encoded path segment (every reserved character encoded)."""
    quoted = urllib.parse.quote(value, safe="")
    return quoted.replace(".", "%2E") if quoted in (".", "..") else quoted


def header_value(name: str, value: str) -> str:
    """A value that can travel in an HTTP header unchanged: visible ASCII and spaces.
    Anything else would be mangled or refused by the HTTP layer, so it is refused here."""
    if any(not (" " <= ch <= "~") for ch in value):
        raise InvalidArgumentError(f"{name} must be printable ASCII to travel in an HTTP header")
    return value
