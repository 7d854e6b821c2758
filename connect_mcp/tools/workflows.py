"""`invoke_workflow`: run a Pipedream workflow for the session's user.

Requests go only to hosts on the workflow domain (or the operator's allowlist), and the
server's Pipedream access token (auth ``oauth``) only to the endpoints the operator listed in
``CONNECT_MCP_WORKFLOW_OAUTH_ENDPOINTS`` - the workflow domain is shared by every Pipedream
user, so a model could otherwise name an endpoint someone else runs. The Connect client
refuses anything else before sending a byte, so a model-chosen URL can neither reach an
internal service nor exfiltrate the token. The response
body is redacted - by value, and structurally when it is JSON - *before* it is truncated:
cutting first could leave half a secret that the by-value scrubber no longer recognises. The
result then goes through the redactor once more with everything else the tool returns.
"""

import json
from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field, WithJsonSchema

from connect_mcp.connect import ConnectError
from connect_mcp.redact import REDACTOR
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

#: `body` as clients can read it: the JSON it accepts (object, array or string), with array
#: items spelled as typed branches - a bare `{}` ("anything") is flagged as unportable by
#: schema linters (MCP Inspector --strict), and `type` arrays are not read by every client.
_ANY_ITEM = {
    "anyOf": [{"type": t} for t in ("object", "array", "string", "number", "boolean", "null")]
}
BODY_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "object"},
        {"type": "array", "items": _ANY_ITEM},
        {"type": "string"},
    ]
}


class InvokeWorkflowInput(ToolInput):
    endpoint: str = Field(
        min_length=2,
        max_length=300,
        description="Endpoint id ('en123abc') or its URL on the workflow domain.",
    )
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = Field(
        default="POST", description="HTTP method."
    )
    body: Annotated[dict[str, Any] | list[Any] | str | None, WithJsonSchema(BODY_SCHEMA)] = Field(
        default=None, description="JSON body (not with GET)."
    )
    auth: Literal["oauth", "static_bearer", "none"] = Field(
        default="oauth",
        description=(
            "oauth: this server's Pipedream token (operator-listed endpoints only); "
            "static_bearer: the workflow's own."
        ),
    )
    static_bearer: str | None = Field(
        default=None,
        min_length=16,  # = guard.MIN_MODEL_SECRET_LENGTH: see there why short values are refused
        max_length=4096,
        description="For auth=static_bearer. Never echoed.",
    )


class WorkflowOutput(ToolOutput):
    status: int = Field(description="HTTP status.")
    content_type: str | None = optional()
    body: str = Field(description="Redacted, cut at the size limit.")
    truncated: bool

    def summary(self) -> str:
        cut = " (truncated)" if self.truncated else ""
        return f"Workflow answered HTTP {self.status}{cut}:\n{self.body}"


def _text(body: Any) -> str:
    if body is None:
        return ""
    if isinstance(body, bytes | bytearray):
        return bytes(body).decode("utf-8", errors="replace")
    if isinstance(body, str):
        return body
    return json.dumps(body, ensure_ascii=False)


def redacted_body(text: str) -> str:
    """By value always; and when the body is JSON, structurally too, so a field named like a
    secret (`refresh_token`, `password`, ...) is masked even if its value was never seen."""
    try:
        tree = json.loads(text)
    except ValueError:
        return REDACTOR.scrub(text)
    if not isinstance(tree, dict | list):
        return REDACTOR.scrub(text)
    return json.dumps(REDACTOR.scrub_obj(tree), ensure_ascii=False)


def register(mcp: MCPServer, hooks: ToolHooks) -> None:
    async def invoke_workflow(
        args: InvokeWorkflowInput, principal: Principal, rt: ToolRuntime
    ) -> CallToolResult:
        if (args.auth == "static_bearer") != (args.static_bearer is not None):
            raise ToolError("Pass static_bearer exactly when auth is 'static_bearer'.")
        try:
            response = await rt.client.invoke_workflow(
                args.endpoint,
                principal.user,
                method=args.method,
                body=args.body,
                auth=args.auth,
                static_bearer=args.static_bearer,
            )
        except ConnectError as exc:
            raise tool_error(exc, "invoke the workflow", may_have_run=True) from exc
        text = redacted_body(_text(response.body))
        limit = rt.workflow_response_limit
        truncated = len(text) > limit or bool(getattr(response, "truncated", False))
        headers = {k.lower(): v for k, v in (response.headers or {}).items()}
        return result(
            WorkflowOutput(
                status=response.status_code,
                content_type=headers.get("content-type"),
                body=text[:limit],
                truncated=truncated,
            )
        )

    add_tool(
        mcp,
        ToolSpec(
            name="invoke_workflow",
            title="Invoke workflow",
            description=(
                "Run a Pipedream workflow over HTTP for this user (it can use their accounts); "
                "returns status and body, redacted and cut to a limit. Hosts off the workflow "
                "domain are refused, and auth oauth for endpoints the operator did not list. "
                "Only when the user asked for what it does."
            ),
            input_model=InvokeWorkflowInput,
            output_model=WorkflowOutput,
            annotations=ToolAnnotations(
                read_only_hint=False,
                destructive_hint=True,
                idempotent_hint=False,
                open_world_hint=True,
            ),
            write=True,
            secret_args=frozenset({"static_bearer"}),
        ),
        invoke_workflow,
        {
            "principal": Annotated[Principal, Resolve(hooks.writer)],
            "rt": Annotated[ToolRuntime, Resolve(hooks.runtime)],
        },
    )
