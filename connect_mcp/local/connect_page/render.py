"""HTML rendering for the Connect Link page: Jinja2 with autoescaping, strict headers.

Everything a page prints (app names, the external user id, field labels, the person's own
input, error messages) goes through Jinja2's HTML autoescaping; no template marks anything
`safe`. The one filter that emits markup, `code_spans`, escapes every piece of its input
first and adds only `<code>` tags of its own. The environment is built on first use, so
the MCP server's cold start, which starts the local server in-process, does not pay for
Jinja2.

Headers: the page is a capability-bearing URL (the token is in its query), so it is never
cached, never sent on as a referrer to another origin, and never framed except by the
token's `allowed_origins`. The Content-Security-Policy allows no script at all, our own
stylesheet, and form submissions only to this server and the token's redirect targets
(browsers apply `form-action` to the redirect that follows a submit).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.responses import HTMLResponse

from connect_mcp.origins import is_origin

if TYPE_CHECKING:
    from jinja2 import Environment
    from markupsafe import Markup

HERE = Path(__file__).parent
STYLESHEET = HERE / "static" / "connect.css"


def code_spans(text: object) -> Markup:
    """Catalog descriptions mark code with backticks (`sk_live_...`): show it as code."""
    from markupsafe import Markup, escape

    parts = str(text).split("`")
    if len(parts) % 2 == 0:  # unbalanced backticks: plain text
        return escape(str(text))
    pieces = [
        Markup("<code>") + escape(part) + Markup("</code>") if i % 2 else escape(part)
        for i, part in enumerate(parts)
    ]
    return Markup("").join(pieces)


@cache
def _environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["code_spans"] = code_spans
    return env


def origin_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def _csp_source(origin: str) -> str | None:
    """An origin as a CSP source expression, or None if it could break out of the header."""
    if any(ch in origin for ch in " ;,'\"\r\n\t"):
        return None
    return origin


def security_headers(
    *, form_targets: Iterable[str | None] = (), frame_origins: Iterable[str] = ()
) -> dict[str, str]:
    targets = ["'self'"]
    for url in form_targets:
        origin = origin_of(url)
        source = _csp_source(origin) if origin else None
        if source and source not in targets:
            targets.append(source)
    # Token creation accepts only origins; checked again here for rows stored before it did.
    frames = [o for o in frame_origins if is_origin(o)] or ["'none'"]
    csp = (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
        f"form-action {' '.join(targets)}; frame-ancestors {' '.join(frames)}"
    )
    headers = {
        "Content-Security-Policy": csp,
        "Cache-Control": "no-store",
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
    }
    if frames == ["'none'"]:
        headers["X-Frame-Options"] = "DENY"
    return headers


def page(
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    html = _environment().get_template(template).render(**context)
    return HTMLResponse(html, status, headers=headers or security_headers())
