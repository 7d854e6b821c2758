"""HTTP handlers of the Connect Link page (server-rendered, no JavaScript).

    GET  /_static/connect.html?token=…&connectLink=true[&app=slug][&accountId=apn_…][&q=…]
    POST /_static/connect/keys    key-based app: the credential form
    POST /_static/connect/oauth   OAuth app: the local consent screen (Allow / Deny)
    GET  /_static/connect.css

CSRF: there is no cookie or session; the connect token in the form body is the only
capability, so a forged cross-site post would need the token itself. As a second line,
a POST whose `Origin` names another origin (or `null`) is refused. Every failure a person
can reach renders a page that says what happened; none renders a stack trace.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from connect_mcp.local.catalog import APPS, CatalogApp, find_app
from connect_mcp.local.connect_page import flow
from connect_mcp.local.connect_page.fields import MAX_VALUE, check_form, form_fields
from connect_mcp.local.connect_page.flow import Link, LinkProblem
from connect_mcp.local.connect_page.render import STYLESHEET, page, security_headers
from connect_mcp.local.http import state_of
from connect_mcp.local.state import LocalState
from connect_mcp.log import get_logger

PAGE_PATH = "/_static/connect.html"
MAX_FORM = 64 * 1024
PROJECT_NAME = "connect-mcp local"

_log = get_logger("connect_mcp.local.connect_page")
Handler = Callable[[Request], Awaitable[Response]]


# -- plumbing -------------------------------------------------------------------------------


def _base(request: Request, **extra: Any) -> dict[str, Any]:
    return {"host": request.headers.get("host", ""), "title": "Connect an account", **extra}


def _never_a_traceback(handler: Handler) -> Handler:
    """A bug renders a plain apology page (and is logged, redacted), never a traceback."""

    @wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except Exception as exc:
            _log.error("connect_page_error", path=request.url.path, error=repr(exc))
            return page(
                "problem.html",
                _base(
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


def _problem_page(request: Request, problem: LinkProblem) -> Response:
    message, status = _PROBLEM_TEXT[problem]
    return page(
        "problem.html",
        _base(
            request,
            title=problem.value,
            message=message,
            hint="Ask the app that sent you here for a new connect link.",
            back_url=None,
        ),
        status=status,
    )


def _notice(request: Request, link: Link, title: str, message: str, status: int) -> Response:
    return page(
        "problem.html",
        _base(
            request,
            title=title,
            message=message,
            hint=None,
            back_url=_page_url(link.token),
            back_label="Choose an app",
            user=link.user,
            environment=link.row.environment,
        ),
        status=status,
    )


def _page_url(token: str, **params: str) -> str:
    return PAGE_PATH + "?" + urlencode({"token": token, "connectLink": "true", **params})


def _headers(link: Link) -> dict[str, str]:
    row = link.row
    return security_headers(
        form_targets=(row.success_redirect_uri, row.error_redirect_uri),
        frame_origins=row.allowed_origins,
    )


def _app_view(app: CatalogApp, token: str) -> dict[str, Any]:
    hue = hashlib.sha256(app.name_slug.encode()).digest()[0] % 8
    return {
        "slug": app.name_slug,
        "name": app.name,
        "initial": app.name[:1].upper(),
        "hue": hue,
        "kind": "OAuth" if app.auth_type == "oauth" else "API key",
        "categories": ", ".join(app.categories),
        "url": _page_url(token, app=app.name_slug),
    }


def _link_context(request: Request, link: Link, **extra: Any) -> dict[str, Any]:
    return _base(request, user=link.user, environment=link.row.environment, **extra)


# -- GET: picker, form or consent -----------------------------------------------------------


def _matches(app: CatalogApp, query: str) -> bool:
    haystack = " ".join((app.name, app.name_slug, app.description, *app.categories)).lower()
    return all(word in haystack for word in query.lower().split())


def _picker(request: Request, link: Link, query: str, notice: str | None = None) -> Response:
    apps = [_app_view(a, link.token) for a in APPS if _matches(a, query)]
    context = _link_context(request, link, token=link.token, query=query, apps=apps, notice=notice)
    return page("picker.html", context, headers=_headers(link))


def _app_page(
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
    context = _link_context(
        request,
        link,
        title=f"Connect {app.name}",
        token=link.token,
        app=_app_view(app, link.token),
        reconnect=reconnect,
        fields=fields,
        values=values or {},
        errors=errors or {},
        had_secrets=any(f.secret for f in fields),
        max_value=MAX_VALUE,
        picker_url=None if reconnect else _page_url(link.token),
        project_name=PROJECT_NAME,
        scopes=list(app.scopes),
    )
    template = "keys.html" if app.auth_type == "keys" else "consent.html"
    return page(template, context, status=status, headers=_headers(link))


@_never_a_traceback
async def show(request: Request) -> Response:
    state = state_of(request)
    params = request.query_params
    link = flow.open_link(state, params.get("token"))
    if isinstance(link, LinkProblem):
        return _problem_page(request, link)
    app_param = params.get("app") or None
    account_id = params.get("accountId") or None
    if account_id is not None:
        target = flow.reconnect_target(state, link, account_id)
        if target is None:
            return _notice(
                request,
                link,
                "This account cannot be reconnected here",
                "The account in this link does not exist or belongs to someone else.",
                404,
            )
        app = find_app(target.app_slug)
        if app is None or (app_param and find_app(app_param) is not app):
            return _notice(
                request,
                link,
                "This link does not match the account",
                "The app in this link is not the app of the account to reconnect.",
                400,
            )
        return _app_page(request, link, app, reconnect=target.id)
    if app_param is None:
        return _picker(request, link, (params.get("q") or "")[:100])
    app = find_app(app_param)
    if app is None:
        return _picker(request, link, "", notice=f"There is no app called “{app_param[:80]}”.")
    return _app_page(request, link, app, reconnect=None)


# -- POST: connect --------------------------------------------------------------------------


def _foreign_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return False  # not a browser form post; the token in the body is the capability
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    return origin.lower() != own.lower()


async def _form(request: Request) -> dict[str, str] | None:
    """The url-encoded body (first value of each name), or None if it is not one."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return None
    raw = await request.body()
    if len(raw) > MAX_FORM:
        return None
    form: dict[str, str] = {}
    for key, value in parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True):
        form.setdefault(key, value)
    return form


