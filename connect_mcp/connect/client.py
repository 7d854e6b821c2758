"""`ConnectClient`: the one place the product talks to the Connect REST API.

Design decisions, each for a reason:

* **No redirects are followed** - not for API calls, not for workflows. An API answer of
  3xx is an `UpstreamError`: the Connect API does not redirect, and following one would
  send our bearer token to wherever the `Location` points. A workflow's 3xx is returned
  as its response, unfollowed.
* **Plain http only on loopback.** `base_url` must be https unless its host is a loopback
  address (the local Connect server): the client secret travels to it.
* **Creating a connect token is retried like an idempotent call** (5xx, timeouts). It is
  not idempotent in the strict sense - a retry after a lost answer mints a second token -
  but the first token's plaintext never reached anyone (only its digest lives on the
  server), so it is inert, expires within hours, and changes nothing a user can see.
  Failing instead would push the retry onto the model, which is worse in every way.
* **Deleting one account is idempotent, also in its answer**: a DELETE of an account id
  retried after an attempt that may have been applied (5xx, broken connection, read timeout)
  treats 404 as success - a re-send can only delete that same, confirmed account.
* **Deleting a user is sent once** (only a request that never left, or a 429, is repeated):
  it deletes every account the user has *at that moment*, so a re-send after a lost answer
  could take accounts connected in between, which nobody confirmed. The caller looks again
  (`delete_user` lists users) to learn what happened.
* **Connect tokens are not added to the redactor**: a connect token is meant for the end
  user - it is part of the Connect Link a tool must hand out - so masking it everywhere
  would break the product. It is still hidden from every `repr`, masked in error paths
  (`/v1/connect/tokens/[REDACTED]/validate`) and never logged.
* **Secrets are learnt on sight**: the client secret at construction, each access token
  when fetched, static bearer tokens when used, and every credential value (and any
  secret-named field) of every API response before it is parsed - so no later string,
  log line or error can carry them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

import anyio
import httpx2
from pydantic import BaseModel, SecretStr

from connect_mcp.config import Settings
from connect_mcp.connect import _responses as responses
from connect_mcp.connect import _validate as check
from connect_mcp.connect import _workflow as workflow
from connect_mcp.connect._auth import TokenCache
from connect_mcp.connect._pacing import KeyedPacer, SlidingWindowPacer
from connect_mcp.connect._retry import NEVER_SENT, RETRY_STATUSES, Budget, RetryPolicy, server_wait
from connect_mcp.connect._transport import LazyTLSTransport
from connect_mcp.connect._workflow import WorkflowURLPolicy, is_loopback_host
from connect_mcp.connect.errors import (
    InvalidArgumentError,
    RateLimitedError,
    UpstreamError,
)
from connect_mcp.connect.models import (
    Account,
    App,
    ConnectToken,
    Page,
    ProjectInfo,
    TokenValidation,
    User,
    WorkflowResponse,
)
from connect_mcp.redact import REDACTED, REDACTOR, Redactor

Environment = Literal["development", "production"]
WorkflowAuth = Literal["oauth", "static_bearer", "none"]
M = TypeVar("M", bound=BaseModel)

# stdlib logging, not structlog: with no handler configured it never writes to stdout (which
# belongs to the stdio transport), and `configure_logging` routes it to redacted JSON.
_log = logging.getLogger("connect_mcp.connect")

TOKEN_PATH = "/v1/oauth/token"  # noqa: S105 - a path, not a password
DEFAULT_WORKFLOW_RESPONSE_LIMIT = 1_048_576


class ConnectClient:
    """Typed async client for the Pipedream Connect REST API (or the local server).

    Use as ``async with ConnectClient(...) as client:`` or call `aclose()` when done. One
    instance shares one connection pool, one cached access token and one set of pacers, so
    a process should make one and share it.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str | SecretStr,
        project_id: str,
        environment: Environment = "development",
        base_url: str = "https://api.pipedream.com",
        workflow_domain: str = "m.pipedream.net",
        workflow_allowlist: Sequence[str] = (),
        workflow_oauth_endpoints: Sequence[str] = (),
        timeout: float = 30.0,
        max_retries: int = 4,
        max_retry_time: float = 60.0,
        token_rate_per_minute: int | None = 100,
        account_rate_per_window: int | None = 2000,
        account_rate_window_seconds: float = 300.0,
        transport: httpx2.AsyncBaseTransport | None = None,
        redactor: Redactor = REDACTOR,
        retry_base_delay: float = 0.5,
        retry_max_delay: float = 8.0,
        workflow_response_limit: int = DEFAULT_WORKFLOW_RESPONSE_LIMIT,
    ) -> None:
        self._redactor = redactor
        secret = client_secret if isinstance(client_secret, SecretStr) else SecretStr(client_secret)
        redactor.add(secret)
        self._client_id = check.text("client_id", client_id)
        self._client_secret = secret
        check.text("client_secret", secret.get_secret_value())
        self.project_id = check.text("project_id", project_id)
        if environment not in ("development", "production"):
            raise InvalidArgumentError("environment must be 'development' or 'production'")
        self.environment: Environment = environment
        self.base_url = _check_base_url(base_url)
        self._workflows = WorkflowURLPolicy(
            workflow_domain, workflow_allowlist, oauth_endpoints=workflow_oauth_endpoints
        )
        if timeout <= 0 or max_retries < 0 or max_retry_time < 0:
            raise InvalidArgumentError("timeout must be positive, retry caps non-negative")
        if workflow_response_limit < 1:
            raise InvalidArgumentError("workflow_response_limit must be positive")
        self._workflow_response_limit = workflow_response_limit
        self._policy = RetryPolicy(max_retries, max_retry_time, retry_base_delay, retry_max_delay)
        self._token_pacer = (
            KeyedPacer(token_rate_per_minute, 60.0) if token_rate_per_minute else None
        )
        account_pacer = (
            SlidingWindowPacer(account_rate_per_window, account_rate_window_seconds)
            if account_rate_per_window
            else None
        )
        #: Paces account reads and deletes (None: pacing off, the server's 429s still count).
        self._account_pace: Callable[[float], Awaitable[None]] | None = (
            None if account_pacer is None else account_pacer.acquire
        )
        self._http = httpx2.AsyncClient(
            base_url=self.base_url,
            # TLS (and its CA bundle) only once an https request is sent: see _transport.py.
            transport=transport if transport is not None else LazyTLSTransport(),
            timeout=httpx2.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=False,
            headers={"user-agent": "connect-mcp", "accept": "application/json"},
        )
        self._tokens = TokenCache(self._fetch_access_token)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> ConnectClient:
        """Build from the settings class (`PIPEDREAM_*` variables); `overrides` win."""
        kwargs: dict[str, Any] = {
            "client_id": settings.client_id,
            "client_secret": settings.client_secret,
            "project_id": settings.project_id,
            "environment": settings.environment,
            "base_url": settings.base_url,
            "workflow_domain": settings.workflow_domain,
            "workflow_allowlist": tuple(settings.workflow_allowlist),
            "workflow_oauth_endpoints": tuple(settings.workflow_oauth_endpoints),
        }
        kwargs.update(overrides)
        missing = [
            env
            for key, env in (
                ("client_id", "PIPEDREAM_CLIENT_ID"),
                ("client_secret", "PIPEDREAM_CLIENT_SECRET"),
                ("project_id", "PIPEDREAM_PROJECT_ID"),
            )
            if not kwargs.get(key)
        ]
        if missing:
            raise InvalidArgumentError(f"missing settings: {', '.join(missing)}")
        return cls(**kwargs)

    def __repr__(self) -> str:
        return (
            f"ConnectClient(project_id={self.project_id!r}, environment={self.environment!r}, "
            f"base_url={self.base_url!r})"
        )

    async def __aenter__(self) -> ConnectClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def token_fetches(self) -> int:
        """How many OAuth access tokens this client has fetched (for tests and metrics)."""
        return self._tokens.fetches

    # -- connect tokens -------------------------------------------------------------------

    async def create_connect_token(
        self,
        external_user_id: str,
        *,
        success_redirect_uri: str | None = None,
        error_redirect_uri: str | None = None,
        webhook_uri: str | None = None,
        allowed_origins: Sequence[str] | None = None,
        expires_in: int | None = None,
    ) -> ConnectToken:
        """A connect token (and Connect Link) for one end user. Paced per user."""
        user = check.external_user_id(external_user_id)
        body: dict[str, Any] = {"external_user_id": user}
        for key, value in (
            ("success_redirect_uri", success_redirect_uri),
            ("error_redirect_uri", error_redirect_uri),
            ("webhook_uri", webhook_uri),
        ):
            if value is not None:
                body[key] = check.text(key, value)
        if allowed_origins is not None:
            if isinstance(allowed_origins, str):
                raise InvalidArgumentError("allowed_origins must be a list of origins")
            body["allowed_origins"] = [check.origin("allowed_origins", o) for o in allowed_origins]
        if expires_in is not None:
            if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in < 1:
                raise InvalidArgumentError("expires_in must be a positive number of seconds")
            body["expires_in"] = expires_in
        pacer = self._token_pacer
        data = await self._call(
            "POST",
            self._project_path("tokens"),
            json_body=body,
            idempotent=True,  # see the module docstring: a lost token is inert
            pace=None if pacer is None else (lambda budget: pacer.acquire(user, budget)),
            learn=False,  # the token is meant for the end user; see module docstring
        )
        return responses.parse_model(ConnectToken, data, "POST", self._project_path("tokens"))

    async def validate_connect_token(self, token: str, app_id: str) -> TokenValidation:
        """Whether a connect token is still usable for `app_id` (an unauthenticated call)."""
        path = f"/v1/connect/tokens/{check.segment(check.text('token', token))}/validate"
        shown = f"/v1/connect/tokens/{REDACTED}/validate"
        data = await self._call(
            "GET",
            path,
            params={"app_id": check.text("app_id", app_id)},
            auth=False,
            shown_path=shown,
        )
        return responses.parse_model(TokenValidation, data, "GET", shown)

    # -- accounts -------------------------------------------------------------------------

    async def list_accounts(
        self,
        *,
        external_user_id: str | None = None,
        app: str | None = None,
        oauth_app_id: str | None = None,
        include_credentials: bool = False,
        after: str | None = None,
        before: str | None = None,
        limit: int | None = None,
    ) -> Page[Account]:
        """One page of the project's accounts, filtered. Paced per project."""
        params = _params(
            external_user_id=None
            if external_user_id is None
            else check.external_user_id(external_user_id),
            app=check.optional_text("app", app),
            oauth_app_id=check.optional_text("oauth_app_id", oauth_app_id),
            include_credentials=include_credentials,
            after=check.optional_text("after", after),
            before=check.optional_text("before", before),
            limit=check.limit(limit),
        )
        path = self._project_path("accounts")
        data = await self._call("GET", path, params=params, pace=self._account_pace)
        return responses.parse_model(Page[Account], data, "GET", path)

    async def iter_accounts(
        self,
        *,
        external_user_id: str | None = None,
        app: str | None = None,
        oauth_app_id: str | None = None,
        include_credentials: bool = False,
        limit: int | None = None,
    ) -> AsyncIterator[Account]:
        """Every matching account, page after page (`limit` is the page size)."""
        after: str | None = None
        seen: set[str] = set()
        while True:
            page = await self.list_accounts(
                external_user_id=external_user_id,
                app=app,
                oauth_app_id=oauth_app_id,
                include_credentials=include_credentials,
                after=after,
                limit=limit,
            )
            for account in page.data:
                yield account
            after = page.page_info.end_cursor
            if not page.data or not after:
                return
            if after in seen:  # a server that loops would otherwise loop us forever
                raise UpstreamError(
                    "the server repeated a page cursor",
                    method="GET",
                    path=self._project_path("accounts"),
                )
            seen.add(after)

    async def get_account(self, account_id: str, *, include_credentials: bool = False) -> Account:
        """One account by id (any user of the project - scoping is the caller's job)."""
        path = self._project_path("accounts", check.text("account_id", account_id))
        data = await self._call(
            "GET",
            path,
            params=_params(include_credentials=include_credentials),
            pace=self._account_pace,
        )
        if isinstance(data, dict) and "id" not in data and isinstance(data.get("data"), dict):
            data = data["data"]
        return responses.parse_model(Account, data, "GET", path)

    async def list_user_accounts(
        self, external_user_id: str, *, app: str | None = None, include_credentials: bool = False
    ) -> list[Account]:
        """All accounts of one end user (optionally of one app)."""
        user = check.external_user_id(external_user_id)
        path = self._project_path("users", user, "accounts")
        data = await self._call(
            "GET",
            path,
            params=_params(
                app=check.optional_text("app", app), include_credentials=include_credentials
            ),
            pace=self._account_pace,
        )
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            data = data["data"]
        return responses.parse_model(Page[Account], {"data": data}, "GET", path).data

    async def delete_account(self, account_id: str) -> None:
        """Delete one account."""
        path = self._project_path("accounts", check.text("account_id", account_id))
        await self._call("DELETE", path, pace=self._account_pace)

    async def delete_app_accounts(self, app_id: str) -> None:
        """Delete every account of an app - **across the whole project**, all users. The
        MCP tools never call this; it exists for operators."""
        path = self._project_path("apps", check.text("app_id", app_id), "accounts")
        await self._call("DELETE", path, pace=self._account_pace)

    # -- users ----------------------------------------------------------------------------

    async def list_users(
        self,
        *,
        q: str | None = None,
        after: str | None = None,
        before: str | None = None,
        limit: int | None = None,
    ) -> Page[User]:
        """One page of the project's external users; `q` searches their ids."""
        path = self._project_path("users")
        params = _params(
            q=check.optional_text("q", q),
            after=check.optional_text("after", after),
            before=check.optional_text("before", before),
            limit=check.limit(limit),
        )
        data = await self._call("GET", path, params=params)
        return responses.parse_model(Page[User], data, "GET", path)

    async def delete_user(self, external_user_id: str) -> None:
        """Delete an end user and all their accounts (paced as an account call: it deletes
        accounts)."""
        path = self._project_path("users", check.external_user_id(external_user_id))
        await self._call("DELETE", path, pace=self._account_pace, idempotent=False)

    # -- project and apps -----------------------------------------------------------------

    async def get_project_info(self) -> ProjectInfo:
        """The apps configured on (in use by) the project."""
        path = self._project_path("projects", "info")
        return responses.parse_model(ProjectInfo, await self._call("GET", path), "GET", path)

    async def list_apps(
        self, *, q: str | None = None, limit: int | None = None, after: str | None = None
    ) -> Page[App]:
        """One page of the app catalog (not project-scoped); `q` searches names."""
        path = "/v1/connect/apps"
        params = _params(
            q=check.optional_text("q", q),
            limit=check.limit(limit),
            after=check.optional_text("after", after),
        )
        data = await self._call("GET", path, params=params)
        return responses.parse_model(Page[App], data, "GET", path)

    async def get_app(self, app_id: str) -> App:
        """One app by name slug or id (`app_...`); the API wraps it in `{data}`."""
        path = f"/v1/connect/apps/{check.segment(check.text('app_id', app_id))}"
        data = await self._call("GET", path)
        if isinstance(data, dict) and isinstance(data.get("data"), dict):
            data = data["data"]
        return responses.parse_model(App, data, "GET", path)

    # -- workflows ------------------------------------------------------------------------

    async def invoke_workflow(
        self,
        endpoint: str,
        external_user_id: str,
        *,
        method: str = "POST",
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        auth: WorkflowAuth = "oauth",
        static_bearer: str | None = None,
    ) -> WorkflowResponse:
        """Run a workflow for one end user and return its answer, whatever its status.

        The endpoint is checked by the workflow URL policy (see `_workflow.py`) before
        anything is sent; with ``auth="oauth"`` it must also be one the operator listed in
        ``workflow_oauth_endpoints`` (else `WorkflowAuthRefusedError`, nothing sent). Once
        the request may have reached the server it is never sent again - a workflow may not
        be idempotent - so only a failure to connect is retried.
        No redirect is followed: it would carry the token to wherever it points.
        """
        url = self._workflows.resolve(endpoint)
        user = check.header_value("external_user_id", check.external_user_id(external_user_id))
        verb = method.upper() if isinstance(method, str) else ""
        if verb not in workflow.WORKFLOW_METHODS:
            raise InvalidArgumentError(
                f"method must be one of {', '.join(sorted(workflow.WORKFLOW_METHODS))}"
            )
        if verb == "GET" and body is not None:
            raise InvalidArgumentError("a GET workflow request cannot carry a body")
        send_headers = workflow.caller_headers(headers)
        send_headers["x-pd-external-user-id"] = user
        send_headers["x-pd-environment"] = self.environment
        content: bytes | None = None
        if body is not None:
            try:
                content = json.dumps(body, allow_nan=False).encode()
            except (TypeError, ValueError) as exc:
                raise InvalidArgumentError("workflow body must be JSON-serialisable") from exc
            send_headers["content-type"] = "application/json"
        if auth == "static_bearer":
            if not static_bearer:
                raise InvalidArgumentError("auth='static_bearer' needs static_bearer")
            self._redactor.add(static_bearer)
            send_headers["authorization"] = "Bearer " + check.header_value(
                "static_bearer", static_bearer
            )
        elif auth not in ("oauth", "none"):
            raise InvalidArgumentError("auth must be 'oauth', 'static_bearer' or 'none'")
        elif static_bearer is not None:
            raise InvalidArgumentError("static_bearer is only used with auth='static_bearer'")
        elif auth == "oauth":
            self._workflows.check_oauth(url)  # before the token is even fetched
        shown = self._redactor.scrub(f"{url.scheme}://{url.netloc.decode()}{url.path}")
        budget = Budget(self._policy)
        while True:
            token: str | None = None
            if auth == "oauth":
                token = await self._tokens.get()
                send_headers["authorization"] = f"Bearer {token}"
            try:
                request = self._http.build_request(verb, url, headers=send_headers, content=content)
                response = await workflow.send(
                    self._http,
                    request,
                    shown=shown,
                    limit=self._workflow_response_limit,
                    redactor=self._redactor,
                )
            except NEVER_SENT as exc:  # nothing left the machine: safe to try again
                delay = budget.next_delay()
                if delay is None:
                    raise responses.transport_error(exc, verb, shown) from None
                await _retry_after(delay, verb, shown, type(exc).__name__)
                continue
            # A 401 is the workflow's answer, not the API's verdict on our token: the workflow
            # (which may be anyone's) must not be able to make us drop and re-fetch it, and
            # the invocation is never sent again.
            return response

    # -- internals ------------------------------------------------------------------------

    def _project_path(self, *segments: str) -> str:
        parts = [check.segment(self.project_id), *(check.segment(s) for s in segments)]
        return "/v1/connect/" + "/".join(parts)

    async def _fetch_access_token(self) -> tuple[str, float]:
        """POST /v1/oauth/token (client credentials); retried like any idempotent call."""
        data = await self._call(
            "POST",
            TOKEN_PATH,
            json_body={
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret.get_secret_value(),
            },
            auth=False,
            idempotent=True,
        )
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise UpstreamError(
                "the token endpoint answered without an access_token",
                status=200,
                method="POST",
                path=TOKEN_PATH,
            )
        self._redactor.add(token)
        lifetime = data.get("expires_in", 3600)
        if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
            lifetime = 3600
        return token, float(lifetime)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        auth: bool = True,
        idempotent: bool | None = None,
        pace: Callable[[float], Awaitable[None]] | None = None,
        shown_path: str | None = None,
        learn: bool = True,
    ) -> Any:
        """Send one API request with auth, pacing and retries; return its parsed JSON
        (None for an empty body) or raise a typed error."""
        shown = shown_path or path
        safe_to_resend = method in ("GET", "DELETE") if idempotent is None else idempotent
        budget = Budget(self._policy)
        refreshed = False
        maybe_applied = False
        while True:
            headers: dict[str, str] = {"x-pd-environment": self.environment}
            token: str | None = None
            if auth:
                # The token first, pacing second: a slow token fetch after the pacer's slot
                # would bunch our requests up at the server beyond the paced rate.
                token = await self._tokens.get()
                headers["authorization"] = f"Bearer {token}"
            if pace is not None:
                await _paced(pace, budget, method, shown)
            try:
                response = await self._http.request(
                    method, path, params=params, json=json_body, headers=headers
                )
            except httpx2.HTTPError as exc:
                never_sent = isinstance(exc, NEVER_SENT)
                if not never_sent and not isinstance(exc, httpx2.TransportError):
                    raise responses.transport_error(exc, method, shown) from None
                if never_sent or safe_to_resend:
                    maybe_applied = maybe_applied or not never_sent
                    delay = budget.next_delay()
                    if delay is not None:
                        await _retry_after(delay, method, shown, type(exc).__name__)
                        continue
                raise responses.transport_error(exc, method, shown) from None
            status = response.status_code
            if status == 401 and token is not None and not refreshed:
                refreshed = True
                self._tokens.invalidate(token)
                continue
            if status == 429:
                asked = server_wait(response.headers)
                delay = budget.next_delay(asked)
                if delay is None:
                    raise responses.status_error(
                        response, method, shown, self._redactor, retry_after=asked
                    )
                await _retry_after(delay, method, shown, "HTTP 429")
                continue
            if status in RETRY_STATUSES and safe_to_resend:
                delay = budget.next_delay()
                if delay is not None:
                    maybe_applied = True
                    await _retry_after(delay, method, shown, f"HTTP {status}")
                    continue
            if method == "DELETE" and status == 404 and maybe_applied:
                return None  # an earlier attempt deleted it; the answer was lost
            if 200 <= status < 300:
                return responses.parse_json(response, method, shown, self._redactor, learn=learn)
            raise responses.status_error(response, method, shown, self._redactor)


