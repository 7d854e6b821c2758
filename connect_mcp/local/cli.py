"""`connect-mcp local ...`: run, seed and re-key the local Connect server."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("local", help="run the local Connect server")
    parser.set_defaults(handler=_not_yet)


def _not_yet(_args: argparse.Namespace) -> int:
    raise SystemExit("connect-mcp local: not implemented yet")