async def _posted(
    request: Request, auth_type: str
) -> tuple[LocalState, Link, CatalogApp, str | None, dict[str, str]] | Response:
    """Everything both POSTs check first; a Response when the post cannot go on."""
    if _foreign_origin(request):
        return page(
            "problem.html",
            _base(
                request,
                title="This form came from another site",
                message="For your safety, forms for this page are accepted only from this page.",
                hint="Open the connect link you were given and try again.",
                back_url=None,
            ),
            status=403,
        )
    form = await _form(request)
    if form is None:
        return page(
            "problem.html",
            _base(request, title="Unreadable form", message="The form could not be read.",
                  hint="Open the connect link again.", back_url=None),
            status=400,
        )  # fmt: skip
    state = state_of(request)
    link = flow.open_link(state, form.get("token"))
    if isinstance(link, LinkProblem):
        return _problem_page(request, link)
    app = find_app(form.get("app") or "")
    if app is None or app.auth_type != auth_type:
        return _notice(request, link, "Unknown app", "Choose the app to connect again.", 400)
    reconnect = form.get("account_id") or None
    if reconnect is not None:
        target = flow.reconnect_target(state, link, reconnect)
        if target is None or target.app_slug != app.name_slug:
            return _notice(
                request,
                link,
                "This account cannot be reconnected here",
                "The account does not exist, belongs to someone else, or is of another app.",
                404,
            )
    return state, link, app, reconnect, form


def _connected(
    request: Request,
    state: LocalState,
    link: Link,
    app: CatalogApp,
    credentials: dict[str, str],
    *,
    name: str | None,
    reconnect: str | None,
) -> Response:
    try:
        account = flow.connect(state, link, app, credentials, name=name, reconnect_id=reconnect)
    except flow.ConnectFailed as exc:
        if exc.problem is not None:
            return _problem_page(request, exc.problem)
        return _notice(request, link, "This account cannot be reconnected", str(exc), 404)
    flow.report_success(state, link, account)
    if link.row.success_redirect_uri:
        target = flow.with_params(link.row.success_redirect_uri, account_id=account.id)
        return RedirectResponse(target, 303, headers={"Cache-Control": "no-store"})
    verb = "reconnected" if reconnect else "connected"
    return page(
        "result.html",
        _link_context(
            request,
            link,
            ok=True,
            title=f"{app.name} {verb}",
            message=f"Your {app.name} account is {verb}.",
            account_id=account.id,
            account_name=account.name,
        ),
        headers=security_headers(),
    )


@_never_a_traceback
async def submit_keys(request: Request) -> Response:
    posted = await _posted(request, "keys")
    if isinstance(posted, Response):
        return posted
    state, link, app, reconnect, form = posted
    checked = check_form(form_fields(app), form)
    if not checked.ok:
        return _app_page(
            request, link, app, reconnect=reconnect, values=form, errors=checked.errors, status=422
        )
    return _connected(
        request, state, link, app, checked.values, name=checked.name, reconnect=reconnect
    )


@_never_a_traceback
async def submit_consent(request: Request) -> Response:
    posted = await _posted(request, "oauth")
    if isinstance(posted, Response):
        return posted
    state, link, app, reconnect, form = posted
    decision = form.get("decision")
    if decision == "deny":
        return _denied(request, state, link, app)
    if decision != "allow":
        return _app_page(request, link, app, reconnect=reconnect, status=400)
    checked = check_form(form_fields(app), form)
    if not checked.ok:
        return _app_page(
            request, link, app, reconnect=reconnect, values=form, errors=checked.errors, status=422
        )
    credentials = flow.oauth_credentials(app, checked.values)
    return _connected(
        request, state, link, app, credentials, name=checked.name, reconnect=reconnect
    )


def _denied(request: Request, state: LocalState, link: Link, app: CatalogApp) -> Response:
    """Deny: the error path. The token stays unspent, so the person may change their mind."""
    message = f"The user denied access to {app.name}"
    flow.report_error(state, link, f"access_denied: {message}")
    if link.row.error_redirect_uri:
        target = flow.with_params(
            link.row.error_redirect_uri, error="access_denied", error_description=message
        )
        return RedirectResponse(target, 303, headers={"Cache-Control": "no-store"})
    return page(
        "result.html",
        _link_context(
            request,
            link,
            ok=False,
            title="Not connected",
            message=f"You denied access, so no {app.name} account was connected.",
            account_id=None,
            account_name=None,
        ),
        headers=security_headers(),
    )


async def stylesheet(_request: Request) -> Response:
    return Response(
        STYLESHEET.read_bytes(),
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
