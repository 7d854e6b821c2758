"""App catalog tools: which apps a user can connect. Compact on purpose - ids, slugs, names and
auth type, never the catalog's long descriptions or image URLs, which only cost the model tokens.
"""

import json
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Resolve
from mcp.types import CallToolResult
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
from connect_mcp.tools.accounts import READ, AppRef


class AppView(ToolOutput):
    id: str
    name_slug: str
    name: str
    auth_type: str | None = optional("oauth, keys or none.")

    def summary(self) -> str:
        return f"{self.name} ({self.name_slug}, {self.id}), auth {self.auth_type}."


class AppDetail(AppView):
    fields: list[str] = Field(description="What the user fills in to connect (key-based apps).")
    categories: list[str]

    def summary(self) -> str:
        fields = f"; asks the user for: {', '.join(self.fields)}" if self.fields else ""
        return f"{self.name} ({self.name_slug}, {self.id}), auth {self.auth_type}{fields}."


class ListAppsInput(ToolInput):
    q: str | None = Field(
        default=None, min_length=1, max_length=100, description="Search in names and slugs."
    )
    cursor: str | None = Field(
        default=None, min_length=1, max_length=200, description="next_cursor of the last page."
    )
    limit: int = Field(default=20, ge=1, le=100, description="Page size.")


class ListAppsOutput(ToolOutput):
    apps: list[AppView]
    next_cursor: str | None
    total_count: int | None

    def summary(self) -> str:
        if not self.apps:
            return "No apps match."
        lines = [f"{len(self.apps)} app(s):"]
        lines += [f"- {a.name} ({a.name_slug}), auth {a.auth_type}" for a in self.apps]
        if self.next_cursor:
            lines.append(f"More: call list_apps with cursor={self.next_cursor!r}.")
        return "\n".join(lines)


class GetAppInput(ToolInput):
    app: AppRef


def _view(app: Any) -> AppView:
    return AppView(
        id=str(app.id),
        name_slug=str(app.name_slug),
        name=str(getattr(app, "name", None) or app.name_slug),
        auth_type=getattr(app, "auth_type", None),
    )


def _field_names(app: Any) -> list[str]:
    raw = getattr(app, "custom_fields_json", None)
    try:
        fields = json.loads(raw) if isinstance(raw, str) else (raw or [])
    except ValueError:
        return []
    if not isinstance(fields, list):
        return []
    return [str(f["name"]) for f in fields if isinstance(f, dict) and "name" in f]


def register(mcp: MCPServer, hooks: ToolHooks) -> None:
    async def list_apps(
        args: ListAppsInput, principal: Principal, rt: ToolRuntime
    ) -> CallToolResult:
        try:
            page = await rt.client.list_apps(q=args.q, limit=args.limit, after=args.cursor)
        except ConnectError as exc:
            raise tool_error(exc, "list apps") from exc
        info = page.page_info
        more = (
            bool(info.end_cursor)
            and len(page.data) >= args.limit
            and not (info.total_count is not None and info.total_count <= len(page.data))
        )
        return result(
            ListAppsOutput(
                apps=[_view(a) for a in page.data],
                next_cursor=info.end_cursor if more else None,
                total_count=info.total_count,
            )
        )

    add_tool(
        mcp,
        ToolSpec(
            name="list_apps",
            title="List apps",
            description=(
                "Search the apps a user can connect (Slack, GitHub, ...), paged: id, slug, name, "
                "auth type. Pass the slug to create_connect_link."
            ),
            input_model=ListAppsInput,
            output_model=ListAppsOutput,
            annotations=READ,
        ),
        list_apps,
        {
            "principal": Annotated[Principal, Resolve(hooks.principal)],
            "rt": Annotated[ToolRuntime, Resolve(hooks.runtime)],
        },
    )

    async def get_app(args: GetAppInput, principal: Principal, rt: ToolRuntime) -> CallToolResult:
        try:
            app = await rt.client.get_app(args.app)
        except NotFoundError as exc:
            raise not_found("app", args.app) from exc
        except ConnectError as exc:
            raise tool_error(exc, "get the app") from exc
        view = _view(app)
        categories = getattr(app, "categories", None) or []
        return result(
            AppDetail(
                **view.model_dump(),
                fields=_field_names(app),
                categories=[str(c) for c in categories],
            )
        )

    add_tool(
        mcp,
        ToolSpec(
            name="get_app",
            title="Get app",
            description=(
                "One app by slug or id: name, auth type, categories and, for key-based apps, the "
                "fields the user will fill in."
            ),
            input_model=GetAppInput,
            output_model=AppDetail,
            annotations=READ,
        ),
        get_app,
        {
            "principal": Annotated[Principal, Resolve(hooks.principal)],
            "rt": Annotated[ToolRuntime, Resolve(hooks.runtime)],
        },
    )
