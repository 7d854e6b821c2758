"""The MCP layer: session scope, confirmation gates, redaction, audit log, transports.

- `app.build_server(ServerConfig)` - the transport-neutral `MCPServer` (tools from
  `connect_mcp.tools`, resolvers from `scope` and `gate`, middleware from `guard`).
- `scope` - which user a request acts for (bearer token or start-up configuration).
- `gate` - a human confirms every delete (MCP elicitation, both protocol eras).
- `guard` - permission filter, argument check, redaction of everything returned, audit.
- `auth` - JWT verification (the SDK's TokenVerifier hook) and minting.
- `serve` / `cli` - `connect-mcp serve` (stdio, streamable HTTP) and `connect-mcp token`.
"""
