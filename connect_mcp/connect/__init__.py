"""A typed async client for the Pipedream Connect REST API. Knows nothing of MCP.

Everything a caller needs is re-exported here; the underscore modules are internals::

    async with ConnectClient.from_settings(Settings()) as client:
        link = await client.create_connect_token("user-1")
        async for account in client.iter_accounts(external_user_id="user-1"):
            ...

One client per process (and event loop): it holds the connection pool, the cached OAuth
access token and the pacers that keep a burst inside the API's rate limits. Every failure
is a `ConnectError` subclass carrying `status`, a redacted `message`, `method` and `path`.

Where each rule lives: `client.py` (operations, and the design decisions in its
docstring), `_retry.py` (what is retried and how long to wait), `_pacing.py` (client-side
rate limits), `_auth.py` (the token cache), `_workflow.py` (where a workflow request may
go, and sending it once), `_responses.py` (answers to values or typed errors),
`_validate.py` (argument checks and path encoding).
"""

from connect_mcp.connect.client import ConnectClient
from connect_mcp.connect.errors import (
    BadRequestError,
    ConnectError,
    ConnectTimeoutError,
    ForbiddenError,
    InvalidArgumentError,
    NotFoundError,
    RateLimitedError,
    UnauthorizedError,
    UpstreamError,
    WorkflowAuthRefusedError,
    WorkflowURLRefusedError,
)
from connect_mcp.connect.models import (
    Account,
    AccountApp,
    App,
    ConnectToken,
    Page,
    PageInfo,
    ProjectApp,
    ProjectInfo,
    TokenValidation,
    User,
    WorkflowResponse,
)

__all__ = [
    "Account",
    "AccountApp",
    "App",
    "BadRequestError",
    "ConnectClient",
    "ConnectError",
    "ConnectTimeoutError",
    "ConnectToken",
    "ForbiddenError",
    "InvalidArgumentError",
    "NotFoundError",
    "Page",
    "PageInfo",
    "ProjectApp",
    "ProjectInfo",
    "RateLimitedError",
    "TokenValidation",
    "UnauthorizedError",
    "UpstreamError",
    "User",
    "WorkflowAuthRefusedError",
    "WorkflowResponse",
    "WorkflowURLRefusedError",
]
