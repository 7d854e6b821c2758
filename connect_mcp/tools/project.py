"""`get_project_info`: the apps the operator configured for this Connect project."""

from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import Resolve
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from connect_mcp.connect import ConnectError
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
from connect_mcp.tools._errors import tool_error
from connect_mcp.tools.accounts import READ


class ProjectApp(BaseModel):
    id: str | None = optional()
    name_slug: str


class GetProjectInfoInput(ToolInput):
    """No arguments."""


class ProjectInfoOutput(ToolOutput):
    environment: str = Field(description="development or production.")
    apps: list[ProjectApp]

    def summary(self) -> str:
        slugs = ", ".join(a.name_slug for a in self.apps) or "none configured"
        return f"Connect project ({self.environment}); configured apps: {slugs}."


def register(mcp: MCPServer, hooks: ToolHooks) -> None:
    async def get_project_info(
        args: GetProjectInfoInput, principal: Principal, rt: ToolRuntime
    ) -> CallToolResult:
        try:
            info = await rt.client.get_project_info()
        except ConnectError as exc:
            raise tool_error(exc, "read the project info") from exc
        apps = [
            ProjectApp(id=getattr(a, "id", None), name_slug=str(a.name_slug)) for a in info.apps
        ]
        return result(ProjectInfoOutput(environment=rt.environment, apps=apps))

    add_tool(
        mcp,
        ToolSpec(
            name="get_project_info",
            title="Get project info",
            description=(
                "The apps configured for this Connect project (the ones to offer the user) and "
                "its environment: development or production."
            ),
            input_model=GetProjectInfoInput,
            output_model=ProjectInfoOutput,
            annotations=READ,
        ),
        get_project_info,
        {
            "principal": Annotated[Principal, Resolve(hooks.principal)],
            "rt": Annotated[ToolRuntime, Resolve(hooks.runtime)],
        },
    )
