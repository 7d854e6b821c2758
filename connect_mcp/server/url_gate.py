"""The out-of-band gate (`CONNECT_MCP_CONFIRM=url`): a person confirms on our own page.

The MCP client only ever carries the page's address, through URL-mode elicitation - never an
answer the server believes. What the client says back means "the person was offered the page";
the decision itself arrives on the page, as a POST with that page's anti-forgery value, in the
same process (`confirmations.ConfirmationStore`). So a client that answers every question
"accept, yes" - or a model that talks it into doing so - deletes nothing.

The limit, stated plainly: the gate trusts the client to put the address in front of a person.
A client built to fetch the page and submit its form itself is a person as far as any server
can tell (it could also fake every browser header); what the page guarantees is that nobody
*else* - the model, another site, another session - can answer for the person.

Both protocol eras:

* **handshake revisions**: `elicitation/create` (mode "url") is pushed mid-call; if the client
  accepts, the call waits - bounded by the confirmation's expiry, with progress notifications -
  for the decision, then sends `notifications/elicitation/complete`.
* **2026-07-28** (no server-to-client requests): round one answers with an input-required result
  whose only request is the URL elicitation and whose sealed request state names the
  confirmation (raised as `ConfirmationPageRequired`, turned into that result by the guard
  middleware, sealed by the SDK's request-state boundary). The client's retry carries the
  client's answer; the call then waits exactly as above.

Before anything is deleted the gate checks that the confirmation belongs to this principal and
session, to this tool, that it was confirmed and not yet used, and that the targets loaded now
are exactly the targets the person saw. Any difference deletes nothing and says why.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import anyio
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import UrlElicitationRequiredError
from mcp.types import ClientCapabilities, ElicitRequestURLParams, ElicitResult
from mcp_types import ElicitRequest, InputRequiredResult

from connect_mcp.log import get_logger
from connect_mcp.redact import REDACTOR
from connect_mcp.server import audit
from connect_mcp.server.confirmations import (
    Binding,
    Check,
    Confirmation,
    ConfirmationStore,
    StoreFull,
)
from connect_mcp.server.eras import CONFIRM_KEY, uses_input_required
from connect_mcp.server.state import ServerState
from connect_mcp.tools._base import DeletePlan, GateDecision, GateOutcome, Principal

_log = get_logger("connect_mcp.gate")

#: What our sealed request state holds: only the confirmation's id.
_STATE_FIELD = "confirmation"

NO_URL_ELICITATION = (
    "Nothing was deleted: this server requires a person to confirm every delete on a "
    "confirmation page (CONNECT_MCP_CONFIRM=url), and this MCP client cannot open one (it does "
    "not support URL-mode elicitation). Use an MCP client that supports URL elicitation, or ask "
    "the operator to switch to CONNECT_MCP_CONFIRM=elicit (the person confirms inside the MCP "
    "client)."
)

_REFUSED: dict[Check, tuple[GateDecision, str]] = {
    "unknown": ("invalid", "this confirmation is unknown or too old"),
    "other_session": ("invalid", "this confirmation was created in another session"),
    "other_tool": ("invalid", "this confirmation was made for another tool"),
    "spent": ("invalid", "this confirmation was already used"),
    "expired": ("expired", "the confirmation page expired before anyone confirmed"),
    "cancelled": ("cancelled", "the confirmation was cancelled"),
}


class ConfirmationPageRequired(UrlElicitationRequiredError):
    """2026-07-28, round one: the call must be answered with an input-required result.

    A subclass of the SDK's URL-elicitation-required error, so that if it ever escaped the
    guard middleware the client would still receive a well-formed -32042 naming the page.
    """

    def __init__(self, params: ElicitRequestURLParams, confirmation_id: str) -> None:
        super().__init__([params], "A person must confirm this on the confirmation page")
        self.params = params
        self.state = json.dumps({_STATE_FIELD: confirmation_id})

    def result(self) -> InputRequiredResult:
        params = self.params.model_copy(update={"elicitation_id": None})  # not on 2026-07-28
        return InputRequiredResult(
            input_requests={CONFIRM_KEY: ElicitRequest(params=params)}, request_state=self.state
        )


def supports_url_elicitation(caps: ClientCapabilities | None) -> bool:
    elicitation = caps.elicitation if caps is not None else None
    return elicitation is not None and elicitation.url is not None


def binding_of(ctx: Context[Any, Any], principal: Principal, *, modern: bool) -> Binding:
    """Who may use the confirmation this call creates.

    The session part is the MCP session on the handshake revisions (the `Mcp-Session-Id` over
    HTTP, else this connection), plus the bearer token's digest when there is one; 2026-07-28
    has no session, so the token alone ties a retry to the caller that asked. A stdio process
    serves exactly one client.
    """
    parts: list[str] = []
    token = get_access_token()
    if token is not None:
        parts.append("tok:" + hashlib.sha256(token.token.encode()).hexdigest()[:32])
    if not modern:
        request = ctx.request_context.request
        headers = getattr(request, "headers", None)
        session_id = headers.get("mcp-session-id") if headers is not None else None
        if session_id is None:
            # In-process transports have no header; the SDK keeps one connection object per
            # client session (it has no public accessor).
            connection = getattr(ctx.request_context.session, "_connection", None)
            session_id = f"conn{id(connection)}"
        parts.append(f"sid:{session_id}")
    return Binding(user=principal.user, perm=principal.perm, session="|".join(parts) or "local")


def page_url(state: ServerState, confirmation: Confirmation) -> str:
    base = state.confirm_page_url
    if base is None:  # build_server always sets one under the url policy
        raise ToolError("Nothing was deleted: the confirmation page is not being served.")
    return f"{base.rstrip('/')}/confirm/{confirmation.id}"


def _message(plan: DeletePlan) -> str:
    count = len(plan.targets)
    what = "item" if count == 1 else "items"
    return REDACTOR.scrub(
        f"{plan.headline} Open the confirmation page to review the {count} {what} and confirm "
        "or cancel. Nothing is deleted unless you confirm there."
    )


def _refusal(check: Check) -> GateOutcome:
    decision, detail = _REFUSED[check]
    return GateOutcome(decision, detail)


def _state_confirmation(request_state: str | None) -> str | None:
    if not request_state:
        return None
    try:
        value = json.loads(request_state).get(_STATE_FIELD)
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


async def confirm_out_of_band(
    ctx: Context[Any, Any], plan: DeletePlan, state: ServerState, principal: Principal
) -> GateOutcome:
    """The gate's verdict under the `url` policy (the caller has already handled empty plans)."""
    store = state.confirmations
    if store is None:
        raise ToolError("Nothing was deleted: the confirmation store is not running.")
    if not supports_url_elicitation(ctx.client_capabilities):
        audit.note_gate("unsupported")
        raise ToolError(NO_URL_ELICITATION)
    modern = uses_input_required(ctx.protocol_version)
    binding = binding_of(ctx, principal, modern=modern)
    if modern:
        return await _input_required_round(ctx, plan, state, store, binding)
    return await _pushed(ctx, plan, state, store, binding)


