"""`connect-mcp serve` and `connect-mcp token`: run the MCP server, mint HTTP tokens."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("serve", help="run the MCP server")
    parser.set_defaults(handler=_not_yet)


def _not_yet(_args: argparse.Namespace) -> int:
    raise SystemExit("connect-mcp serve: not implemented yet")
