"""Confirmation gates: a human says yes before anything is deleted.

A gate is built from the tool's plan loader (a resolver that loads exactly what will be
deleted) and is itself a resolver, so the SDK runs it before the tool body and the model has no
argument with which to skip it. Only an explicit accept with `confirm: true` proceeds; decline,
cancel, accept with "no", an error or no answer in time all yield a non-proceeding outcome, and
the tool returns a non-error "nothing was deleted".

Both protocol eras, through the SDK's resolver machinery:

* **2026-07-28** (no server-to-client requests): the `ask` resolver returns `Elicit(...)`; the
  SDK answers the call with an input-required result carrying the question and sealed request
  state, and resumes when the client retries with the answer. The plan is reloaded on the retry;
  if the targets changed, the question renders differently and the SDK asks again - the human
  always confirms exactly what is deleted. The time limit is the sealed state's TTL (set to
  `confirm_timeout` in `app.py`); a late answer is turned into a "timeout" result there.
* **handshake revisions** (server-pushed `elicitation/create`): `ask` sends the question itself
  with `ctx.elicit()` under a deadline, because the SDK's own push path has no time limit, and
  maps every failure to a closed gate.

A client without form elicitation gets a `ToolError` telling the human what to do, instead of
the SDK's -32021 protocol error that a model cannot read.

No `from __future__ import annotations`: the SDK evaluates these closures' annotations, which
name the local `loader`.
"""

from collections.abc import Callable
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import (
    AcceptedElicitation,
    CancelledElicitation,
    Context,
    DeclinedElicitation,
    Elicit,
    ElicitationResult,
    Resolve,
)
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ClientCapabilities
from pydantic import BaseModel, Field, StrictBool

from connect_mcp.log import get_logger
from connect_mcp.redact import REDACTOR
from connect_mcp.server import audit
from connect_mcp.server.eras import CONFIRM_KEY, uses_input_required
from connect_mcp.server.scope import session_writer
from connect_mcp.server.state import ServerState
from connect_mcp.server.url_gate import confirm_out_of_band
from connect_mcp.tools._base import DeletePlan, GateOutcome, Principal

_log = get_logger("connect_mcp.gate")

NO_ELICITATION = (
    "Nothing was deleted: deleting needs a human's confirmation, and this MCP client cannot ask "
    "for one (it does not support MCP elicitation forms). Use an MCP client that supports "
    "elicitation, or - for trusted automation only - ask the operator to set "
    "CONNECT_MCP_CONFIRM=never."
)


class Confirm(BaseModel):
    """The form the human answers. One boolean; a form must never collect secrets."""

    # Strict: only a JSON `true` is a yes; "yes", "true" or 1 from a sloppy client is not.
    confirm: StrictBool = Field(
        title="Delete?", description="Yes deletes exactly the items listed."
    )


def supports_form_elicitation(caps: ClientCapabilities | None) -> bool:
    """As the SDK reads it: a bare `elicitation: {}` means form support; url-only does not."""
    elicitation = caps.elicitation if caps is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def from_answer(answer: Any) -> GateOutcome:
    """Map an elicitation outcome (or a pushed round's own verdict) to a gate outcome."""
    if isinstance(answer, AcceptedElicitation):
        data = answer.data
        if isinstance(data, GateOutcome):
            return data
        if isinstance(data, Confirm):
            return GateOutcome("confirmed") if data.confirm else GateOutcome("rejected")
        return GateOutcome("error", "unexpected answer")
    if isinstance(answer, DeclinedElicitation):
        return GateOutcome("declined")
    if isinstance(answer, CancelledElicitation):
        return GateOutcome("cancelled")
    return GateOutcome("error", "unexpected answer")


async def push_confirmation(
    ctx: Context[Any, Any], message: str, limit_seconds: float
) -> GateOutcome:
    """Handshake era: send `elicitation/create` and wait at most `limit_seconds`."""
    with anyio.move_on_after(limit_seconds) as scope:
        try:
            answer = await ctx.elicit(message, Confirm)
        except Exception as exc:  # any failure closes the gate; the reason goes to the log
            _log.warning("confirmation_failed", error_type=type(exc).__name__)
            return GateOutcome("error", "the client could not ask the user")
    if scope.cancelled_caught:
        return GateOutcome("timeout", f"no answer within {limit_seconds:g} s")
    return from_answer(answer)


def make_gate(loader: Callable[..., Any]) -> Callable[..., Any]:
    """A resolver yielding the `GateOutcome` for the plan `loader` produces."""

    async def ask(
        ctx: Context[Any, Any],
        plan: Annotated[DeletePlan, Resolve(loader)],
        principal: Annotated[Principal, Resolve(session_writer)],
    ) -> Elicit[Confirm] | GateOutcome:
        state = ctx.request_context.lifespan_context
        assert isinstance(state, ServerState)
        audit.note_gate("pending", [t.id for t in plan.targets])
        if plan.empty:
            return GateOutcome("nothing_to_delete")
        if state.config.confirm == "never":
            _log.warning(
                "confirmation_skipped_by_policy",
                tool=plan.tool,
                targets=[t.id for t in plan.targets],
            )
            return GateOutcome("policy_never", "CONNECT_MCP_CONFIRM=never")
        if state.config.confirm == "url":
            return await confirm_out_of_band(ctx, plan, state, principal)
        if not supports_form_elicitation(ctx.client_capabilities):
            audit.note_gate("unsupported")
            raise ToolError(NO_ELICITATION)
        message = REDACTOR.scrub(plan.message())
        if uses_input_required(ctx.protocol_version):
            audit.note_gate("asked")
            return Elicit(message, Confirm)
        return await push_confirmation(ctx, message, state.config.confirm_timeout)

    # The SDK keys a resolver's question on the wire (`inputRequests`, sealed request state)
    # by `module:qualname`, which for this closure would be a Python internal name
    # (`connect_mcp.server.gate:make_gate.<locals>.ask`). Each tool has exactly one gate, so
    # a fixed short name is unique per call and stable across rounds and workers.
    ask.__module__, ask.__qualname__ = CONFIRM_KEY.split(":")

    async def gate(answer: Annotated[ElicitationResult[Any], Resolve(ask)]) -> GateOutcome:
        outcome = from_answer(answer)
        audit.note_gate(outcome.decision)
        return outcome

    return gate
