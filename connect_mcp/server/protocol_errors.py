"""Protocol errors the SDK answers wrongly for a server with no prompts.

connect-mcp registers no prompts, yet every MCP client may call `prompts/get` (the SDK always
declares the `prompts` capability). For an unknown name the SDK's `MCPServer.get_prompt` raises
a bare `ValueError`, which reaches the wire as JSON-RPC error code `0` on the handshake
revisions and as `-32603 Internal server error` on 2026-07-28 - plus an ERROR log line with a
traceback for every such call. The specification says an invalid prompt name is `-32602
Invalid params`; the official conformance suite's prompt scenarios (and any strict client)
read the code. This middleware answers exactly that, before the SDK handler runs.
"""

from __future__ import annotations

from typing import Any

from mcp.server import MCPServer
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types.jsonrpc import INVALID_PARAMS

from connect_mcp.redact import REDACTOR

MAX_NAME_SHOWN = 100


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
