"""`serve --http --dev-user U`: every request acts for user U, without a bearer token.

Why it exists: the official conformance suite and a developer poking at the server with a
stock client (curl, the MCP Inspector) cannot easily send an `Authorization` header. Why it is
fenced in: with no token, *anyone who can reach the socket* acts for U with write permission.
So the mode is

* explicit - a flag, never a default, never an environment variable a deployment could inherit;
* loopback only - any other bind address is refused (exit 2), since there the whole network
  would be U;
* still protected against DNS rebinding - a web page in the developer's browser can reach
  127.0.0.1 too, and with no token the Host/Origin check is the only thing stopping it, so
  `CONNECT_MCP_ALLOWED_HOSTS` may not widen the check beyond loopback names (and `*`, which
  turns it off, is refused);
* loud - a warning block on stderr at start, and a log event.

Nothing here touches the verifier: without one the SDK installs no auth middleware and
`scope.principal_for` falls back to the fixed principal - the same path stdio uses.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from connect_mcp.log import get_logger
from connect_mcp.server.serve import StartupError

if TYPE_CHECKING:
    from connect_mcp.config import Settings
    from connect_mcp.tools._base import Principal

_log = get_logger("connect_mcp.dev_auth")

SOURCE = "dev-user"
MAX_USER_LENGTH = 250
#: Host names the DNS-rebinding check may accept in development mode (ports aside).
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})


def is_loopback(host: str) -> bool:
    """A bind address that only this machine can reach. `localhost` by name; IP literals by
    value (all of 127.0.0.0/8 and ::1). `0.0.0.0`/`::` and every other name are not."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _name(entry: str) -> str:
    """`host`, `host:*`, `host:8000`, `[::1]:*` → the host part, lower-cased."""
    entry = entry.strip().lower()
    if entry.startswith("["):
        return entry[: entry.find("]") + 1] if "]" in entry else entry
    return entry.split(":", 1)[0]


def dev_principal(user: str, host: str, settings: Settings) -> Principal:
    """The principal every request is bound to, after refusing every unsafe combination.

    Raises `StartupError` (the CLI turns it into exit code 2 and a message) for an empty or
    over-long user, a non-loopback bind, or allowed hosts that would let other names in.
    """
    if not 1 <= len(user) <= MAX_USER_LENGTH:
        raise StartupError(f"--dev-user needs a user id of 1-{MAX_USER_LENGTH} characters")
    if not is_loopback(host):
        raise StartupError(
            f"--dev-user binds every request to one user WITHOUT a token, so it only listens on "
            f"loopback (127.0.0.1, ::1, localhost); refusing --host {host}. For other addresses "
            "drop --dev-user and use bearer tokens (connect-mcp token --user USER --write)."
        )
    extra = sorted(
        {
            _name(h)
            for h in settings.allowed_hosts.split(",")
            if h.strip() and _name(h) not in LOOPBACK_NAMES
        }
    )
    if extra:
        raise StartupError(
            "--dev-user keeps DNS-rebinding protection to loopback names only; "
            f"CONNECT_MCP_ALLOWED_HOSTS would also admit {', '.join(extra)}. Unset it, or drop "
            "--dev-user and use bearer tokens."
        )
    from connect_mcp.tools._base import Principal  # only now: refusals stay fast

    return Principal(user=user, perm="write", source=SOURCE)


def warning(principal: Principal, url: str) -> str:
    """The start-up block on stderr: impossible to miss, and says how to get out of it."""
    _log.warning("dev_user_mode", user=principal.user, perm=principal.perm, url=url)
    bar = "!" * 78
    return "\n".join(
        [
            "",
            bar,
            "connect-mcp: WARNING: DEVELOPMENT MODE (--dev-user) - NO AUTHENTICATION.",
            f"connect-mcp: every request to {url} acts for user {principal.user!r} with WRITE",
            "connect-mcp: permission, without a token. Loopback only; Host/Origin checked.",
            "connect-mcp: Never use this for a deployment: drop --dev-user to require tokens.",
            bar,
            "",
            "Connect with the MCP Inspector (no header needed):",
            "  npx @modelcontextprotocol/inspector",
            f"  -> Transport Type: Streamable HTTP   URL: {url}",
            "",
        ]
    )
