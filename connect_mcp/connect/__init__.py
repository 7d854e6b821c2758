"""A typed async client for the Pipedream Connect REST API. Knows nothing of MCP.

Everything a caller needs is re-exported here; the underscore modules are internals.
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
    "WorkflowResponse",
    "WorkflowURLRefusedError",
]
