"""The confirmation page of the out-of-band gate: GET shows exactly what will be deleted, POST
decides.

The page is reached only through the URL the gate handed to the person's MCP client; the id in
it is the capability. So the page:

* never changes anything on GET (a link preview or prefetch cannot confirm); it only records
  that it was shown and hands out a fresh anti-forgery value for its own form;
* accepts a decision only as a same-origin POST carrying one of the values its pages handed out
  (a cross-site form, or a script that never loaded the page, cannot confirm);
* prints everything through Jinja2's autoescaping (account names and user ids come from
  upstream and from people), allows no script, no framing, no caching, and no referrer to another
  origin - the address must not travel on;
* reads at most `MAX_FORM` bytes of a body.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from connect_mcp.bodies import BodyTooLarge, url_encoded_form
from connect_mcp.server.confirmations import Confirmation, ConfirmationStore

if TYPE_CHECKING:
    from jinja2 import Environment
    from starlette.requests import Request

HERE = Path(__file__).parent
MAX_FORM = 2048
_ID = re.compile(r"[A-Za-z0-9_-]{20,64}")

CSS = (
    "body{margin:0;background:#f4f5f7;color:#1d2430;font:15px/1.5 system-ui,sans-serif}"
    ".shell{max-width:760px;margin:32px auto;padding:0 16px}"
    ".card{background:#fff;border:1px solid #d9dde3;border-radius:10px;padding:24px 28px}"
    "h1{font-size:22px;margin:0 0 8px}.lead{font-size:16px;margin:0 0 16px}"
    ".facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0 0 16px}"
    ".facts dt{color:#5b6472}.facts dd{margin:0}"
    "table{width:100%;border-collapse:collapse;margin:0 0 16px}"
    "th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e6e8ec;vertical-align:top}"
    "th{font-size:13px;color:#5b6472}code{font-size:13px;word-break:break-all}"
    ".warn{color:#8a1c1c}.result{font-size:16px}"
    "button{font:inherit;padding:8px 16px;border-radius:6px;border:1px solid #9aa3af;"
    "background:#fff;margin-right:8px;cursor:pointer}"
    "button.danger{background:#b42318;border-color:#b42318;color:#fff}"
    ".foot{color:#5b6472;font-size:13px;margin-top:12px}"
)
_CSS_SOURCE = "'sha256-" + base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode() + "'"

HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; style-src {_CSS_SOURCE}; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    # Not "no-referrer": browsers then send `Origin: null` with the form, and the same-origin
    # check below could not tell our own form from a sandboxed forgery. The page links nowhere.
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}

_RESULT = {
    "confirmed": "Confirmed. Waiting for the assistant to carry out the delete.",
    "executed": "Confirmed. The delete of exactly the items above is being carried out.",
    "expired": "This confirmation expired. Nothing was deleted.",
}


@cache
def _environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _page(status: int, title: str, confirmation: Confirmation | None, **extra: Any) -> Response:
    from markupsafe import Markup

    context: dict[str, Any] = {
        "title": title,
        "css": Markup(CSS),  # noqa: S704 - our own constant; its hash is in the CSP
        "confirmation": confirmation,
        "state": confirmation.state if confirmation is not None else "unknown",
        "result": "",
        "valid_for": "",
        "page_token": "",
        **extra,
    }
    html = _environment().get_template("confirm.html").render(**context)
    return HTMLResponse(html, status, headers=HEADERS)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} more seconds"
    return f"{round(seconds / 60)} more minutes"


def _not_found() -> Response:
    return _page(
        404,
        "Unknown confirmation",
        None,
        result="This confirmation link is unknown or expired long ago. Nothing was deleted.",
    )


def _misnamed() -> Response:
    return _page(
        403, "Refused", None, result="This page is not served under that name. Nothing changed."
    )


def _outcome_text(confirmation: Confirmation) -> str:
    if confirmation.state == "cancelled":
        return f"Cancelled: nothing was deleted ({confirmation.reason})."
    return _RESULT.get(confirmation.state, "")


_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True)
class Site:
    """The names the pages are served under: their links' origin (and the server's own listen
    address). The request's own scheme and Host say nothing trustworthy - behind a TLS proxy the
    scheme is wrong, and under DNS rebinding the Host is the attacker's name."""

    origins: frozenset[str]
    hosts: frozenset[str]

    @classmethod
    def of(cls, *base_urls: str) -> Site:
        origins: set[str] = set()
        hosts: set[str] = set()
        for url in base_urls:
            parts = urlsplit(url)
            names = [parts.netloc.lower()]
            if parts.hostname in ("127.0.0.1", "localhost", "::1"):
                port = f":{parts.port}" if parts.port else ""
                names = [f"{alias}{port}" for alias in _LOOPBACK]
            hosts.update(names)
            origins.update(f"{parts.scheme.lower()}://{name}" for name in names)
        return cls(frozenset(origins), frozenset(hosts))

    def misnamed(self, request: Request) -> bool:
        return request.headers.get("host", "").lower() not in self.hosts

    def foreign(self, request: Request) -> bool:
        """A POST another site made the browser send. Browsers send `Origin` on every POST,
        and `Sec-Fetch-Site` on all current versions; either one saying "elsewhere" refuses
        it. (A client without them is not a browser, and could fake both anyway.)"""
        origin = request.headers.get("origin")
        if origin is not None and origin.lower() not in self.origins:
            return True
        fetch_site = request.headers.get("sec-fetch-site")
        return fetch_site is not None and fetch_site not in ("same-origin", "none")


