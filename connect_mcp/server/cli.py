"""`connect-mcp serve` and `connect-mcp token`: run the MCP server, mint HTTP tokens.

Only `argparse` is imported here: an MCP client waits for `serve` to start, so the SDK, the
Connect client and the local server are imported inside the handlers, once they are needed.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    serve: argparse.ArgumentParser = sub.add_parser(
        "serve",
        help="run the MCP server (stdio by default, --http for streamable HTTP)",
        description=(
            "Run the MCP server. stdio (default): one session for the user given by "
            "--external-user-id / CONNECT_MCP_EXTERNAL_USER_ID. --http: streamable HTTP at /mcp; "
            "every request carries a bearer JWT naming its user. Without PIPEDREAM_* credentials "
            "the embedded local Connect server is started and used."
        ),
    )
    serve.add_argument("--http", action="store_true", help="serve streamable HTTP instead of stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000; 0 = any)")
    serve.add_argument(
        "--external-user-id",
        metavar="USER",
        help="stdio: the end user this session acts for (or CONNECT_MCP_EXTERNAL_USER_ID)",
    )
    serve.add_argument(
        "--read-only", action="store_true", help="stdio: list and read only; no write tools"
    )
    serve.add_argument(
        "--dev-user",
        metavar="USER",
        help=(
            "--http DEVELOPMENT ONLY: act for USER (write permission) on every request, WITHOUT "
            "a token; loopback binds only"
        ),
    )
    serve.set_defaults(handler=_serve)

    token: argparse.ArgumentParser = sub.add_parser(
        "token",
        help="mint a bearer token (HS256) for the HTTP server",
        description=(
            "Print a JWT for `serve --http`, signed with CONNECT_MCP_JWT_SECRET - or, when none "
            "is configured, with the development secret `serve --http` keeps in the data dir."
        ),
    )
    token.add_argument("--user", required=True, help="the external user id the token names")
    token.add_argument("--write", action="store_true", help="grant write permission (default read)")
    token.add_argument(
        "--ttl", default="1h", help="lifetime: seconds, or 30m, 12h, 7d (default 1h)"
    )
    token.set_defaults(handler=_token)


def _fail(message: str) -> int:
    import sys

    print(f"connect-mcp: {message}", file=sys.stderr, flush=True)
    return 2


def _serve(args: argparse.Namespace) -> int:
    from connect_mcp.config import Settings
    from connect_mcp.log import configure_logging
    from connect_mcp.server.serve import StartupError, run_http, run_stdio

    settings = Settings()
    configure_logging(settings.log_level)
    try:
        if args.http:
            if args.external_user_id or args.read_only:
                return _fail(
                    "--external-user-id and --read-only are for stdio; over HTTP each request's "
                    "bearer token names its user and permission"
                )
            run_http(settings, args.host, args.port, dev_user=args.dev_user)
        elif args.dev_user is not None:
            return _fail("--dev-user is for --http; stdio takes --external-user-id")
        else:
            run_stdio(settings, args.external_user_id, read_only=args.read_only)
    except StartupError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    return 0


def _token(args: argparse.Namespace) -> int:
    from connect_mcp.config import Settings
    from connect_mcp.server.auth import AuthConfigError, jwt_config, mint_token, parse_ttl

    settings = Settings()
    try:
        config = jwt_config(settings)
        token = mint_token(
            config,
            args.user,
            perm="write" if args.write else "read",
            ttl_seconds=parse_ttl(args.ttl),
        )
    except (AuthConfigError, OSError) as exc:
        return _fail(str(exc))
    print(token)
    return 0
