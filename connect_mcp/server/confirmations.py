"""One-time, server-side confirmations for the out-of-band gate (`CONNECT_MCP_CONFIRM=url`).

A form elicitation is answered by the MCP client, so a headless agent or a careless client can
say "yes" without a person ever seeing the question. Under the `url` policy the yes comes from a
page this server serves instead, and the only thing that travels through the client is the page's
address. A `Confirmation` is the server's record of one such question:

* its id is 192 random bits and is the whole capability - it is never derived from anything a
  client or model can see or choose;
* it is bound to the principal and session that asked, to the tool, and to the exact targets;
  the gate refuses to use it for anything else;
* its life is one-way: pending -> confirmed | cancelled | expired, and confirmed -> executed
  exactly once. Nothing moves it back, so a replayed or second use finds it spent.

Every transition is an audit event. The store is per process and lives on the server's event
loop: the page handlers and the waiting gate share it without locks (one loop, no awaits inside
a transition). A deployment with several worker processes needs a shared store; this one says so
in the README rather than pretending.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import anyio

from connect_mcp.log import get_logger
from connect_mcp.tools._base import DeleteTarget

_log = get_logger("connect_mcp.confirm")

State = Literal["pending", "confirmed", "cancelled", "expired", "executed"]

#: Page tokens (anti-forgery values) kept per confirmation: one per page view, the newest win.
MAX_PAGE_TOKENS = 8


@dataclass(frozen=True)
class Binding:
    """Who may use a confirmation: the principal and the session (or credential) that asked.

    `session` is the MCP session id on the handshake revisions, a digest of the bearer token on
    2026-07-28 (which has no session), or the process's own stdio session.
    """

    user: str
    perm: str
    session: str


@dataclass
class Confirmation:
    id: str
    tool: str
    user: str
    headline: str
    targets: tuple[DeleteTarget, ...]
    binding: Binding
    created: float
    expires: float
    state: State = "pending"
    reason: str = ""
    page_tokens: list[str] = field(default_factory=list)
    decided: anyio.Event = field(default_factory=anyio.Event)

    @property
    def target_ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.targets)

    def remaining(self, now: float | None = None) -> float:
        return max(0.0, self.expires - (now if now is not None else time.time()))


Check = Literal["ok", "unknown", "other_session", "other_tool", "spent", "expired", "cancelled"]


class ConfirmationStore:
    """Pending and recently finished confirmations, bounded in number and in time."""

    def __init__(
        self,
        *,
        expiry: float = 600.0,
        max_pending_per_user: int = 20,
        max_total: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.expiry = expiry
        self._max_per_user = max_pending_per_user
        self._max_total = max_total
        self._clock = clock
        self._items: OrderedDict[str, Confirmation] = OrderedDict()

    # --- life --------------------------------------------------------------------------

    def create(
        self,
        *,
        tool: str,
        user: str,
        headline: str,
        targets: tuple[DeleteTarget, ...],
        binding: Binding,
    ) -> Confirmation:
        """A new pending confirmation. Older pending ones of the same user beyond the limit
        are cancelled (a model looping on a delete cannot grow the store without bound)."""
        now = self._clock()
        self._sweep(now)
        pending = [c for c in self._items.values() if c.user == user and c.state == "pending"]
        for old in pending[: max(0, len(pending) - self._max_per_user + 1)]:
            self._finish(old, "cancelled", "superseded by newer confirmations")
        while len(self._items) >= self._max_total:
            _, oldest = self._items.popitem(last=False)
            if oldest.state == "pending":
                self._finish(oldest, "cancelled", "the server had too many open confirmations")
        confirmation = Confirmation(
            id=secrets.token_urlsafe(24),
            tool=tool,
            user=user,
            headline=headline,
            targets=targets,
            binding=binding,
            created=now,
            expires=now + self.expiry,
        )
        self._items[confirmation.id] = confirmation
        self._event("created", confirmation)
        return confirmation

    def get(self, confirmation_id: str) -> Confirmation | None:
        """The confirmation with this id (expiring it first if its time is up), or None."""
        confirmation = self._items.get(confirmation_id)
        if confirmation is not None:
            self._expire_if_due(confirmation, self._clock())
        return confirmation

    def shown(self, confirmation: Confirmation) -> str:
        """Record a page view; returns the page's anti-forgery value for its Confirm form."""
        token = secrets.token_urlsafe(24)
        confirmation.page_tokens = [*confirmation.page_tokens, token][-MAX_PAGE_TOKENS:]
        self._event("shown", confirmation)
        return token

    def decide(
        self, confirmation: Confirmation, page_token: str, decision: Literal["confirm", "cancel"]
    ) -> bool:
        """The human's answer from the page. Only a pending confirmation, and only with a value
        one of its pages handed out, changes anything."""
        self._expire_if_due(confirmation, self._clock())
        if confirmation.state != "pending":
            return False
        if not any(hmac.compare_digest(page_token, t) for t in confirmation.page_tokens):
            _log.warning("confirmation_forged_post", confirmation=confirmation.id[:8])
            return False
        if decision == "confirm":
            self._finish(confirmation, "confirmed", "confirmed on the page")
        else:
            self._finish(confirmation, "cancelled", "cancelled on the page")
        return True

    def cancel(self, confirmation: Confirmation, reason: str) -> None:
        if confirmation.state == "pending":
            self._finish(confirmation, "cancelled", reason)

    def void(self, confirmation: Confirmation, reason: str) -> None:
        """Withdraw a confirmation the person did confirm but that can no longer be used as
        confirmed (its targets changed): it is spent without deleting anything."""
        if confirmation.state in ("pending", "confirmed"):
            self._finish(confirmation, "cancelled", reason)

    def check(self, confirmation_id: str, binding: Binding, tool: str) -> Check:
        """May this caller use this confirmation for this tool? Says why not, never guesses."""
        confirmation = self.get(confirmation_id)
        if confirmation is None:
            return "unknown"
        if confirmation.binding != binding:
            return "other_session"
        if confirmation.tool != tool:
            return "other_tool"
        if confirmation.state == "executed":
            return "spent"
        if confirmation.state == "expired":
            return "expired"
        if confirmation.state == "cancelled":
            return "cancelled"
        return "ok"

    def execute(self, confirmation: Confirmation, target_ids: tuple[str, ...]) -> bool:
        """Spend a confirmed confirmation on exactly its targets. True once, then never again."""
        self._expire_if_due(confirmation, self._clock())
        if confirmation.state != "confirmed" or target_ids != confirmation.target_ids:
            return False
        confirmation.state = "executed"
        confirmation.reason = "deleting the confirmed targets"
        self._event("executed", confirmation)
        return True

    async def wait(self, confirmation: Confirmation, *, at_most: float) -> None:
        """Until the human decides or the confirmation expires, at most `at_most` seconds."""
        limit = min(at_most, confirmation.remaining(self._clock()))
        with anyio.move_on_after(limit):
            await confirmation.decided.wait()
        self._expire_if_due(confirmation, self._clock())

    # --- internals ---------------------------------------------------------------------

    def _expire_if_due(self, confirmation: Confirmation, now: float) -> None:
        if confirmation.state == "pending" and now >= confirmation.expires:
            self._finish(confirmation, "expired", f"not confirmed within {self.expiry:g} s")

    def _finish(self, confirmation: Confirmation, state: State, reason: str) -> None:
        confirmation.state = state
        confirmation.reason = reason
        confirmation.decided.set()
        self._event(state, confirmation)

    def _sweep(self, now: float) -> None:
        """Forget finished confirmations an expiry after they ended (an old link then says
        "unknown"); expire pending ones whose time is up."""
        for confirmation in list(self._items.values()):
            self._expire_if_due(confirmation, now)
            if confirmation.state != "pending" and now >= confirmation.expires + self.expiry:
                del self._items[confirmation.id]

    def _event(self, what: str, confirmation: Confirmation) -> None:
        # Only a prefix of the id: the log must not hold a usable capability.
        _log.info(
            "confirmation",
            what=what,
            confirmation=confirmation.id[:8],
            tool=confirmation.tool,
            principal=confirmation.user,
            targets=list(confirmation.target_ids),
            reason=confirmation.reason or None,
        )

    def __len__(self) -> int:
        return len(self._items)
