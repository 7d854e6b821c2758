"""The MCP tools: typed inputs and outputs, one module per Connect resource."""
