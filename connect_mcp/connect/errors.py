"""Typed errors of the Connect client.

Every error names what failed (HTTP method and path) and how (status, the server's message)
so that a caller can react by type and a human can read the message - but a message is
only ever built from trusted fields: our own words, the status, the method and path, and
the server's short ``error`` string after it went through the redactor. A raw response
body is never quoted: it may echo a credential we have not seen yet.
"""

from __future__ import annotations


class ConnectError(Exception):
    """Base of every error the Connect client raises.

    `status` is the HTTP status the server answered with, or None when no answer arrived
    (timeout, connection failure) or the error is our own (validation, pacing budget).
    `message` is already redacted. `method` and `path` identify the request; `path` never
    contains a query string, and a connect token in it is masked.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.method = method
        self.path = path
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = f"{self.method} {self.path}" if self.method and self.path else None
        parts = [p for p in (where, f"HTTP {self.status}" if self.status else None) if p]
        prefix = ": ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, method={self.method!r}, "
            f"path={self.path!r}, message={self.message!r})"
        )


class BadRequestError(ConnectError):
    """The server rejected the request as malformed (400, 422 and other client-side 4xx)."""


class UnauthorizedError(ConnectError):
    """401: bad client credentials, or an access token refused even after one refresh."""


class ForbiddenError(ConnectError):
    """403: the credentials are valid but may not do this (wrong project, environment...)."""


class NotFoundError(ConnectError):
    """404: no such record - or one this project/environment may not see."""


class RateLimitedError(ConnectError):
    """429 from the server after retries, or a client-side pacing wait beyond the budget.

    `retry_after` is how long (seconds) the server - or our own pacer - says to wait before
    the next attempt can succeed; None when nobody said.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 429,
        method: str | None = None,
        path: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, status=status, method=method, path=path)

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, retry_after={self.retry_after!r})"


class UpstreamError(ConnectError):
    """The server failed or answered something unusable: 5xx, an unexpected redirect (never
    followed), a body that is not the documented JSON, or a broken connection."""


class ConnectTimeoutError(ConnectError, TimeoutError):
    """No answer within the timeout (connect, write, read or a pooled connection)."""


class InvalidArgumentError(ConnectError, ValueError):
    """Our own validation refused an argument; nothing was sent."""


class WorkflowURLRefusedError(InvalidArgumentError):
    """A workflow endpoint off the workflow domain and the allowlist, or otherwise unsafe to
    send a credential to (userinfo, IP literal, wrong scheme or port); nothing was sent."""


class WorkflowAuthRefusedError(WorkflowURLRefusedError):
    """``auth="oauth"`` for an endpoint the operator has not listed for the project's token
    (``CONNECT_MCP_WORKFLOW_OAUTH_ENDPOINTS``); nothing was sent. The workflow domain is
    shared by every Pipedream user, so being on it says nothing about who runs the endpoint."""