def routes(store: ConfirmationStore, site: Site) -> list[Route]:
    """`GET|POST /confirm/{id}` over `store`, for any Starlette app serving `site`."""

    def lookup(request: Request) -> Confirmation | None:
        confirmation_id = request.path_params["confirmation_id"]
        return store.get(confirmation_id) if _ID.fullmatch(confirmation_id) else None

    async def show(request: Request) -> Response:
        if site.misnamed(request):
            return _misnamed()
        confirmation = lookup(request)
        if confirmation is None:
            return _not_found()
        if confirmation.state != "pending":
            return _page(200, "Delete - decided", confirmation, result=_outcome_text(confirmation))
        return _page(
            200,
            "Confirm delete",
            confirmation,
            page_token=store.shown(confirmation),
            valid_for=_duration(store.remaining(confirmation)),
        )

    async def decide(request: Request) -> Response:
        if site.misnamed(request):
            return _misnamed()
        if site.foreign(request):
            return _page(
                403,
                "Refused",
                None,
                result="This form was sent from another site. Nothing was changed.",
            )
        confirmation = lookup(request)
        if confirmation is None:
            return _not_found()
        try:
            form = await url_encoded_form(request, MAX_FORM)
        except BodyTooLarge:
            return _page(413, "Too large", None, result="The form is too large. Nothing changed.")
        decision = form.get("decision") if form is not None else None
        if form is None or decision not in ("confirm", "cancel"):
            return _page(400, "Bad request", None, result="Malformed form. Nothing was changed.")
        if confirmation.state != "pending":
            return _page(409, "Already decided", confirmation, result=_outcome_text(confirmation))
        choice: Literal["confirm", "cancel"] = "confirm" if decision == "confirm" else "cancel"
        if not store.decide(confirmation, form.get("page_token", ""), choice):
            return _page(
                403,
                "Refused",
                None,
                result="This form did not come from the confirmation page. Nothing was changed.",
            )
        # Post/redirect/get: a reload shows the outcome instead of posting again. Relative (the
        # page's own last segment), so a proxy's path prefix is kept.
        return RedirectResponse(confirmation.id, status_code=303, headers=HEADERS)

    return [
        Route("/confirm/{confirmation_id}", show, methods=["GET"]),
        Route("/confirm/{confirmation_id}", decide, methods=["POST"]),
    ]


@asynccontextmanager
async def serve_pages(store: ConfirmationStore, *, port: int = 0) -> AsyncIterator[str]:
    """Serve the pages on 127.0.0.1 (stdio and in-process servers have no HTTP app of their
    own); yields the base URL. Runs on the caller's event loop, beside the MCP server that
    shares `store`, and leaves the process's signal handlers alone."""
    import socket

    import anyio
    import uvicorn
    from starlette.applications import Starlette

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        Starlette(routes=routes(store, Site.of(base))),
        log_config=None,
        access_log=False,
        lifespan="off",
        ws="none",
    )
    server = uvicorn.Server(config)
    config.load()
    server.lifespan = config.lifespan_class(config)
    await server.startup(sockets=[sock])
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.main_loop)
            try:
                yield base
            finally:
                server.should_exit = True
    finally:
        await server.shutdown(sockets=[sock])
        sock.close()
