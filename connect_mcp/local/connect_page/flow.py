"""What a Connect Link does, without the HTML: check the link, connect, report the outcome.

The connect token in the link is the only capability: it names the project, environment
and external user, and it is looked up by digest like every bearer secret. Connecting
spends it in the same transaction that writes the account (`Store.create_account` /
`Store.update_credentials`), so a double submit or two tabs cannot connect twice. A refusal
or a validation error does not spend it: the person may correct the form and try again.

Every finished attempt (success, or the person denying consent) is reported to the token's
`webhook_uri` in the background, and redirects go to the token's redirect URIs.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import Enum
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from connect_mcp.local import webhooks
from connect_mcp.local.catalog import CatalogApp
from connect_mcp.local.state import LocalState
from connect_mcp.local.store import AccountRow, ConnectTokenRow, NewAccount, Scope, StoreError
from connect_mcp.local.views import account_json

OAUTH_TOKEN_TTL = 3600
REFRESH_MARGIN = 300
MAX_TOKEN_LENGTH = 200


class LinkProblem(Enum):
    """Why a link cannot be used; the value is the page's heading."""

    MISSING = "This link is incomplete"
    INVALID = "This link is not valid"
    USED = "This link has already been used"
    EXPIRED = "This link has expired"


class ConnectFailed(Exception):
    """Connecting was refused after the form was accepted (the token went stale meanwhile,
    or the account to reconnect is gone)."""

    def __init__(self, problem: LinkProblem | None, message: str) -> None:
        super().__init__(message)
        self.problem = problem


@dataclass(frozen=True)
class Link:
    """A usable connect token, resolved: whose it is and where outcomes go."""

    token: str
    digest: str
    row: ConnectTokenRow

    @property
    def scope(self) -> Scope:
        return Scope(self.row.project_id, self.row.environment)

    @property
    def user(self) -> str:
        return self.row.external_user_id


def open_link(state: LocalState, token: str | None) -> Link | LinkProblem:
    if not token:
        return LinkProblem.MISSING
    if len(token) > MAX_TOKEN_LENGTH:
        return LinkProblem.INVALID
    digest = state.digest(token)
    row = state.store.connect_token(digest)
    if row is None:
        return LinkProblem.INVALID
    if row.used_at is not None:
        return LinkProblem.USED
    if row.expires_at <= state.clock():
        return LinkProblem.EXPIRED
    return Link(token=token, digest=digest, row=row)


def reconnect_target(state: LocalState, link: Link, account_id: str) -> AccountRow | None:
    """The account `accountId` names, only if it is this link's user's (else None)."""
    row = state.store.get_account(link.scope, account_id[:100])
    if row is None or row.external_id != link.user:
        return None
    return row


def oauth_credentials(app: CatalogApp, extra: dict[str, str]) -> dict[str, str]:
    """What a provider's token endpoint would have handed back after consent."""
    return {
        **extra,
        "oauth_access_token": "lat_" + secrets.token_urlsafe(24),
        "oauth_refresh_token": "lrt_" + secrets.token_urlsafe(32),
        "oauth_token_type": "Bearer",
        "oauth_scopes": " ".join(app.scopes),
        "oauth_expires_in": str(OAUTH_TOKEN_TTL),
        "oauth_uid": secrets.token_hex(8),
        "oauth_client_id": app.oauth_app_id or "",
    }


def store_account(
    state: LocalState,
    scope: Scope,
    token_digest: str,
    external_id: str,
    app: CatalogApp,
    credentials: dict[str, str],
    *,
    name: str | None,
    reconnect_id: str | None,
) -> AccountRow | None:
    """Create (or, for a reconnect, re-credential) the account, spending the connect token with
    digest `token_digest` in the same transaction. Shared by the Connect Link page (`connect`)
    and the API's create-account route, which report failures each their own way: StoreError
    (the token is spent or expired), LookupError or None (no such account to reconnect)."""
    now = state.clock()
    expires_at = now + OAUTH_TOKEN_TTL if app.auth_type == "oauth" else None
    new = NewAccount(
        external_id=external_id,
        app_slug=app.name_slug,
        name=name,
        credentials=credentials,
        now=now,
        expires_at=expires_at,
        next_refresh_at=None if expires_at is None else expires_at - REFRESH_MARGIN,
    )
    if reconnect_id:
        return state.store.update_credentials(scope, reconnect_id, new, token_digest=token_digest)
    return state.store.create_account(scope, new, token_digest=token_digest)


def connect(
    state: LocalState,
    link: Link,
    app: CatalogApp,
    credentials: dict[str, str],
    *,
    name: str | None,
    reconnect_id: str | None,
) -> AccountRow:
    """Create (or, for a reconnect, re-credential) the account; spends the token."""
    try:
        row = store_account(
            state,
            link.scope,
            link.digest,
            link.user,
            app,
            credentials,
            name=name,
            reconnect_id=reconnect_id,
        )
    except StoreError as exc:
        again = open_link(state, link.token)
        problem = again if isinstance(again, LinkProblem) else LinkProblem.USED
        raise ConnectFailed(problem, str(exc)) from exc
    except LookupError as exc:
        raise ConnectFailed(None, "the account to reconnect no longer exists") from exc
    if row is None:
        raise ConnectFailed(None, "the account to reconnect no longer exists")
    return row


def session_id(state: LocalState, link: Link) -> str:
    """A stable id for this link's session, unrelated to the token's digest in the store."""
    return "cs_" + state.digest("connect-session:" + link.token)[:20]


def report_success(state: LocalState, link: Link, account: AccountRow) -> None:
    if link.row.webhook_uri and state.webhook_signing_key:
        payload = webhooks.success_payload(
            connect_token=link.token,
            environment=link.row.environment,
            session_id=session_id(state, link),
            account=account_json(state.store, account, include_credentials=False),
        )
        webhooks.send_in_background(link.row.webhook_uri, payload, state.webhook_signing_key)


def report_error(state: LocalState, link: Link, error: str) -> None:
    if link.row.webhook_uri and state.webhook_signing_key:
        payload = webhooks.error_payload(
            connect_token=link.token,
            environment=link.row.environment,
            session_id=session_id(state, link),
            error=error,
        )
        webhooks.send_in_background(link.row.webhook_uri, payload, state.webhook_signing_key)


def with_params(url: str, **params: str) -> str:
    """`url` with `params` added to its query (existing parameters kept)."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))
