"""Our MCP server as a subprocess, for the memory and HTTP throughput figures.

It is `connect-mcp serve` (the same `build_server`, JWT verifier, transport security, uvicorn
settings and embedded local Connect server) with one difference: the rate limits are off, on
the client's pacer and on the embedded server (Pipedream's 2,000 account reads per 5 minutes
would otherwise make 10,000 calls a 25-minute wait that measures nothing but the pacer).
Cold start uses the real `connect-mcp serve` instead.

With `PIPEDREAM_BASE_URL`, `PIPEDREAM_PROJECT_ID`, `PIPEDREAM_CLIENT_ID` and
`PIPEDREAM_CLIENT_SECRET` in the environment it starts no embedded server and uses that
backend instead (a `connect-mcp local` in another process, as `serve` would with credentials).

    python -m bench.ours_server --data-dir DIR --user USER          # stdio, write permission
    python -m bench.ours_server --data-dir DIR --http --jwt-secret S  # prints PORT <n>
"""

from __future__ import annotations

import argparse
import os
import socket
from pathlib import Path

UNLIMITED = 1_000_000_000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--user", default="bench-user")
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--jwt-secret", default=None)
    args = parser.parse_args()

    import anyio

    from connect_mcp.config import Settings
    from connect_mcp.connect import ConnectClient
    from connect_mcp.local.embedded import EmbeddedServer, LocalCredentials
    from connect_mcp.log import configure_logging
    from connect_mcp.redact import REDACTOR
    from connect_mcp.server.app import build_server
    from connect_mcp.server.auth import JWTConfig, JWTVerifier
    from connect_mcp.server.serve import transport_security
    from connect_mcp.server.state import ServerConfig
    from connect_mcp.tools._base import Principal

    settings = Settings(log_level="warning")
    configure_logging(settings.log_level)
    server: EmbeddedServer | None = None
    if os.environ.get("PIPEDREAM_BASE_URL"):
        creds = LocalCredentials(
            base_url=os.environ["PIPEDREAM_BASE_URL"],
            project_id=os.environ["PIPEDREAM_PROJECT_ID"],
            client_id=os.environ["PIPEDREAM_CLIENT_ID"],
            client_secret=os.environ["PIPEDREAM_CLIENT_SECRET"],
        )
    else:
        server = EmbeddedServer(
            args.data_dir, token_rate_per_minute=UNLIMITED, account_rate_per_window=UNLIMITED
        )
        creds = server.start()
    REDACTOR.add(creds.client_secret)

    def connect() -> ConnectClient:
        return ConnectClient(
            **creds.client_options(),  # as serve's embedded backend
            token_rate_per_minute=None,
            account_rate_per_window=None,
        )

    try:
        if not args.http:
            config = ServerConfig(
                connect=connect,
                fixed_principal=Principal(user=args.user, perm="write", source="stdio"),
            )
            mcp = build_server(config)
            anyio.run(mcp.run_stdio_async, backend_options={"use_uvloop": True})
            return
        import uvicorn

        jwt = JWTConfig(key=args.jwt_secret, algorithms=("HS256",))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        port = sock.getsockname()[1]
        config = ServerConfig(
            connect=connect,
            verifier=JWTVerifier(jwt),
            public_url=f"http://127.0.0.1:{port}",
        )
        mcp = build_server(config)
        app = mcp.streamable_http_app(
            host="127.0.0.1", transport_security=transport_security("127.0.0.1", settings)
        )
        print(f"PORT {port}", flush=True)
        uvicorn.Server(
            uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", ws="none")
        ).run(sockets=[sock])
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
