"""The MCP tools: typed inputs and outputs, one module per Connect resource.

`register_all(mcp, hooks)` adds all ten; the server layer supplies the hooks (who the user is,
how a human confirms). This package never looks at a transport or a token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp.server import MCPServer

    from connect_mcp.tools._base import ToolHooks


def register_all(mcp: MCPServer[Any], hooks: ToolHooks, *, output_schemas: bool = False) -> None:
    """Register the ten tools; `output_schemas` publishes their output schemas (off by
    default: `_base.compact_schemas` says why)."""
    from connect_mcp.tools import accounts, apps, links, project, users, workflows
    from connect_mcp.tools._base import publish_output_schemas

    for module in (links, accounts, users, apps, project, workflows):
        module.register(mcp, hooks)
    if output_schemas:
        publish_output_schemas(mcp)
