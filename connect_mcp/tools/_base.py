"""What every tool module shares: the tool spec, the hooks the server layer supplies, and the
synthesis of an SDK tool function from a pydantic input model.

Why synthesize: the SDK builds a tool's input schema from the function signature, and a
function that takes one pydantic model publishes a *nested* schema (`{"args": {...}}`). We want
each tool to be declared by a plain input model (field descriptions, limits, `extra="forbid"`)
and still publish a flat schema, so the model's fields become keyword parameters of a generated
function. Parameters the server fills (the session's user, the confirmation gate) are appended
as `Annotated[..., Resolve(fn)]`, which the SDK hides from the input schema - the model can
neither see nor set them.

This layer knows nothing of transports: the server layer hands it a `ToolHooks` with the
resolvers that know where the user comes from and how a human confirms.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from mcp.server import MCPServer
    from mcp.types import CallToolResult, ToolAnnotations

    from connect_mcp.connect import ConnectClient

Permission = Literal["read", "write"]


@dataclass(frozen=True)
class Principal:
    """The end user a session acts for, and what it may do. Fixed by the server layer from the
    verified bearer token (HTTP) or the start-up configuration (stdio) - never by the model."""

    user: str
    perm: Permission
    source: str = "config"

    @property
    def can_write(self) -> bool:
        return self.perm == "write"


@dataclass(frozen=True)
class LinkOptions:
    """The operator's settings for every connect token: webhook and browser redirects."""

    webhook_uri: str | None = None
    success_redirect_uri: str | None = None
    error_redirect_uri: str | None = None


@dataclass(frozen=True)
class ToolRuntime:
    """Per-process state the tools need, yielded by the server's lifespan."""

    client: ConnectClient
    environment: str
    workflow_response_limit: int
    link_options: LinkOptions = field(default_factory=LinkOptions)


@dataclass(frozen=True)
class DeleteTarget:
    """One thing a gated tool will delete, as the human is shown it."""

    kind: Literal["account", "user"]
    id: str
    label: str
    #: For the confirmation page, which shows them as columns (accounts only).
    app: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class DeletePlan:
    """What a destructive tool loaded before asking: exactly these targets, nothing else."""

    tool: str
    headline: str
    targets: tuple[DeleteTarget, ...]
    user: str
    #: Loads the plan again with the same arguments: the out-of-band gate compares what would
    #: be deleted now with what the person confirmed minutes ago.
    reload: Callable[[], Awaitable[DeletePlan]] | None = field(
        default=None, compare=False, repr=False
    )

    @property
    def empty(self) -> bool:
        return not self.targets

    @property
    def target_ids(self) -> tuple[str, ...]:
        """Order-free, as the confirmation store compares them."""
        return tuple(sorted(t.id for t in self.targets))

    def message(self) -> str:
        """The confirmation text: the headline, then one line per target. Deterministic, so the
        2026-07-28 retry renders the identical question and its answer is accepted."""
        lines = [self.headline, ""]
        lines += [f"  - {t.label}" for t in self.targets]
        lines += ["", "Answer yes to delete exactly the items above. This cannot be undone."]
        return "\n".join(lines)


GateDecision = Literal[
    "confirmed",  # accept + yes
    "rejected",  # accept + no
    "declined",
    "cancelled",
    "timeout",
    "error",
    "policy_never",  # operator configured CONNECT_MCP_CONFIRM=never
    "nothing_to_delete",
    "expired",  # url policy: the confirmation page expired
    "changed",  # url policy: the targets changed after the page was shown
    "invalid",  # url policy: unknown, spent, or another session's confirmation
]


@dataclass(frozen=True)
class GateOutcome:
    """The gate's verdict. Only `proceed` outcomes delete anything."""

    decision: GateDecision
    detail: str = ""

    @property
    def proceed(self) -> bool:
        return self.decision in ("confirmed", "policy_never")