def _create(store: ConfirmationStore, plan: DeletePlan, binding: Binding) -> Confirmation:
    try:
        return store.create(
            tool=plan.tool,
            user=plan.user,
            headline=plan.headline,
            targets=plan.targets,
            binding=binding,
        )
    except StoreFull:
        raise ToolError(
            "Nothing was deleted: the server has too many open confirmation pages right now. "
            "Try again in a few minutes."
        ) from None


def _params(
    plan: DeletePlan, state: ServerState, confirmation: Confirmation
) -> ElicitRequestURLParams:
    return ElicitRequestURLParams(
        message=_message(plan),
        url=page_url(state, confirmation),
        elicitation_id=confirmation.elicitation_id,
    )


def _declined(action: str) -> GateOutcome:
    """The client did not take the person to the page (its answer to the URL elicitation)."""
    return GateOutcome(
        "declined" if action == "decline" else "cancelled", "the page was not opened"
    )


async def _input_required_round(
    ctx: Context[Any, Any],
    plan: DeletePlan,
    state: ServerState,
    store: ConfirmationStore,
    binding: Binding,
) -> GateOutcome:
    confirmation_id = _state_confirmation(ctx.request_state)
    if confirmation_id is None:
        created = _create(store, plan, binding)
        audit.note_gate("asked")
        raise ConfirmationPageRequired(_params(plan, state, created), created.id)
    check = store.check(confirmation_id, binding, plan.tool)
    confirmation = store.get(confirmation_id)
    if check == "cancelled" and confirmation is not None:  # e.g. Cancel pressed before the retry
        return GateOutcome("cancelled", confirmation.reason)
    if check != "ok" or confirmation is None:
        # Not this caller's (or no longer usable): refuse without touching it.
        _log.warning("confirmation_refused", reason=check, tool=plan.tool)
        return _refusal(check)
    answer = (ctx.input_responses or {}).get(CONFIRM_KEY)
    action = answer.action if isinstance(answer, ElicitResult) else "cancel"
    return await _settle(ctx, plan, state, store, confirmation, action)


