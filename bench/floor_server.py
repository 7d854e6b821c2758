"""The SDK's floor: a minimal `MCPServer` with one trivial tool, `add(a, b)`.

Run by path (`python bench/floor_server.py --stdio` or `--http`), so its cold start pays for
nothing but the SDK. With `--http` it binds 127.0.0.1 on a free port, prints `PORT <n>` on
stdout and serves streamable HTTP at /mcp (no auth: the SDK's floor).
"""

from __future__ import annotations

import argparse
import socket
import sys

from mcp.server import MCPServer

mcp = MCPServer("floor")


@mcp.tool()
async def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", action="store_true")
    args = parser.parse_args()
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
