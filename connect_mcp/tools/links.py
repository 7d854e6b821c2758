"""`create_connect_link`: a Connect Link for the session's user - to connect a new account, or
to *reconnect* one of their existing accounts whose connection has rotted.

The link carries a single-use connect token meant for the end user, so unlike every other
token it is returned to the model: handing it to the user is the point.
"""

from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from mcp.server import MCPServer
from mcp.server.mcpserver import Resolve
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from connect_mcp.connect import ConnectError, NotFoundError
from connect_mcp.tools._base import (
    Principal,
    ToolHooks,
    ToolInput,
    ToolOutput,
    ToolRuntime,
    ToolSpec,
    add_tool,
    optional,
    result,
)
from connect_mcp.tools._errors import not_found, tool_error
from connect_mcp.tools._views import iso
from connect_mcp.tools.accounts import AccountId, AppRef, own_account


class CreateConnectLinkInput(ToolInput):
    app: AppRef | None = Field(
        default=None,
        description="App to connect; omit to let the user choose.",
    )
    account_id: AccountId | None = Field(
        default=None,
        description="Account to reconnect: the link replaces its credentials.",
    )


class ConnectLinkOutput(ToolOutput):
    url: str = Field(description="Give it to the user.")
    expires_at: str | None = optional()
    app: str | None = optional()
    reconnect_account_id: str | None = optional()

    def summary(self) -> str:
        what = (
            f"reconnect account {self.reconnect_account_id}"
            if self.reconnect_account_id
            else f"connect {self.app}"
            if self.app
            else "connect an app"
        )
        return (
            f"Connect Link to {what} (single use, expires {self.expires_at}):\n{self.url}\n"
            "Give this link to the user; they open it and finish in their browser."
        )


def with_query(url: str, **params: str | None) -> str:
    """Add query parameters to a URL, keeping those it already has."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v]
    return urlunsplit(parts._replace(query=urlencode(query)))


def register(mcp: MCPServer, hooks: ToolHooks) -> None:
    async def create_connect_link(
        args: CreateConnectLinkInput, principal: Principal, rt: ToolRuntime
    ) -> CallToolResult:
        app = args.app
        if args.account_id is not None:
            account = await own_account(rt, principal.user, args.account_id)
            if app is not None and app not in (account.app.name_slug, account.app.id):
                from mcp.server.mcpserver.exceptions import ToolError

                raise ToolError(
                    f"Account {args.account_id!r} is a {account.app.name_slug} "
                    f"account, not {app!r}. Omit 'app' to reconnect it."
                )
            app = account.app.name_slug
        elif app is not None:
            try:
                app = (await rt.client.get_app(app)).name_slug
            except NotFoundError as exc:
                raise not_found("app", app) from exc
            except ConnectError as exc:
                raise tool_error(exc, "look up the app") from exc
        try:
            options = rt.link_options
            token = await rt.client.create_connect_token(
                principal.user,
                webhook_uri=options.webhook_uri,
                success_redirect_uri=options.success_redirect_uri,
                error_redirect_uri=options.error_redirect_uri,
            )
        except ConnectError as exc:
            raise tool_error(exc, "create a connect token") from exc
        url = with_query(token.connect_link_url, app=app, accountId=args.account_id)
        return result(
            ConnectLinkOutput(
                url=url,
                expires_at=iso(token.expires_at),
                app=app,
                reconnect_account_id=args.account_id,
            )
        )

    add_tool(
        mcp,
        ToolSpec(
            name="create_connect_link",
            title="Create connect link",
            description=(
                "A single-use link for this user to connect an app, or to reconnect an account "
                "that is not healthy (account_id). Give the returned url to the user; never ask "
                "them for credentials."
            ),
            input_model=CreateConnectLinkInput,
            output_model=ConnectLinkOutput,
            annotations=ToolAnnotations(
                read_only_hint=False,
                destructive_hint=False,
                idempotent_hint=False,
                open_world_hint=True,
            ),
            write=True,
        ),
        create_connect_link,
        {
            "principal": Annotated[Principal, Resolve(hooks.writer)],
            "rt": Annotated[ToolRuntime, Resolve(hooks.runtime)],
        },
    )
