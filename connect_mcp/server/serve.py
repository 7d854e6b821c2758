"""`connect-mcp serve`: pick the Connect backend, build the server, run a transport.

With no Pipedream credentials the embedded local Connect server is started in-process on a
free loopback port (data dir from settings) and used - so a new user can try everything
offline. Everything said to a person goes to stderr: in stdio mode stdout is the protocol.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from connect_mcp.log import get_logger
from connect_mcp.redact import REDACTOR

if TYPE_CHECKING:
    from mcp.server.transport_security import TransportSecuritySettings

    from connect_mcp.config import Settings
    from connect_mcp.connect import ConnectClient
    from connect_mcp.server.auth import JWTConfig
    from connect_mcp.server.state import ServerConfig
    from connect_mcp.tools._base import Principal

_log = get_logger("connect_mcp.serve")

DEMO_USER = "demo-user"
DEMO_TOKEN_TTL = 12 * 3600


class StartupError(Exception):
    """Refuse to start; the message tells a person what to change."""


def say(text: str, stream: TextIO | None = None) -> None:
    """A line for a person, on stderr (never stdout: stdio mode speaks MCP there)."""
    print(text, file=stream or sys.stderr, flush=True)


@dataclass(frozen=True)
class Backend:
    label: str
    connect: Callable[[], ConnectClient]
    embedded: bool


def check_policy(settings: Settings) -> None:
    if settings.confirm == "url":
        say(
            "connect-mcp: CONNECT_MCP_CONFIRM=url - every delete waits for a person to confirm "
            f"on a one-time confirmation page (valid {settings.confirm_expiry:g} s); MCP "
            "clients without URL-mode elicitation cannot delete."
        )
    if settings.confirm == "never":
        say(
            "connect-mcp: WARNING: CONNECT_MCP_CONFIRM=never - deletes run WITHOUT asking a "
            "human. Use this only for trusted automation."
        )
        _log.warning("confirmation_disabled", policy="never")


@contextmanager
def open_backend(settings: Settings) -> Iterator[Backend]:
    """The real Connect API when credentials are configured, else the embedded local server."""
    from connect_mcp.connect import ConnectClient

    limit = settings.workflow_response_limit
    # The client reads more than the tool returns, so a JSON body usually arrives whole and
    # can be redacted structurally before the tool cuts it to `limit`.
    read_limit = max(limit * 4, 65_536)
    if settings.has_pipedream_credentials:
        REDACTOR.add(settings.client_secret)
        yield Backend(
            label=(
                f"Pipedream Connect API at {settings.base_url} (project {settings.project_id}, "
                f"{settings.environment})"
            ),
            connect=lambda: ConnectClient.from_settings(
                settings, workflow_response_limit=read_limit
            ),
            embedded=False,
        )
        return
    from connect_mcp.local.embedded import EmbeddedServer

    key = settings.local_encryption_key
    server = EmbeddedServer(
        settings.data_dir,
        token_rate_per_minute=settings.local_token_rate_per_minute,
        account_rate_per_window=settings.local_account_rate_per_window,
        account_rate_window_seconds=settings.local_account_rate_window_seconds,
        encryption_key=key.get_secret_value() if key is not None else None,
    )
    creds = server.start()
    REDACTOR.add(creds.client_secret)
    try:
        yield Backend(
            label=(
                f"embedded local Connect server at {creds.base_url} (no PIPEDREAM_* credentials "
                f"configured; data in {settings.data_dir}, project {creds.project_id}, "
                f"{settings.environment})"
            ),
            connect=lambda: ConnectClient(
                **{
                    **creds.client_options(),
                    "workflow_oauth_endpoints": (
                        *settings.workflow_oauth_endpoints,
                        *creds.workflow_endpoints,
                    ),
                },
                environment=settings.environment,
                workflow_allowlist=tuple(settings.workflow_allowlist),
                workflow_response_limit=read_limit,
            ),
            embedded=True,
        )
    finally:
        server.stop()


def server_config(
    settings: Settings,
    backend: Backend,
    *,
    principal: Principal | None = None,
    jwt: JWTConfig | None = None,
    public_url: str = "http://127.0.0.1:8000",
    confirm_page_url: str | None = None,
) -> ServerConfig:
    from connect_mcp.server.state import ServePolicy, ServerConfig
    from connect_mcp.tools._base import LinkOptions

    verifier = None
    if jwt is not None:  # stdio never pays for importing pyjwt and cryptography.x509
        from connect_mcp.server.auth import JWTVerifier

        verifier = JWTVerifier(jwt)
    confirm: ServePolicy = settings.confirm
    return ServerConfig(
        connect=backend.connect,
        environment=settings.environment,
        link_options=LinkOptions(
            webhook_uri=settings.connect_webhook_uri,
            success_redirect_uri=settings.connect_success_redirect_uri,
            error_redirect_uri=settings.connect_error_redirect_uri,
        ),
        confirm=confirm,
        confirm_timeout=settings.confirm_timeout,
        confirm_expiry=settings.confirm_expiry,
        confirm_page_url=confirm_page_url,
        confirm_page_port=settings.confirm_page_port,
        workflow_response_limit=settings.workflow_response_limit,
        fixed_principal=principal,
        verifier=verifier,
        public_url=public_url,
        output_schemas=settings.output_schemas,
    )


# --- stdio -----------------------------------------------------------------------------------


def run_stdio(settings: Settings, user: str | None, *, read_only: bool = False) -> None:
    user = user or settings.external_user_id
    if not user:
        raise StartupError(
            "serve (stdio) needs the end user this session acts for: pass "
            "--external-user-id USER or set CONNECT_MCP_EXTERNAL_USER_ID."
        )
    if len(user) > 250:
        raise StartupError("the external user id must be at most 250 characters")
    check_policy(settings)
    # Checked before the heavy imports, so a misconfigured start fails fast.
    import anyio

    from connect_mcp.server.app import build_server
    from connect_mcp.tools._base import Principal

    principal = Principal(user=user, perm="read" if read_only else "write", source="stdio")
    with open_backend(settings) as backend:
        say(f"connect-mcp: stdio MCP server for user {user!r} ({principal.perm})")
        say(f"connect-mcp: Connect backend: {backend.label}")
        mcp = build_server(server_config(settings, backend, principal=principal))
        anyio.run(mcp.run_stdio_async, backend_options=_loop_options())


def _loop_options() -> dict[str, bool]:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return {}
    return {"use_uvloop": True}


# --- streamable HTTP -------------------------------------------------------------------------

LOOPBACK = ("127.0.0.1", "localhost", "::1")
WILDCARD = ("0.0.0.0", "::")  # noqa: S104 - recognised, not bound here


def transport_security(host: str, settings: Settings) -> TransportSecuritySettings:
    """DNS-rebinding protection: always on. Loopback binds accept loopback Host headers (as the
    SDK does); a wildcard or public bind accepts loopback, this machine's hostname and the
    operator's CONNECT_MCP_ALLOWED_HOSTS ('*' turns the Host check off - bearer tokens are
    still required on every request)."""
    from mcp.server.transport_security import TransportSecuritySettings

    configured = [h.strip() for h in settings.allowed_hosts.split(",") if h.strip()]
    if "*" in configured:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    names = ["127.0.0.1", "localhost", "[::1]"]
    if host not in LOOPBACK:
        names += [socket.gethostname(), *([] if host in WILDCARD else [host])]
    names += configured
    hosts: list[str] = []
    for name in dict.fromkeys(names):
        hosts += [name, f"{name}:*"]
    origins = [f"{scheme}://{h}" for h in hosts for scheme in ("http", "https")]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def run_http(settings: Settings, host: str, port: int, *, dev_user: str | None = None) -> None:
    from connect_mcp.server.dev_auth import dev_principal, is_loopback, warning

    # --dev-user: no verifier at all; every request gets the fixed principal (see dev_auth).
    # Refused before the heavy imports, so a bad bind fails fast.
    dev = dev_principal(dev_user, host, settings) if dev_user is not None else None
    import uvicorn

    from connect_mcp.server.app import build_server
    from connect_mcp.server.auth import AuthConfigError, jwt_config

    check_policy(settings)
    try:
        # A generated development secret (and the write token the banner prints) only on a
        # loopback bind: a reachable server without a configured key refuses to start.
        jwt = jwt_config(settings, allow_dev_secret=is_loopback(host)) if dev is None else None
    except (AuthConfigError, OSError) as exc:
        raise StartupError(str(exc)) from None
    sock = bind(host, port)
    real_port = sock.getsockname()[1]
    shown_host = "127.0.0.1" if host in WILDCARD else host
    shown_host = f"[{shown_host}]" if ":" in shown_host else shown_host
    url = f"http://{shown_host}:{real_port}/mcp"
    with open_backend(settings) as backend:
        public = (settings.public_url or url.removesuffix("/mcp")).rstrip("/")
        config = server_config(
            settings,
            backend,
            principal=dev,
            jwt=jwt,
            public_url=url.removesuffix("/mcp"),
            # Confirmation pages are served by this same app, beside /mcp.
            confirm_page_url=public,
        )
        mcp = build_server(config)
        app = mcp.streamable_http_app(
            host=host, transport_security=transport_security(host, settings)
        )
        if jwt is not None:
            say(banner(url=url, bind=f"{host}:{real_port}", backend=backend, jwt=jwt))
        if dev is not None:
            say(f"connect-mcp: Connect backend: {backend.label}")
            say(warning(dev, url))
        server = uvicorn.Server(
            uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", ws="none")
        )
        server.run(sockets=[sock])


def banner(*, url: str, bind: str, backend: Backend, jwt: JWTConfig) -> str:
    """What a person needs to start using the HTTP server, in the order they need it."""
    from connect_mcp.server.auth import mint_token

    lines = [
        "",
        f"connect-mcp: MCP server (streamable HTTP) listening on {bind} - endpoint {url}",
        f"connect-mcp: Connect backend: {backend.label}",
    ]
    if jwt.dev_secret_path is None:
        lines += [
            "connect-mcp: every request needs 'Authorization: Bearer <JWT>' signed with the "
            "configured key (claims: sub=<external user id>, perm=read|write, exp).",
        ]
        if jwt.can_mint:
            lines.append("  Mint one: connect-mcp token --user USER [--write] [--ttl 1h]")
        return "\n".join([*lines, ""])
    token = mint_token(jwt, DEMO_USER, perm="write", ttl_seconds=DEMO_TOKEN_TTL)
    init = (
        '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":'
        '"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"0"}}}'
    )
    lines += [
        "connect-mcp: no CONNECT_MCP_JWT_SECRET / CONNECT_MCP_JWT_PUBLIC_KEY configured: using a "
        f"development HS256 secret kept in {jwt.dev_secret_path} (mode 0600).",
        "",
        f"Development token - user {DEMO_USER!r}, write permission, valid 12 h:",
        f"  {token}",
        "",
        "Connect with the MCP Inspector:",
        "  npx @modelcontextprotocol/inspector",
        f"  -> Transport Type: Streamable HTTP   URL: {url}",
        f"  -> Authentication / header: Authorization: Bearer {token}",
        "",
        "Or check it with curl:",
        f"  curl -sS {url} -H 'Content-Type: application/json' \\",
        "    -H 'Accept: application/json, text/event-stream' \\",
        f"    -H 'Authorization: Bearer {token}' \\",
        f"    -d '{init}'",
        "",
        "Tokens for other users: connect-mcp token --user USER [--write] [--ttl 12h]",
        "",
    ]
    return "\n".join(lines)
