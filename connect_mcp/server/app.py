"""`build_server(config)`: the `MCPServer` with its tools, hooks, middleware and lifespan.

Transport-neutral: the same server object runs over stdio, over streamable HTTP, or in-process
under the SDK's `Client` in tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING

from mcp.server import MCPServer
from mcp.server.auth.settings import AuthSettings
from mcp.server.caching import CacheHint
from mcp.server.mcpserver import RequestStateSecurity

from connect_mcp import __version__
from connect_mcp.log import get_logger
from connect_mcp.server.gate import make_gate
from connect_mcp.server.guard import Guard, expired_confirmation
from connect_mcp.server.protocol_errors import RejectForgedState, UnknownPrompt
from connect_mcp.server.scope import session_principal, session_runtime, session_writer
from connect_mcp.server.state import ServerConfig, ServerState
from connect_mcp.tools import register_all
from connect_mcp.tools._base import ToolHooks, ToolRuntime

if TYPE_CHECKING:
    from connect_mcp.server.confirmations import ConfirmationStore

_log = get_logger("connect_mcp.app")

NAME = "connect-mcp"

INSTRUCTIONS = """\
This server manages the connected third-party accounts (Slack, GitHub, OpenAI, ...) of ONE end \
user of a product built on Pipedream Connect - the user this session is bound to. You cannot \
act for any other user and no tool takes a user id.

- To see what the user has connected: list_accounts (get_account for one). Accounts that are \
dead, unhealthy or expired say so and carry an 'action'.
- To connect an app or repair a broken connection: create_connect_link (with account_id to \
reconnect) and give the user the link. Never ask the user for passwords or API keys.
- Deleting (delete_account, delete_app_accounts, delete_user) always asks the human for \
confirmation first; if they do not confirm, nothing is deleted.
- Credentials are never shown; you see only the names of credential fields and when they expire.
"""


def build_server(config: ServerConfig) -> MCPServer[ServerState]:
    store: ConfirmationStore | None = None
    if config.confirm == "url":
        from connect_mcp.server.confirmations import ConfirmationStore

        store = ConfirmationStore(expiry=config.confirm_expiry)

    @asynccontextmanager
    async def lifespan(_server: MCPServer[ServerState]) -> AsyncIterator[ServerState]:
        async with AsyncExitStack() as stack:
            client = await stack.enter_async_context(config.connect())
            page_url = config.confirm_page_url
            if store is not None and page_url is None:
                from connect_mcp.server.confirm_page import serve_pages

                page_url = await stack.enter_async_context(
                    serve_pages(store, port=config.confirm_page_port)
                )
                _log.info("confirmation_pages", url=page_url)
            yield ServerState(
                config=config,
                runtime=ToolRuntime(
                    client=client,
                    environment=config.environment,
                    workflow_response_limit=config.workflow_response_limit,
                    link_options=config.link_options,
                ),
                confirmations=store,
                confirm_page_url=page_url if store is not None else None,
            )

    auth: AuthSettings | None = None
    if config.verifier is not None:
        auth = AuthSettings(
            issuer_url=config.public_url,
            resource_server_url=None,
        )
    state_security = RequestStateSecurity.ephemeral(ttl=config.answer_window, audience=NAME)
    mcp: MCPServer[ServerState] = MCPServer(
        NAME,
        title="Pipedream Connect accounts",
        instructions=INSTRUCTIONS,
        version=__version__,
        token_verifier=config.verifier,
        auth=auth,
        lifespan=lifespan,
        # The sealed state of a 2026-07-28 confirmation lives exactly as long as the human has
        # to answer (`answer_window`): a later answer is rejected, and deletes nothing.
        request_state_security=state_security,
        # The tool list depends on the caller's permission: never share a cached copy.
        cache_hints={"tools/list": CacheHint(ttl_ms=0, scope="private")},
    )
    hooks = ToolHooks(
        principal=session_principal, writer=session_writer, runtime=session_runtime, gate=make_gate
    )
    register_all(mcp, hooks, output_schemas=config.output_schemas)
    if store is not None and config.confirm_page_url is not None:
        from connect_mcp.server.confirm_page import Site, routes

        # On the HTTP transport's own app (outside its bearer-token check: a person's browser
        # has no token; the confirmation id in the path is the capability).
        site = Site.of(config.confirm_page_url, config.public_url)
        for route in routes(store, site):
            mcp.custom_route(route.path, methods=sorted(route.methods or ()))(route.endpoint)
    mcp.middleware.append(Guard())
    mcp.middleware.append(UnknownPrompt(mcp))  # -32602, not an internal error
    mcp.middleware.insert(0, expired_confirmation)
    mcp.middleware.insert(0, RejectForgedState(state_security))  # SEP-2322: an error
    return mcp
