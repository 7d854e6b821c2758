"""`python -m connect_mcp` is the same entry point as the `connect-mcp` script."""

from connect_mcp.cli import main

raise SystemExit(main())
