"""The middleware every request passes: the one place where results leave the process.

For `tools/call` it (1) remembers secret arguments in the redactor before anything can echo
them, (2) refuses write tools to read-only principals, (3) rejects unknown or invalid arguments
with a clear message that never repeats their values, (4) scrubs the result - text, structured
content and any confirmation question - through the redactor, and (5) writes the audit event.
For `tools/list` it hides write tools from read-only principals.

`expired_confirmation` runs *outside* the SDK's request-state boundary: on 2026-07-28 a
confirmation answered after `confirm_timeout` arrives with expired sealed state, which the SDK
rejects as a protocol error; for a gated tool we answer with the same non-error "nothing was
deleted" result as any other unconfirmed delete.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, get_args

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, InputRequiredResult, TextContent
from mcp_types import methods as wire_methods
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, ValidationError

from connect_mcp.redact import REDACTOR
from connect_mcp.server import audit
from connect_mcp.server.scope import principal_for, read_only_message
from connect_mcp.server.state import ServerState
from connect_mcp.server.url_gate import ConfirmationPageRequired
from connect_mcp.tools._base import SPECS, GateDecision, GateOutcome, Principal, ToolSpec
from connect_mcp.tools.accounts import DeleteOutput

_USER_ARGS = frozenset({"external_user_id", "user", "user_id", "external_id"})
#: The gate outcomes that delete nothing (derived, so a new decision cannot be forgotten here),
#: plus "unsupported": a client that cannot be asked.
_NOT_PROCEEDING = frozenset(
    {d for d in get_args(GateDecision) if not GateOutcome(d).proceed} | {"unsupported"}
)


def wire(
    ctx: ServerRequestContext[Any, Any], result: CallToolResult | InputRequiredResult
) -> dict[str, Any]:
    """A `tools/call` result shaped for the negotiated revision, for a short-circuited call."""
    dumped = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    version = ctx.protocol_version
    with contextlib.suppress(KeyError, ValueError):
        dumped = wire_methods.serialize_server_result("tools/call", version, dumped)
    if version in MODERN_PROTOCOL_VERSIONS:
        dumped.setdefault("resultType", "complete")
    return dumped


def error_result(text: str) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=REDACTOR.scrub(text))], is_error=True
    )


def _pre_parse(model: type[BaseModel], args: dict[str, Any]) -> dict[str, Any]:
    """The SDK's leniency for clients that send JSON inside strings, applied identically."""
    out = dict(args)
    for key, value in args.items():
        info = model.model_fields.get(key)
        if info is None or not isinstance(value, str) or info.annotation is str:
            continue
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError):
            continue
        if not isinstance(parsed, str | int | float):
            out[key] = parsed
    return out


def argument_problem(spec: ToolSpec, args: Any) -> str | None:
    """A clear description of what is wrong with the arguments, or None. Never echoes values."""
    if not isinstance(args, dict):
        return f"Invalid arguments for {spec.name}: arguments must be a JSON object."
    try:
        spec.input_model.model_validate(_pre_parse(spec.input_model, args))
    except ValidationError as exc:
        problems: list[str] = []
        for err in exc.errors(include_input=False, include_url=False):
            where = ".".join(str(p) for p in err["loc"]) or "arguments"
            if err["type"] == "extra_forbidden":
                hint = (
                    " - no tool takes a user: this session acts only for its own user"
                    if where in _USER_ARGS
                    else ""
                )
                problems.append(f"unknown argument {where!r}{hint}")
            else:
                problems.append(f"{where}: {err['msg']}")
        return (
            f"Invalid arguments for {spec.name}: {'; '.join(problems)}. Nothing was done. "
            "See the tool's input schema."
        )
    return None


#: A secret the *model* supplies (a static bearer) must be at least this long to be learnt by
#: the process-wide redactor. The redactor never forgets and scrubs every output of every
#: session, so a short "secret" could be someone's account id or name - a model could then
#: blank out what a human is asked to confirm, in its own or another user's session.
MIN_MODEL_SECRET_LENGTH = 16


def remember_secrets(spec: ToolSpec, args: Any) -> None:
    """Learn the secrets a valid call declares (`spec.secret_args`) - only after the call has
    passed the permission and argument checks, and never for undeclared keys, so a refused
    call cannot teach the shared redactor arbitrary words."""
    if isinstance(args, dict):
        for key in spec.secret_args:
            value = args.get(key)
            if isinstance(value, str):  # the input model requires MIN_MODEL_SECRET_LENGTH
                REDACTOR.add(value)


def scrub_result(result: HandlerResult) -> HandlerResult:
    """Redact what a tool call sends back, leaving the sealed request state untouched."""
    if not isinstance(result, dict):
        return result
    out = dict(result)
    if "content" in out:
        out["content"] = REDACTOR.scrub_obj(out["content"])
    if "structuredContent" in out:
        out["structuredContent"] = REDACTOR.scrub_obj(out["structuredContent"])
    requests = out.get("inputRequests")
    if isinstance(requests, dict):
        scrubbed: dict[str, Any] = {}
        for key, request in requests.items():
            params = request.get("params") if isinstance(request, dict) else None
            if isinstance(params, dict) and isinstance(params.get("message"), str):
                request = {
                    **request,
                    "params": {**params, "message": REDACTOR.scrub(params["message"])},
                }
            scrubbed[key] = request
        out["inputRequests"] = scrubbed
    return out


