"""Rendering the Connect Link page's screens: the picker, the credential form or consent
screen, and the pages that explain why a link cannot be used.

Handlers (`handlers`) decide what happens; this module only turns a decision into HTML with
the right status and headers. A bug anywhere in a handler renders an apology page, never a
traceback.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from connect_mcp.local.catalog import APPS, CatalogApp
from connect_mcp.local.connect_page.fields import MAX_VALUE, form_fields
from connect_mcp.local.connect_page.flow import Link, LinkProblem
from connect_mcp.local.connect_page.render import page, security_headers
from connect_mcp.log import get_logger

PAGE_PATH = "/_static/connect.html"
PROJECT_NAME = "connect-mcp local"

_log = get_logger("connect_mcp.local.connect_page")
Handler = Callable[[Request], Awaitable[Response]]


def base(request: Request, **extra: Any) -> dict[str, Any]:
    return {"host": request.headers.get("host", ""), "title": "Connect an account", **extra}


def never_a_traceback(handler: Handler) -> Handler:
    """A bug renders a plain apology page (and is logged, redacted), never a traceback."""

    @wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except Exception as exc:
            _log.error("connect_page_error", path=request.url.path, error=repr(exc))
            return page(
                "problem.html",
                base(
                    request,
                    title="Something went wrong",
                    message="The server could not finish this step. Nothing was connected.",
                    hint="Try the link again in a moment, or ask for a new one.",
                    back_url=None,
                ),
                status=500,
            )

    return wrapped


_PROBLEM_TEXT = {
    LinkProblem.MISSING: ("The link has no connect token.", 400),
    LinkProblem.INVALID: ("This connect link is not one this server issued.", 404),
    LinkProblem.USED: ("This link was already used to connect an account. Links work once.", 410),
    LinkProblem.EXPIRED: ("Please request a new one from the app developer.", 410),
}


def problem_page(request: Request, problem: LinkProblem) -> Response:
    message, status = _PROBLEM_TEXT[problem]
    return page(
        "problem.html",
        base(
            request,
            title=problem.value,
            message=message,
            hint="Ask the app that sent you here for a new connect link.",
            back_url=None,
        ),
        status=status,
    )


def notice(request: Request, link: Link, title: str, message: str, status: int) -> Response:
    return page(
        "problem.html",
        base(
            request,
            title=title,
            message=message,
            hint=None,
            back_url=page_url(link.token),
            back_label="Choose an app",
            user=link.user,
            environment=link.row.environment,
        ),
        status=status,
    )


def page_url(token: str, **params: str) -> str:
    return PAGE_PATH + "?" + urlencode({"token": token, "connectLink": "true", **params})


def headers_for(link: Link) -> dict[str, str]:
    row = link.row
    return security_headers(
        form_targets=(row.success_redirect_uri, row.error_redirect_uri),
        frame_origins=row.allowed_origins,
    )


def app_view(app: CatalogApp, token: str) -> dict[str, Any]:
    hue = hashlib.sha256(app.name_slug.encode()).digest()[0] % 8
    return {
        "slug": app.name_slug,
        "name": app.name,
        "initial": app.name[:1].upper(),
        "hue": hue,
        "kind": "OAuth" if app.auth_type == "oauth" else "API key",
        "categories": ", ".join(app.categories),
        "url": page_url(token, app=app.name_slug),
    }


def link_context(request: Request, link: Link, **extra: Any) -> dict[str, Any]:
    return base(request, user=link.user, environment=link.row.environment, **extra)


# -- the screens -----------------------------------------------------------------------------


def _matches(app: CatalogApp, query: str) -> bool:
    haystack = " ".join((app.name, app.name_slug, app.description, *app.categories)).lower()
    return all(word in haystack for word in query.lower().split())


def picker(request: Request, link: Link, query: str, notice: str | None = None) -> Response:
    apps = [app_view(a, link.token) for a in APPS if _matches(a, query)]
    context = link_context(request, link, token=link.token, query=query, apps=apps, notice=notice)
    return page("picker.html", context, headers=headers_for(link))


def app_page(
    request: Request,
    link: Link,
    app: CatalogApp,
    *,
    reconnect: str | None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    fields = form_fields(app)
    context = link_context(
        request,
        link,
        title=f"Connect {app.name}",
        token=link.token,
        app=app_view(app, link.token),
        reconnect=reconnect,
        fields=fields,
        values=values or {},
        errors=errors or {},
        had_secrets=any(f.secret for f in fields),
        max_value=MAX_VALUE,
        picker_url=None if reconnect else page_url(link.token),
        project_name=PROJECT_NAME,
        scopes=list(app.scopes),
    )
    template = "keys.html" if app.auth_type == "keys" else "consent.html"
    return page(template, context, status=status, headers=headers_for(link))
