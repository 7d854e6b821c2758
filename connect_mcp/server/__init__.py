"""The MCP layer: session scope, confirmation gates, redaction, audit log, transports."""
