"""The redactor in a long-lived server: it learns every credential value it sees (each
`list_accounts` reads credentials to redact them), so a project with thousands of accounts puts
thousands of secrets in it. Learning one more must not stall the event loop, and the set must
not cost a recompile of everything known. (The set itself is deliberately unbounded: see
`Redactor`'s docstring.)"""

from __future__ import annotations

import secrets
import time

from connect_mcp.redact import Redactor

KNOWN = 2000
BUDGET_SECONDS = 0.05


def test_learning_one_more_secret_is_cheap_with_thousands_known() -> None:
    redactor = Redactor()
    redactor.add(*(secrets.token_urlsafe(30) for _ in range(KNOWN)))
    redactor.scrub("warm")
    fresh = secrets.token_urlsafe(30)
    started = time.perf_counter()
    redactor.add(fresh)
    out = redactor.scrub(f"a workflow echoed {fresh}")
    elapsed = time.perf_counter() - started
    assert fresh not in out
    print(f"\n[redactor] {KNOWN} known secrets: learning one more cost {elapsed * 1000:.0f} ms")
    assert elapsed < BUDGET_SECONDS


def test_learning_thousands_of_secrets_one_at_a_time_stays_cheap_in_total() -> None:
    """The amortised bound: merging generations costs O(log n) per secret, not O(n)."""
    redactor = Redactor()
    learnt = [secrets.token_urlsafe(30) for _ in range(KNOWN)]
    started = time.perf_counter()
    for secret in learnt:
        redactor.add(secret)
        redactor.scrub("a tool result")
    elapsed = time.perf_counter() - started
    print(f"\n[redactor] learning {KNOWN} secrets one by one cost {elapsed:.2f} s in total")
    assert all(redactor.scrub(f"<{s}>") == "<[REDACTED]>" for s in learnt[:: KNOWN // 50])
    assert elapsed < 20  # a full recompile per secret took minutes
