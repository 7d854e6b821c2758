"""Request bodies read within a limit, for every Starlette app of the project (the local
Connect server's API and pages, and the MCP server's confirmation page).

A body over the limit is refused from its declared `Content-Length` before a byte is read,
else while it streams in - the stream is counted, so a chunked body (or one longer than
declared) is never buffered past the limit. Callers turn the exceptions into their own
answers (a JSON API error, an HTML page).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

if TYPE_CHECKING:
    from starlette.requests import Request


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit // 1024} KiB")
        self.limit = limit


class BadContentLength(Exception):
    """A `Content-Length` header that is not a number."""


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise BadContentLength("invalid Content-Length header")
        if int(declared) > limit:
            raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def url_encoded_form(request: Request, limit: int) -> dict[str, str] | None:
    """The first value of each name of an `application/x-www-form-urlencoded` body, or None
    when the body is not one (or its length header is malformed). `BodyTooLarge` past
    `limit`."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return None
    try:
        raw = (await read_limited(request, limit)).decode("utf-8", "replace")
    except BadContentLength:
        return None
    form: dict[str, str] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        form.setdefault(key, value)
    return form
