"""`connect-mcp local ...`: run, seed and re-key the local Connect server.

Only argparse is imported at module top: this module is loaded on every `connect-mcp`
invocation, and the MCP server's cold start must not pay for uvicorn or SQLite.
"""

from __future__ import annotations

import argparse
from typing import Any

DEFAULT_PORT = 8420


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "local",
        help="run the local Connect server (the Connect REST API, offline)",
        description=(
            "Run the local Connect server alone. On first start it creates a project and an "
            "OAuth client in the data directory; once it serves, it prints the PIPEDREAM_* "
            "lines to paste into a shell or an .env file (logs go to stderr)."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT}; 0 picks one)"
    )
    _data_dir_option(parser, None)
    parser.set_defaults(handler=_run)
    actions = parser.add_subparsers(dest="local_command", metavar="ACTION")

    seed = actions.add_parser(
        "seed", help="create users and accounts with generated credentials (for demos)"
    )
    _data_dir_option(seed, argparse.SUPPRESS)
    seed.add_argument("--users", type=int, default=10, help="external users to create (10)")
    seed.add_argument(
        "--accounts", type=int, default=3, help="accounts per user, across the catalog (3)"
    )
    seed.add_argument("--environment", choices=("development", "production"), default="development")
    seed.add_argument("--prefix", default="seed-user-", help="external_user_id prefix")
    seed.set_defaults(handler=_seed)

    rotate = actions.add_parser(
        "rotate-key",
        help="re-encrypt all stored credentials under a new key (stop the server first)",
    )
    _data_dir_option(rotate, argparse.SUPPRESS)
    rotate.set_defaults(handler=_rotate)


def _data_dir_option(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "--data-dir",
        default=default,
        help="data directory (default: CONNECT_MCP_DATA_DIR or ~/.local/share/connect-mcp)",
    )


def _settings_and_dir(args: argparse.Namespace) -> tuple[Any, Any]:
    from pathlib import Path

    from connect_mcp.config import Settings
    from connect_mcp.log import configure_logging

    settings = Settings()
    configure_logging(settings.log_level)
    data_dir = Path(args.data_dir).expanduser() if args.data_dir else settings.data_dir
    return settings, data_dir


def _key(settings: Any) -> str | None:
    key = settings.local_encryption_key
    return None if key is None else str(key.get_secret_value())


def _run(args: argparse.Namespace) -> int:
    import signal
    import sys
    import threading

    from connect_mcp.local.crypto import EncryptionKeyError
    from connect_mcp.local.dirlock import DataDirBusyError
    from connect_mcp.local.embedded import EmbeddedServer
    from connect_mcp.log import get_logger
    from connect_mcp.redact import REDACTOR

    settings, data_dir = _settings_and_dir(args)
    log = get_logger("connect_mcp.local")
    server = EmbeddedServer(
        data_dir,
        host=args.host,
        port=args.port,
        token_rate_per_minute=settings.local_token_rate_per_minute,
        account_rate_per_window=settings.local_account_rate_per_window,
        account_rate_window_seconds=settings.local_account_rate_window_seconds,
        encryption_key=_key(settings),
    )
    try:
        creds = server.start()
    except (EncryptionKeyError, DataDirBusyError, OSError) as exc:
        print(f"connect-mcp local: {exc}", file=sys.stderr)
        return 2
    REDACTOR.add(creds.client_secret, creds.webhook_signing_key)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    sys.stdout.write(
        f"PIPEDREAM_BASE_URL={creds.base_url}\n"
        f"PIPEDREAM_PROJECT_ID={creds.project_id}\n"
        f"PIPEDREAM_CLIENT_ID={creds.client_id}\n"
        f"PIPEDREAM_CLIENT_SECRET={creds.client_secret}\n"
        f"PIPEDREAM_WEBHOOK_SIGNING_KEY={creds.webhook_signing_key}\n"
    )
    sys.stdout.flush()
    log.info("local_server_started", base_url=creds.base_url, data_dir=str(data_dir))
    try:
        # Waking up now and then (instead of one untimed wait) lets the main thread run the
        # signal handler promptly whatever the lock implementation does with signals.
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        log.info("local_server_stopped")
    return 0


def _seed(args: argparse.Namespace) -> int:
    import sys

    from connect_mcp.local.crypto import EncryptionKeyError
    from connect_mcp.local.dirlock import DataDirBusyError
    from connect_mcp.local.seed import seed

    settings, data_dir = _settings_and_dir(args)
    if args.users < 0 or args.accounts < 0:
        print("connect-mcp local seed: --users and --accounts must be >= 0", file=sys.stderr)
        return 2
    try:
        result = seed(
            data_dir,
            users=args.users,
            accounts_per_user=args.accounts,
            environment=args.environment,
            prefix=args.prefix,
            encryption_key=_key(settings),
        )
    except (EncryptionKeyError, DataDirBusyError) as exc:
        print(f"connect-mcp local seed: {exc}", file=sys.stderr)
        return 2
    print(
        f"seeded {result.users} users and {result.accounts} accounts in project "
        f"{result.project_id} ({result.environment})"
    )
    return 0


def _rotate(args: argparse.Namespace) -> int:
    import sys

    from connect_mcp.local.crypto import EncryptionKeyError
    from connect_mcp.local.dirlock import DataDirBusyError
    from connect_mcp.local.keys import rotate_key

    settings, data_dir = _settings_and_dir(args)
    try:
        rotation = rotate_key(data_dir, encryption_key=_key(settings))
    except (EncryptionKeyError, FileNotFoundError, DataDirBusyError) as exc:
        print(f"connect-mcp local rotate-key: {exc}", file=sys.stderr)
        return 2
    print(
        f"re-encrypted {rotation.accounts} accounts: key {rotation.old_key_id} -> "
        f"{rotation.new_key_id} (key file {rotation.key_file})"
    )
    if rotation.configured_key_replaced:
        print(
            "the old key came from CONNECT_MCP_LOCAL_ENCRYPTION_KEY: set it to the contents "
            f"of {rotation.key_file}, or unset it so the key file is used",
            file=sys.stderr,
        )
    return 0