def _state(ctx: ServerRequestContext[Any, Any]) -> ServerState | None:
    state = ctx.lifespan_context
    return state if isinstance(state, ServerState) else None


def _principal(ctx: ServerRequestContext[Any, Any]) -> Principal | None:
    state = _state(ctx)
    return principal_for(state) if state is not None else None


def _tool_of(ctx: ServerRequestContext[Any, Any]) -> tuple[ToolSpec | None, Any]:
    params = ctx.params or {}
    name = params.get("name")
    spec = SPECS.get(name) if isinstance(name, str) else None
    return spec, params.get("arguments") or {}


class Guard:
    """`ServerMiddleware`: permission filter, argument check, redaction and audit."""

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        if ctx.method == "tools/list":
            return self._filter(ctx, await call_next(ctx))
        if ctx.method == "tools/call":
            return await self._call(ctx, call_next)
        return await call_next(ctx)

    def _filter(self, ctx: ServerRequestContext[Any, Any], result: HandlerResult) -> HandlerResult:
        principal = _principal(ctx)
        if principal is not None and principal.can_write:
            return result
        if isinstance(result, dict) and isinstance(result.get("tools"), list):
            tools = [
                t
                for t in result["tools"]
                if not (
                    isinstance(t, dict) and (spec := SPECS.get(str(t.get("name")))) and spec.write
                )
            ]
            return {**result, "tools": tools}
        return result

    async def _call(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        spec, args = _tool_of(ctx)
        if spec is None:
            return await call_next(ctx)  # unknown tool: the SDK's own answer
        principal = _principal(ctx)
        record = audit.AuditRecord(
            tool=spec.name,
            principal=principal.user if principal else None,
            perm=principal.perm if principal else None,
            protocol_version=ctx.protocol_version,
        )
        token = audit.begin(record)
        try:
            if spec.write and (principal is None or not principal.can_write):
                record.outcome = "refused"
                return wire(ctx, error_result(read_only_message(spec.name)))
            problem = argument_problem(spec, args)
            if problem is not None:
                record.outcome = "bad_arguments"
                return wire(ctx, error_result(problem))
            remember_secrets(spec, args)
            try:
                result = scrub_result(await call_next(ctx))
            except ConfirmationPageRequired as needed:
                # Inside the SDK's request-state boundary: it seals our state on the way out.
                record.outcome = "input_required"
                return scrub_result(wire(ctx, needed.result()))
            except MCPError:
                record.outcome = "protocol_error"
                raise
            except BaseException:
                record.outcome = "crash"
                raise
            record.outcome = _classify(result, record)
            return result
        finally:
            audit.end(token)
            record.emit()


def _classify(result: HandlerResult, record: audit.AuditRecord) -> str:
    if isinstance(result, dict):
        if result.get("resultType") == "input_required" or "inputRequests" in result:
            return "input_required"
        if result.get("isError"):
            return "error"
    if record.gate in _NOT_PROCEEDING:
        return "not_confirmed"
    return "ok"


def _invalid_state(exc: MCPError) -> bool:
    data = getattr(getattr(exc, "error", None), "data", None)
    return isinstance(data, dict) and data.get("reason") == "invalid_request_state"


async def expired_confirmation(
    ctx: ServerRequestContext[Any, Any], call_next: CallNext
) -> HandlerResult:
    """Outermost middleware: a gated call whose sealed confirmation state expired (or was
    tampered with) deletes nothing and says so, as a normal result."""
    try:
        return await call_next(ctx)
    except MCPError as exc:
        spec, _ = _tool_of(ctx)
        if ctx.method != "tools/call" or spec is None or not spec.gated or not _invalid_state(exc):
            raise
        state = _state(ctx)
        timeout = state.config.answer_window if state is not None else 0.0
        principal = _principal(ctx)
        audit.AuditRecord(
            tool=spec.name,
            principal=principal.user if principal else None,
            perm=principal.perm if principal else None,
            protocol_version=ctx.protocol_version,
            outcome="not_confirmed",
            gate="timeout",
            reason="confirmation state expired or invalid",
        ).emit()
        output = DeleteOutput(
            deleted=False,
            confirmation="timeout",
            deleted_ids=[],
            not_deleted_ids=[],
            message=(
                f"Nothing was deleted: the confirmation was not answered within "
                f"{timeout:g} s (or its state was not valid). Call the tool again to ask "
                "again."
            ),
        )
        return wire(
            ctx,
            CallToolResult(
                content=[TextContent(type="text", text=output.summary())],
                structured_content=output.model_dump(mode="json"),
            ),
        )