async def _retry_after(delay: float, method: str, shown: str, why: str) -> None:
    _log.info("connect retry: %s %s in %.2fs after %s", method, shown, delay, why)
    await anyio.sleep(delay)


async def _paced(
    pace: Callable[[float], Awaitable[None]], budget: Budget, method: str, shown: str
) -> None:
    try:
        await pace(budget.remaining())
    except RateLimitedError as exc:
        raise RateLimitedError(
            exc.message, status=None, method=method, path=shown, retry_after=exc.retry_after
        ) from None


def _params(**values: str | bool | int | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is None or (value is False and key == "include_credentials"):
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def _check_base_url(base_url: str) -> str:
    """The API's base URL: https, or http on a loopback host (the client secret goes there)."""
    try:
        url = httpx2.URL(base_url)
        host = url.raw_host.decode("ascii")
    except (httpx2.InvalidURL, ValueError, TypeError) as exc:
        raise InvalidArgumentError("base_url is not a URL") from exc
    if url.scheme not in ("http", "https") or not host:
        raise InvalidArgumentError("base_url must be an http(s) URL")
    if url.scheme == "http" and not is_loopback_host(host):
        raise InvalidArgumentError("base_url must use https (http only on a loopback host)")
    if url.userinfo or url.query or url.fragment:
        raise InvalidArgumentError("base_url may not carry userinfo, a query or a fragment")
    return str(url).rstrip("/")


__all__ = ["ConnectClient"]
