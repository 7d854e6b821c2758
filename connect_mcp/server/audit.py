"""One audit event per tool call: who, which tool, what happened, what the human decided.

The record lives in a context variable for the duration of one `tools/call`, so the gate (deep
inside the SDK's resolver machinery) can note its decision and targets without any plumbing.
Arguments are never logged - only the ids a gated tool targeted, which are not secrets.
"""

from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass, field
from typing import Any

from connect_mcp.log import get_logger

_log = get_logger("connect_mcp.audit")
_current: contextvars.ContextVar[AuditRecord | None] = contextvars.ContextVar(
    "connect_mcp_audit", default=None
)


@dataclass
class AuditRecord:
    tool: str
    principal: str | None
    perm: str | None
    protocol_version: str | None
    started: float = field(default_factory=time.monotonic)
    outcome: str = "ok"
    gate: str | None = None
    targets: list[str] = field(default_factory=list)
    reason: str | None = None

    def emit(self) -> None:
        event: dict[str, Any] = {
            "tool": self.tool,
            "principal": self.principal,
            "perm": self.perm,
            "outcome": self.outcome,
            "gate": self.gate,
            "duration_ms": round((time.monotonic() - self.started) * 1000, 1),
            "protocol_version": self.protocol_version,
        }
        if self.targets:
            event["targets"] = self.targets
        if self.reason:
            event["reason"] = self.reason
        _log.info("tool_call", **event)


def begin(record: AuditRecord) -> contextvars.Token[AuditRecord | None]:
    return _current.set(record)


def end(token: contextvars.Token[AuditRecord | None]) -> None:
    _current.reset(token)


def note_gate(decision: str, targets: list[str] | None = None) -> None:
    record = _current.get()
    if record is not None:
        record.gate = decision
        if targets is not None:
            record.targets = targets
