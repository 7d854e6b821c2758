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

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from connect_mcp.bodies import BodyTooLarge, url_encoded_form
from connect_mcp.local.catalog import CatalogApp, find_app
from connect_mcp.local.connect_page import flow, views
from connect_mcp.local.connect_page.fields import check_form, form_fields
from connect_mcp.local.connect_page.flow import Link, LinkProblem
from connect_mcp.local.connect_page.render import STYLESHEET, page, security_headers
from connect_mcp.local.http import ApiError, body_too_large, state_of
from connect_mcp.local.state import LocalState

PAGE_PATH = views.PAGE_PATH
MAX_FORM = 64 * 1024


# -- GET: picker, form or consent -----------------------------------------------------------


@views.never_a_traceback
async def show(request: Request) -> Response:
    state = state_of(request)
    params = request.query_params
    link = flow.open_link(state, params.get("token"))
    if isinstance(link, LinkProblem):
        return views.problem_page(request, link)
    app_param = params.get("app") or None
    account_id = params.get("accountId") or None
    if account_id is not None:
        target = flow.reconnect_target(state, link, account_id)
        if target is None:
            return views.notice(
                request,
                link,
                "This account cannot be reconnected here",
                "The account in this link does not exist or belongs to someone else.",
                404,
            )
        app = find_app(target.app_slug)
        if app is None or (app_param and find_app(app_param) is not app):
            return views.notice(
                request,
                link,
                "This link does not match the account",
                "The app in this link is not the app of the account to reconnect.",
                400,
            )
        return views.app_page(request, link, app, reconnect=target.id)
    if app_param is None:
        return views.picker(request, link, (params.get("q") or "")[:100])
    app = find_app(app_param)
    if app is None:
        return views.picker(request, link, "", notice=f"There is no app called “{app_param[:80]}”.")
    return views.app_page(request, link, app, reconnect=None)


# -- POST: connect --------------------------------------------------------------------------


def _foreign_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return False  # not a browser form post; the token in the body is the capability
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    return origin.lower() != own.lower()


async def _form(request: Request) -> dict[str, str] | None:
    """The url-encoded body (`bodies.url_encoded_form`, within MAX_FORM), or None if it is not
    one; `ApiError` 413 beyond the limit."""
    try:
        return await url_encoded_form(request, MAX_FORM)
    except BodyTooLarge:
        raise body_too_large(MAX_FORM) from None


async def _posted(
    request: Request, auth_type: str
) -> tuple[LocalState, Link, CatalogApp, str | None, dict[str, str]] | Response:
    """Everything both POSTs check first; a Response when the post cannot go on."""
    if _foreign_origin(request):
        return page(
            "problem.html",
            views.base(
                request,
                title="This form came from another site",
                message="For your safety, forms for this page are accepted only from this page.",
                hint="Open the connect link you were given and try again.",
                back_url=None,
            ),
            status=403,
        )
    try:
        form = await _form(request)
    except ApiError:  # 413: the only error `_form` lets through
        return page(
            "problem.html",
            views.base(
                request,
                title="This form is too large",
                message=f"Forms for this page may be at most {MAX_FORM // 1024} KiB.",
                hint="Open the connect link again and fill in only the fields asked for.",
                back_url=None,
            ),
            status=413,
        )
    if form is None:
        return page(
            "problem.html",
            views.base(
                request,
                title="Unreadable form",
                message="The form could not be read.",
                hint="Open the connect link again.",
                back_url=None,
            ),
            status=400,
        )
    state = state_of(request)
    link = flow.open_link(state, form.get("token"))
    if isinstance(link, LinkProblem):
        return views.problem_page(request, link)
    app = find_app(form.get("app") or "")
    if app is None or app.auth_type != auth_type:
        return views.notice(request, link, "Unknown app", "Choose the app to connect again.", 400)
    reconnect = form.get("account_id") or None
    if reconnect is not None:
        target = flow.reconnect_target(state, link, reconnect)
        if target is None or target.app_slug != app.name_slug:
            return views.notice(
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
            return views.problem_page(request, exc.problem)
        return views.notice(request, link, "This account cannot be reconnected", str(exc), 404)
    flow.report_success(state, link, account)
    if link.row.success_redirect_uri:
        target = flow.with_params(link.row.success_redirect_uri, account_id=account.id)
        return RedirectResponse(target, 303, headers={"Cache-Control": "no-store"})
    verb = "reconnected" if reconnect else "connected"
    return page(
        "result.html",
        views.link_context(
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


@views.never_a_traceback
async def submit_keys(request: Request) -> Response:
    posted = await _posted(request, "keys")
    if isinstance(posted, Response):
        return posted
    state, link, app, reconnect, form = posted
    checked = check_form(form_fields(app), form)
    if not checked.ok:
        return views.app_page(
            request, link, app, reconnect=reconnect, values=form, errors=checked.errors, status=422
        )
    return _connected(
        request, state, link, app, checked.values, name=checked.name, reconnect=reconnect
    )


@views.never_a_traceback
async def submit_consent(request: Request) -> Response:
    posted = await _posted(request, "oauth")
    if isinstance(posted, Response):
        return posted
    state, link, app, reconnect, form = posted
    decision = form.get("decision")
    if decision == "deny":
        return _denied(request, state, link, app)
    if decision != "allow":
        return views.app_page(request, link, app, reconnect=reconnect, status=400)
    checked = check_form(form_fields(app), form)
    if not checked.ok:
        return views.app_page(
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
        views.link_context(
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
