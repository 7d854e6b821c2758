"""The SDK's floor: a minimal `MCPServer` with one trivial tool, `add(a, b)`.

Run by path (`python bench/floor_server.py --stdio` or `--http`), so its cold start pays for
nothing but the SDK. With `--http` it binds 127.0.0.1 on a free port, prints `PORT <n>` on
stdout and serves streamable HTTP at /mcp (no auth: the SDK's floor).

With `--connect-user U` (and `PIPEDREAM_*` in the environment) it also has `fetch()`, which
makes the very Connect call `list_accounts` makes (U's first 20 accounts, with credentials,
through `ConnectClient`) and returns only how many came back: the floor plus our upstream
round trip, without any of our MCP layer (figure 2's diagnostic rows).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from typing import Any

from mcp.server import MCPServer

mcp = MCPServer("floor")


@mcp.tool()
async def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def with_connect_call(user: str) -> None:
    """Add `fetch()`: one `ConnectClient.list_accounts` per call, on one client per process."""
    from connect_mcp.connect import ConnectClient

    client: list[Any] = []

    async def fetch() -> int:
        """List the user's accounts through Connect; return how many."""
        if not client:
            client.append(
                ConnectClient(
                    client_id=os.environ["PIPEDREAM_CLIENT_ID"],
                    client_secret=os.environ["PIPEDREAM_CLIENT_SECRET"],
                    project_id=os.environ["PIPEDREAM_PROJECT_ID"],
                    base_url=os.environ["PIPEDREAM_BASE_URL"],
                    token_rate_per_minute=None,
                    account_rate_per_window=None,
                )
            )
        page = await client[0].list_accounts(
            external_user_id=user, include_credentials=True, limit=20
        )
        return len(page.data)

    mcp.add_tool(fetch)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--connect-user")
    args = parser.parse_args()
    if args.connect_user:
        with_connect_call(args.connect_user)
    if not args.http:
        mcp.run()  # stdio
        return
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    app = mcp.streamable_http_app(host="127.0.0.1")
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", ws="none")
    uvicorn.Server(config).run(sockets=[sock])
    sys.exit(0)


if __name__ == "__main__":
    main()
