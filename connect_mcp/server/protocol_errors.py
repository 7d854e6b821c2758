"""Protocol errors the conformance checks found answered wrongly, fixed at the wire boundary.

`UnknownPrompt` - connect-mcp registers no prompts, yet every MCP client may call
`prompts/get` (the SDK always declares the `prompts` capability). For an unknown name the
SDK's `MCPServer.get_prompt` raises a bare `ValueError`, which reaches the wire as JSON-RPC
error code `0` on the handshake revisions and as `-32603 Internal server error` on 2026-07-28 -
plus an ERROR log line with a traceback for every such call. The specification says an invalid
prompt name is `-32602 Invalid params`; the conformance suite's prompt scenarios (and any
strict client) read the code. This middleware answers exactly that, before the SDK handler.

`RejectForgedState` - SEP-2322 (2026-07-28): a `requestState` that fails integrity
verification MUST be rejected with a JSON-RPC error. The SDK does reject it, with the same
frozen `-32602 Invalid or expired requestState` it uses for an expired one; but
`guard.expired_confirmation` turns that error into a normal "nothing was deleted (timeout)"
result for the gated tools, on purpose, because an answer that comes too late is an ordinary
outcome for a human. A forged state is not: this middleware, outside that one, answers it with
the SDK's own error before anything else sees it. Only a state the server really sealed (but
that expired, or was bound to another call) reaches the friendlier path.
"""

from __future__ import annotations

from typing import Any

from mcp.server import MCPServer
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import RequestStateSecurity
from mcp.shared.exceptions import MCPError
from mcp_types.jsonrpc import INVALID_PARAMS

from connect_mcp.log import get_logger
from connect_mcp.redact import REDACTOR

_log = get_logger("connect_mcp.protocol")

MAX_NAME_SHOWN = 100
#: The methods that carry `requestState` (the SDK's multi-round-trip carriers).
STATE_METHODS = frozenset({"tools/call", "prompts/get", "resources/read"})


class UnknownPrompt:
    """Middleware: `prompts/get` for a name the server does not have → `-32602`."""

    def __init__(self, server: MCPServer[Any]) -> None:
        self._server = server

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> Any:
        if ctx.method == "prompts/get":
            name = (ctx.params or {}).get("name")
            known = {prompt.name for prompt in await self._server.list_prompts()}
            if not isinstance(name, str) or name not in known:
                # The name comes from the client; scrub and bound it like any echoed input.
                shown = REDACTOR.scrub(str(name))[:MAX_NAME_SHOWN]
                raise MCPError(code=INVALID_PARAMS, message=f"Unknown prompt: {shown}")
        result: HandlerResult = await call_next(ctx)
        return result


class RejectForgedState:
    """Middleware (outermost): a `requestState` the server did not seal → the SDK's `-32602`."""

    def __init__(self, security: RequestStateSecurity) -> None:
        self._security = security

    def _authentic(self, wire: object) -> bool:
        if not isinstance(wire, str):
            return False
        try:
            self._security.codec.unseal(wire)
        except Exception:  # any failure to unseal is a failure of integrity
            return False
        return True

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> Any:
        wire = (ctx.params or {}).get("requestState") if ctx.method in STATE_METHODS else None
        if wire is not None and not self._authentic(wire):
            _log.warning("request_state_forged", method=ctx.method)
            # Byte for byte the SDK's frozen rejection: the wire never says why.
            raise MCPError(
                code=INVALID_PARAMS,
                message="Invalid or expired requestState",
                data={"reason": "invalid_request_state"},
            )
        result: HandlerResult = await call_next(ctx)
        return result
