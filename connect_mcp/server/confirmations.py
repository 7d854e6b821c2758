"""One-time, server-side confirmations for the out-of-band gate (`CONNECT_MCP_CONFIRM=url`).

A form elicitation is answered by the MCP client, so a headless agent or a careless client can
say "yes" without a person ever seeing the question. Under the `url` policy the yes comes from a
page this server serves instead, and the only thing that travels through the client is the page's
address. A `Confirmation` is the server's record of one such question:

* its id is 192 random bits and is the whole capability - it is never derived from anything a
  client or model can see or choose, and it is not reused as the elicitation id (clients log
  and surface those);
* it is bound to the principal and session that asked, to the tool, and to the exact targets;
  the gate refuses to use it for anything else;
* its life is one-way: pending -> confirmed | cancelled | expired, and confirmed -> executed
  exactly once (or cancelled, when the call ends without deleting). Nothing moves it back, so a
  replayed or second use finds it spent.

Bounds: a user has at most `max_pending_per_user` open confirmations (a new one supersedes that
user's oldest); finished ones are kept for `retention` seconds so a late page view can say what
happened; when the store is full, finished records go first and a *new* confirmation is refused -
nobody's open confirmation is ever evicted by someone else's. Every operation is O(1) amortised:
expiry and forgetting walk queues from their old end.

Every transition is an audit event. The store is per process and lives on the server's event
loop: the page handlers and the waiting gate share it without locks (one loop, no awaits inside
a transition). A deployment with several worker processes needs a shared store.
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
Check = Literal["ok", "unknown", "other_session", "other_tool", "spent", "expired", "cancelled"]

#: Page tokens (anti-forgery values) kept per confirmation: one per page view, the newest win.
MAX_PAGE_TOKENS = 8


class StoreFull(Exception):
    """Too many open confirmations in this process: the new one is refused, none is evicted."""


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
    elicitation_id: str
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
        """Order-free: the same accounts listed in another order are the same targets."""
        return tuple(sorted(t.id for t in self.targets))


class ConfirmationStore:
    """Open and recently finished confirmations, bounded in number and in time."""

    def __init__(
        self,
        *,
        expiry: float = 600.0,
        retention: float | None = None,
        max_pending_per_user: int = 20,
        max_total: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.expiry = expiry
        self.retention = expiry if retention is None else retention
        self._max_per_user = max_pending_per_user
        self._max_total = max_total
        self._clock = clock
        self._items: dict[str, Confirmation] = {}
        self._pending: OrderedDict[str, None] = OrderedDict()  # creation order = expiry order
        self._by_user: dict[str, OrderedDict[str, None]] = {}
        self._finished: OrderedDict[str, float] = OrderedDict()  # finish order, with the time

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
        """A new pending confirmation, or `StoreFull`."""
        now = self._clock()
        self._sweep(now)
        mine = self._by_user.get(user)
        while mine and len(mine) >= self._max_per_user:
            oldest = self._items[next(iter(mine))]
            self._finish(oldest, "cancelled", "superseded by newer confirmations", now)
        while len(self._items) >= self._max_total and self._finished:
            self._forget(next(iter(self._finished)))
        if len(self._items) >= self._max_total:
            _log.warning("confirmation_store_full", principal=user, size=len(self._items))
            raise StoreFull
        confirmation = Confirmation(
            id=secrets.token_urlsafe(24),
            elicitation_id=secrets.token_urlsafe(12),
            tool=tool,
            user=user,
            headline=headline,
            targets=targets,
            binding=binding,
            created=now,
            expires=now + self.expiry,
        )
        self._items[confirmation.id] = confirmation
        self._pending[confirmation.id] = None
        self._by_user.setdefault(user, OrderedDict())[confirmation.id] = None
        self._event("created", confirmation)
        return confirmation

    def get(self, confirmation_id: str) -> Confirmation | None:
        """The confirmation with this id (its expiry applied), or None."""
        confirmation = self._items.get(confirmation_id)
        if confirmation is not None:
            self.refresh(confirmation)
        return confirmation

    def refresh(self, confirmation: Confirmation) -> None:
        """Apply the clock: a pending confirmation whose time is up becomes expired."""
        now = self._clock()
        if confirmation.state == "pending" and now >= confirmation.expires:
            self._finish(confirmation, "expired", f"not confirmed within {self.expiry:g} s", now)

    def remaining(self, confirmation: Confirmation) -> float:
        return max(0.0, confirmation.expires - self._clock())

    def shown(self, confirmation: Confirmation) -> str:
        """Record a page view; returns the page's anti-forgery value for its Confirm form."""
        token = secrets.token_urlsafe(24)
        confirmation.page_tokens = [*confirmation.page_tokens, token][-MAX_PAGE_TOKENS:]
        self._event("shown", confirmation)
        return token

    def decide(
        self, confirmation: Confirmation, page_token: str, decision: Literal["confirm", "cancel"]
    ) -> bool:
        """The person's answer from the page. Only a pending confirmation, and only with a value
        one of its pages handed out, changes anything."""
        self.refresh(confirmation)
        if confirmation.state != "pending":
            return False
        if not any(hmac.compare_digest(page_token, t) for t in confirmation.page_tokens):
            _log.warning("confirmation_forged_post", confirmation=confirmation.id[:8])
            return False
        if decision == "confirm":
            self._finish(confirmation, "confirmed", "confirmed on the page", self._clock())
        else:
            self._finish(confirmation, "cancelled", "cancelled on the page", self._clock())
        return True

    def void(self, confirmation: Confirmation, reason: str) -> None:
        """End a confirmation that will not be carried out - pending, or confirmed but the call
        is not going to delete (the client said no, the targets changed, the call ended). An
        expiry that is due wins: the page then says "expired", which is what happened."""
        self.refresh(confirmation)
        if confirmation.state in ("pending", "confirmed"):
            self._finish(confirmation, "cancelled", reason, self._clock())

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
        self.refresh(confirmation)
        if confirmation.state != "confirmed" or tuple(sorted(target_ids)) != (
            confirmation.target_ids
        ):
            return False
        self._finish(confirmation, "executed", "deleting the confirmed targets", self._clock())
        return True

    async def wait(self, confirmation: Confirmation, *, at_most: float) -> None:
        """Until the person decides or the confirmation expires, at most `at_most` seconds."""
        with anyio.move_on_after(min(at_most, self.remaining(confirmation))):
            await confirmation.decided.wait()
        self.refresh(confirmation)

    # --- internals ---------------------------------------------------------------------

    def _finish(self, confirmation: Confirmation, state: State, reason: str, now: float) -> None:
        was_pending = confirmation.state == "pending"
        confirmation.state = state
        confirmation.reason = reason
        if was_pending:
            confirmation.decided.set()
            self._pending.pop(confirmation.id, None)
            mine = self._by_user.get(confirmation.user)
            if mine is not None:
                mine.pop(confirmation.id, None)
                if not mine:
                    del self._by_user[confirmation.user]
        self._finished.pop(confirmation.id, None)
        self._finished[confirmation.id] = now  # moved to the young end
        self._event(state, confirmation)

    def _forget(self, confirmation_id: str) -> None:
        self._finished.pop(confirmation_id, None)
        self._items.pop(confirmation_id, None)

    def _sweep(self, now: float) -> None:
        while self._pending:
            oldest = self._items[next(iter(self._pending))]
            if now < oldest.expires:
                break
            self.refresh(oldest)
        while self._finished:
            confirmation_id, finished = next(iter(self._finished.items()))
            if now < finished + self.retention:
                break
            self._forget(confirmation_id)

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