async def _pushed(
    ctx: Context[Any, Any],
    plan: DeletePlan,
    state: ServerState,
    store: ConfirmationStore,
    binding: Binding,
) -> GateOutcome:
    confirmation = _create(store, plan, binding)
    audit.note_gate("asked")
    try:
        answer = None
        try:
            with anyio.move_on_after(store.remaining(confirmation)):
                answer = await ctx.elicit_url(
                    _message(plan), page_url(state, confirmation), confirmation.elicitation_id
                )
        except Exception as exc:  # any failure closes the gate; the reason goes to the log
            _log.warning("confirmation_failed", error_type=type(exc).__name__)
            store.void(confirmation, "the client could not offer the page")
            return GateOutcome("error", "the client could not offer the confirmation page")
        if answer is None:  # the client never answered the elicitation
            store.refresh(confirmation)
            return _refusal("expired")
        return await _settle(ctx, plan, state, store, confirmation, answer.action)
    finally:
        store.void(confirmation, "the request ended before the delete")
        with anyio.move_on_after(1, shield=True):
            await _complete(ctx, confirmation)


async def _settle(
    ctx: Context[Any, Any],
    plan: DeletePlan,
    state: ServerState,
    store: ConfirmationStore,
    confirmation: Confirmation,
    action: str,
) -> GateOutcome:
    """From the client's answer to the verdict. Whatever happens, a confirmation this call does
    not carry out ends here: it can never be confirmed, or used, later (`void`)."""
    try:
        if action != "accept":
            outcome = _declined(action)
        else:
            outcome = await _decision(ctx, plan, state, store, confirmation)
    finally:
        if confirmation.state != "executed":
            store.void(confirmation, "the delete was not carried out")
    return outcome


async def _complete(ctx: Context[Any, Any], confirmation: Confirmation) -> None:
    """Tell a handshake-era client the out-of-band step is over (best effort)."""
    try:
        await ctx.request_context.session.send_elicit_complete(
            confirmation.elicitation_id, related_request_id=ctx.request_id
        )
    except Exception as exc:
        _log.info("elicitation_complete_not_sent", error_type=type(exc).__name__)


async def _decision(
    ctx: Context[Any, Any],
    plan: DeletePlan,
    state: ServerState,
    store: ConfirmationStore,
    confirmation: Confirmation,
) -> GateOutcome:
    """Wait for the person, then check that what they confirmed is still exactly the plan."""
    await wait_for_person(ctx, store, confirmation, state.config.confirm_progress_interval)
    if confirmation.state == "expired":
        return _refusal("expired")
    if confirmation.state != "confirmed":
        return GateOutcome("cancelled", confirmation.reason or "cancelled on the page")
    fresh = await plan.reload() if plan.reload is not None else plan
    if {fresh.target_ids, plan.target_ids} != {confirmation.target_ids}:
        store.void(confirmation, "the targets changed after the page was shown")
        return GateOutcome(
            "changed",
            "what would be deleted changed since the page was shown; call the tool again",
        )
    if not store.execute(confirmation, plan.target_ids):
        return _refusal("spent")
    return GateOutcome("confirmed", "confirmed on the confirmation page")


async def wait_for_person(
    ctx: Context[Any, Any], store: ConfirmationStore, confirmation: Confirmation, interval: float
) -> None:
    """Wait (bounded by the expiry) for the page's decision, sending progress as it goes.

    Several calls may wait on one confirmation (2026-07-28 retries of the same state); the
    first to see it confirmed spends it, the others find it spent.
    """
    started = time.monotonic()
    total = round(store.remaining(confirmation), 1)
    while confirmation.state == "pending":
        elapsed = round(time.monotonic() - started, 1)
        await ctx.report_progress(
            elapsed, total, "Waiting for a person to confirm on the confirmation page"
        )
        await store.wait(confirmation, at_most=interval)
