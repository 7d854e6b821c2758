"""The `connect-mcp` command.

Each layer owns its subcommands (`server/cli.py`: serve, token; `local/cli.py`: local and
its sub-actions) and registers them here. Those modules import only `argparse` at the top;
the heavy work is imported inside the handler, so `connect-mcp serve` starts no slower
than the MCP SDK itself allows.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from connect_mcp import __version__


def build_parser() -> argparse.ArgumentParser:
    import connect_mcp.local.cli as local_cli
    import connect_mcp.server.cli as server_cli

    parser = argparse.ArgumentParser(
        prog="connect-mcp",
        description="A scoped, gated, redacting MCP server for Pipedream Connect.",
    )
    parser.add_argument("--version", action="version", version=f"connect-mcp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    server_cli.register(sub)
    local_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = args.handler
    result: int = handler(args)
    return result
