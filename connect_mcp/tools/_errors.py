"""Connect client errors → `ToolError` text the model can act on.

Only `ToolError` text reaches the model, and an upstream error body can carry a secret or a
prompt injection. So every message here is built from trusted fields only - the error class,
the HTTP status, a retry delay, and words of our own - never from `exc.message` or a body.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcp.server.mcpserver.exceptions import ToolError

    from connect_mcp.connect import ConnectError


def not_found(kind: str, ident: str) -> ToolError:
    """The one answer for "no such thing for this user": a missing id and another user's id
    must be indistinguishable, so both paths raise exactly this."""
    from mcp.server.mcpserver.exceptions import ToolError

    return ToolError(
        f"No {kind} with id {ident!r} exists for this user. "
        f"Call list_accounts to see this user's accounts."
        if kind == "account"
        else f"No {kind} {ident!r} was found."
    )


def tool_error(exc: ConnectError, action: str, *, may_have_run: bool = False) -> ToolError:
    """Map a Connect client error raised while doing `action` (e.g. "list accounts").

    `may_have_run` is for calls that must not be repeated blindly (a workflow invocation):
    after a timeout or a broken connection the request may have been acted on, so the text
    must not invite the model to "try again" as if nothing happened."""
    from mcp.server.mcpserver.exceptions import ToolError

    from connect_mcp.connect import (
        BadRequestError,
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

    status = getattr(exc, "status", None)
    code = f" (HTTP {status})" if isinstance(status, int) else ""
    if isinstance(exc, WorkflowAuthRefusedError):
        text = (
            f"Could not {action}: auth 'oauth' sends this server's Pipedream access token, "
            "and the operator has not listed this endpoint for it, so nothing was sent. If the "
            "workflow has its own token use auth 'static_bearer', if it needs none use auth "
            "'none'; otherwise the operator must add its endpoint id to "
            "CONNECT_MCP_WORKFLOW_OAUTH_ENDPOINTS."
        )
    elif isinstance(exc, WorkflowURLRefusedError):
        text = (
            f"Could not {action}: the endpoint is not on the configured workflow domain or "
            "allowlist, so nothing was sent. Pass a workflow endpoint id (like 'en123abc') "
            "or a URL on the workflow domain."
        )
    elif isinstance(exc, InvalidArgumentError):
        text = f"Could not {action}: an argument is invalid (empty or too long). Nothing was sent."
    elif isinstance(exc, RateLimitedError):
        retry = getattr(exc, "retry_after", None)
        after = (
            f" Retry in about {int(retry) + 1} seconds." if isinstance(retry, int | float) else ""
        )
        text = f"Could not {action}: the Connect API is rate limiting requests{code}.{after}"
    elif isinstance(exc, UnauthorizedError | ForbiddenError):
        text = (
            f"Could not {action}: the Connect API refused this server's credentials{code}. "
            "The operator must check the Pipedream client id, secret and project id."
        )
    elif isinstance(exc, NotFoundError):
        text = f"Could not {action}: not found{code}."
    elif isinstance(exc, BadRequestError):
        text = f"Could not {action}: the Connect API rejected the request{code}."
    elif may_have_run and isinstance(exc, ConnectTimeoutError | UpstreamError):
        text = (
            f"Could not {action}: no complete answer arrived{code}, and the request may "
            "already have been acted on. Check its effects before trying again."
        )
    elif isinstance(exc, ConnectTimeoutError):
        text = f"Could not {action}: the Connect API did not answer in time. Try again later."
    elif isinstance(exc, UpstreamError):
        text = f"Could not {action}: the Connect API failed{code}. Try again later."
    else:
        text = f"Could not {action}: the Connect API call failed{code}."
    return ToolError(text)
