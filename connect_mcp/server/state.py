"""The server's configuration and its per-process state (what the lifespan yields)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from connect_mcp.tools._base import LinkOptions, Principal, ToolRuntime

if TYPE_CHECKING:
    from mcp.server.auth.provider import TokenVerifier

    from connect_mcp.connect import ConnectClient
    from connect_mcp.server.confirmations import ConfirmationStore

ServePolicy = Literal["elicit", "url", "never"]


@dataclass(frozen=True)
class ServerConfig:
    """Everything `build_server` needs; built by the CLI from `Settings`, or by tests directly.

    `connect` is a factory, not a client: the client is opened inside the server's lifespan, on
    the event loop that will use it.
    """

    connect: Callable[[], ConnectClient]
    environment: str = "development"
    link_options: LinkOptions = field(default_factory=LinkOptions)
    confirm: ServePolicy = "elicit"
    confirm_timeout: float = 300.0
    #: `url` policy: how long a confirmation page stays valid (the gate waits at most this).
    confirm_expiry: float = 600.0
    #: `url` policy: seconds between progress notifications while the gate waits.
    confirm_progress_interval: float = 2.0
    #: `url` policy: where the confirmation pages are served. Set by the HTTP transport, which
    #: mounts them on its own app (`{confirm_page_url}/confirm/<id>`); when None the server
    #: starts its own loopback page server on `confirm_page_port` (0 = any free port).
    confirm_page_url: str | None = None
    confirm_page_port: int = 0
    workflow_response_limit: int = 16_384
    #: The user of a stdio session (or of an in-process test client): fixed at start-up.
    fixed_principal: Principal | None = None
    #: HTTP only: verifies bearer tokens; each request's user comes from its token.
    verifier: TokenVerifier | None = None
    public_url: str = "http://127.0.0.1:8000"
    #: Publish the tools' output schemas (`CONNECT_MCP_OUTPUT_SCHEMAS`); off by default.
    output_schemas: bool = False

    @property
    def answer_window(self) -> float:
        """How long a 2026-07-28 confirmation's sealed state lives: as long as a person has to
        answer (the page's expiry under the `url` policy)."""
        if self.confirm == "url":
            return max(self.confirm_timeout, self.confirm_expiry)
        return self.confirm_timeout


@dataclass(frozen=True)
class ServerState:
    """What the lifespan yields: reachable from every request as `lifespan_context`."""

    config: ServerConfig
    runtime: ToolRuntime
    #: `url` policy only: the open confirmations and the base URL of their pages.
    confirmations: ConfirmationStore | None = None
    confirm_page_url: str | None = None
