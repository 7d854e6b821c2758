"""Session scope: which end user a request acts for, and whether it may write.

Over HTTP the user comes from the bearer token verified on *this* request (the 2026-07-28
revision has no session to remember it in); the SDK additionally binds a handshake-era session
to the principal that opened it. Over stdio (and for in-process clients) it is the user fixed at
start-up. The model never supplies it: tools receive it through a `Resolve` parameter that the
SDK hides from the input schema.
"""

from __future__ import annotations

from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.elicitation import AcceptedElicitation
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from connect_mcp.server.state import ServerState
from connect_mcp.tools._base import Principal, ToolRuntime

#: Claim carrying the permission inside our verified `AccessToken.claims`.
PERM_CLAIM = "perm"

#: The SDK wraps every value a resolver returns as `AcceptedElicitation[Any]` (two or three
#: resolvers per tool call). pydantic keeps parametrized generic classes only in a
#: `WeakValueDictionary`, so with no strong reference the class was built again - schema
#: generation included - each time the garbage collector had freed it: about one call in
#: four. Holding it here keeps the one class alive for the life of the process.
_ACCEPTED_ANY = AcceptedElicitation[Any]


def principal_for(state: ServerState) -> Principal | None:
    """The principal of the current request, or None when there is none (never guess)."""
    token = get_access_token()
    if token is not None:
        claims = token.claims or {}
        perm = claims.get(PERM_CLAIM)
        if token.subject and perm in ("read", "write"):
            return Principal(user=token.subject, perm=perm, source="bearer")
        return None
    return state.config.fixed_principal


def _state(ctx: Context[Any, Any]) -> ServerState:
    state = ctx.request_context.lifespan_context
    assert isinstance(state, ServerState)
    return state


# The resolvers are `async def` although they never await: the SDK runs a plain `def`
# resolver on a worker thread, one thread round trip per resolver per tool call.


def _bound_principal(ctx: Context[Any, Any]) -> Principal:
    principal = principal_for(_state(ctx))
    if principal is None:
        raise ToolError("This request is not bound to a user; the server refuses to act.")
    return principal


async def session_principal(ctx: Context[Any, Any]) -> Principal:
    """Resolver: the session's user, for any tool."""
    return _bound_principal(ctx)


async def session_writer(ctx: Context[Any, Any]) -> Principal:
    """Resolver: the session's user, for tools that change something."""
    principal = _bound_principal(ctx)
    if not principal.can_write:
        raise ToolError(read_only_message())
    return principal


def read_only_message(tool: str | None = None) -> str:
    what = f"Tool {tool!r}" if tool else "This tool"
    return (
        f"{what} changes data, and this session has read-only permission. Ask the operator "
        "for a token with write permission."
    )


async def session_runtime(ctx: Context[Any, Any]) -> ToolRuntime:
    """Resolver: the Connect client and settings the tools use."""
    return _state(ctx).runtime