Resolver = Callable[..., Any]


@dataclass(frozen=True)
class ToolHooks:
    """Resolvers supplied by the server layer.

    * `principal(ctx) -> Principal` - the session's user (read or write).
    * `writer(ctx) -> Principal` - the same, refused unless it may write.
    * `runtime(ctx) -> ToolRuntime` - the Connect client and settings.
    * `gate(loader) -> resolver` - wraps a plan loader into a resolver yielding a `GateOutcome`
      (the loader is itself a resolver returning a `DeletePlan`).
    """

    principal: Resolver
    writer: Resolver
    runtime: Resolver
    gate: Callable[[Resolver], Resolver]


class ToolInput(BaseModel):
    """Base of every input model: unknown arguments are an error, never silently dropped (a
    model that passes `external_user_id` must learn that no tool takes one)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def omitted_if_none(value: Any) -> bool:
    return value is None


def optional(description: str | None = None) -> Any:
    """An output field that is left out when None, instead of sent as `null`: list items
    repeat their fields once per item, so absent-when-empty saves bytes on every row. The
    published schema says so (`_schema.compact_output`: not required, never null)."""
    return Field(default=None, exclude_if=omitted_if_none, description=description)


class ToolOutput(BaseModel):
    """Base of every output model; `summary()` is the short text for text-only clients."""

    def summary(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class ToolSpec:
    """Everything the SDK publishes about a tool, in one place per tool."""

    name: str
    title: str
    description: str
    input_model: type[ToolInput]
    output_model: type[ToolOutput]
    annotations: ToolAnnotations
    write: bool = False
    gated: bool = False
    secret_args: frozenset[str] = field(default_factory=frozenset)


#: Every registered spec, by tool name: the server layer reads it for argument checks,
#: permission filtering and audit.
SPECS: dict[str, ToolSpec] = {}

#: Every tool's compact output schema, by tool name: what `tools/list` publishes as
#: `outputSchema` when the operator opts in (`CONNECT_MCP_OUTPUT_SCHEMAS=true`), and what
#: tests check every structured result against either way.
OUTPUT_SCHEMAS: dict[str, dict[str, Any]] = {}


def result(output: ToolOutput) -> CallToolResult:
    """A tool result with both the structured output and its text summary."""
    from mcp.types import CallToolResult, TextContent

    return CallToolResult(
        content=[TextContent(type="text", text=output.summary())],
        structured_content=output.model_dump(mode="json"),
    )


def add_tool(
    mcp: MCPServer[Any],
    spec: ToolSpec,
    body: Callable[..., Awaitable[CallToolResult]],
    hidden: dict[str, Any],
) -> None:
    """Register `body(args, **hidden)` as an SDK tool with a flat input schema.

    `hidden` maps parameter names to `Annotated[T, Resolve(fn)]` annotations; the SDK fills them
    by running the resolvers and keeps them out of the input schema.
    """
    from mcp.types import CallToolResult

    model = spec.input_model
    params: list[inspect.Parameter] = []
    annotations: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation = cast(Any, Annotated)[info.annotation, info]
        default = inspect.Parameter.empty if info.is_required() else info.default
        params.append(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
            )
        )
        annotations[name] = annotation
    for name, annotation in hidden.items():
        params.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
        )
        annotations[name] = annotation
    returns = Annotated[CallToolResult, spec.output_model]
    annotations["return"] = returns

    async def tool(**kwargs: Any) -> CallToolResult:
        resolved = {name: kwargs.pop(name) for name in hidden}
        return await body(model.model_validate(kwargs), **resolved)

    tool.__signature__ = inspect.Signature(params, return_annotation=returns)  # type: ignore[attr-defined]
    tool.__annotations__ = annotations
    tool.__name__ = tool.__qualname__ = spec.name
    tool.__doc__ = spec.description
    SPECS[spec.name] = spec
    mcp.add_tool(
        tool,
        name=spec.name,
        title=spec.title,
        description=spec.description,
        annotations=spec.annotations,
        structured_output=True,
    )
    compact_schemas(mcp, spec.name)


def _check_optional_outputs(model: type[BaseModel], seen: set[type] | None = None) -> None:
    """`compact_output` publishes a None-default field as "absent or T": true only if the
    field is left out when None. Fail at registration, not in a client, when one is not."""
    seen = seen if seen is not None else set()
    if model in seen:
        return
    seen.add(model)
    for field_name, info in model.model_fields.items():
        if (
            not info.is_required()
            and info.default is None
            and info.exclude_if is not omitted_if_none
        ):
            raise TypeError(
                f"{model.__name__}.{field_name}: a None default needs optional() "
                "(left out when None), or make it required"
            )
        for arg in _types_in(info.annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                _check_optional_outputs(arg, seen)


def _types_in(annotation: Any) -> list[Any]:
    from typing import get_args

    found = [annotation]
    for arg in get_args(annotation):
        found += _types_in(arg)
    return found


def compact_schemas(mcp: MCPServer[Any], name: str) -> None:
    """Publish the tool's input schema in its compact form (`_schema`), and keep its compact
    output schema in `OUTPUT_SCHEMAS` without publishing it (`publish_output_schemas` does).

    Output schemas are not published by default: MCP makes them optional, models rarely use
    them, and they were 5 KB of the tool list that a model pays for on every turn - and the
    SDK client checks every structured result against a published one with jsonschema (about
    1 ms for a page of 20 accounts). Results still carry `structuredContent`, built from the
    same output models.

    The SDK derives both schemas at registration and reads them live afterwards
    (`FuncMetadata`: "the fields are read live, so reassigning them later takes effect"), so
    they are replaced once here, before anything lists the tool. Arguments are still validated
    by the input model; only the published JSON changes.
    """
    from connect_mcp.tools._schema import compact_input, compact_output

    _check_optional_outputs(SPECS[name].output_model)
    registered = _registered(mcp, name)
    if registered.fn_metadata.output_schema is None:
        raise RuntimeError(f"tool {name!r} was not registered with an output schema")
    registered.parameters = compact_input(registered.parameters)
    registered.annotations = compact_annotations(registered.annotations)
    OUTPUT_SCHEMAS[name] = compact_output(registered.fn_metadata.output_schema)
    _set_output_schema(registered, None)


def compact_annotations(annotations: ToolAnnotations | None) -> ToolAnnotations | None:
    """A read-only tool's annotations without `destructiveHint` and `idempotentHint`: MCP says
    both are "meaningful only when readOnlyHint == false", so on a read-only tool they are
    bytes every turn pays for and no client may read. Write tools keep every hint."""
    if annotations is None or annotations.read_only_hint is not True:
        return annotations
    return annotations.model_copy(update={"destructive_hint": None, "idempotent_hint": None})


def publish_output_schemas(mcp: MCPServer[Any]) -> None:
    """Opt-in: publish every registered tool's compact output schema in `tools/list`. The SDK
    then also checks each structured result against the output model before sending it."""
    for name in SPECS:
        registered = mcp._tool_manager.get_tool(name)
        if registered is not None:
            _set_output_schema(registered, OUTPUT_SCHEMAS[name])


def _registered(mcp: MCPServer[Any], name: str) -> Any:
    registered = mcp._tool_manager.get_tool(name)  # the SDK has no public getter
    if registered is None:
        raise RuntimeError(f"tool {name!r} is not registered")
    return registered


def _set_output_schema(registered: Any, schema: dict[str, Any] | None) -> None:
    # With no schema the SDK neither publishes one nor validates the result against the
    # output model (`FuncMetadata.convert_result`); the tool's own result stands as built.
    registered.fn_metadata.output_schema = schema
    registered.__dict__.pop("output_schema", None)  # Tool.output_schema is a cached_property
