"""connect-mcp: a scoped, gated, redacting MCP server for Pipedream Connect.

The package keeps its import light on purpose: an MCP client waits for `serve` to start,
so every heavy dependency (the local server, uvicorn, browser helpers) is imported only by
the code path that needs it.
"""

__version__ = "0.1.0"
