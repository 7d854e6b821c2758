"""A typed async client for the Pipedream Connect REST API. Knows nothing of MCP."""
