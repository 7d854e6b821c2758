"""The confirmation store as a specification: one-way life, single use, bounded size.

Pure in-process logic with an injected clock (time is the only thing a real part would make
these tests wait for); the pages and gates around it are tested over HTTP in test_url_gate.py.
"""

from __future__ import annotations

import anyio
import pytest

from connect_mcp.server.confirmations import Binding, ConfirmationStore, StoreFull
from connect_mcp.tools._base import DeleteTarget

ALICE = Binding(user="alice", perm="write", session="sid:1")
TARGETS = (DeleteTarget("account", "apn_1", "OpenAI account - apn_1", app="OpenAI"),)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> ConfirmationStore:
    return ConfirmationStore(expiry=600, max_pending_per_user=3, max_total=10, clock=clock)


def test_ids_are_long_random_and_distinct(store: ConfirmationStore) -> None:
    ids = {
        store.create(tool="t", user="u", headline="h", targets=(), binding=ALICE).id
        for _ in range(3)
    }
    assert len(ids) == 3
    assert all(len(i) >= 32 for i in ids)  # 24 random bytes, base64url: 192 bits


def test_only_a_value_a_page_handed_out_decides(store: ConfirmationStore) -> None:
    c = store.create(tool="t", user="alice", headline="h", targets=TARGETS, binding=ALICE)
    assert not store.decide(c, "", "confirm")
    assert not store.decide(c, "forged-value-of-the-right-length-xx", "confirm")
    assert c.state == "pending"
    token = store.shown(c)
    assert store.decide(c, token, "confirm")
    assert c.state == "confirmed"
    assert not store.decide(c, token, "cancel"), "a decision is final"
    assert c.state == "confirmed"


def test_a_confirmation_is_spent_once_and_only_on_its_targets(store: ConfirmationStore) -> None:
    c = store.create(tool="t", user="alice", headline="h", targets=TARGETS, binding=ALICE)
    assert not store.execute(c, ("apn_1",)), "not confirmed yet"
    store.decide(c, store.shown(c), "confirm")
    assert not store.execute(c, ("apn_1", "apn_2")), "other targets"
    assert not store.execute(c, ()), "other targets"
    assert store.execute(c, ("apn_1",))
    assert not store.execute(c, ("apn_1",)), "second use"
    assert store.check(c.id, ALICE, "t") == "spent"


def test_expiry_closes_a_pending_confirmation_for_good(
    store: ConfirmationStore, clock: Clock
) -> None:
    c = store.create(tool="t", user="alice", headline="h", targets=TARGETS, binding=ALICE)
    token = store.shown(c)
    clock.now += 600
    assert store.check(c.id, ALICE, "t") == "expired"
    assert not store.decide(c, token, "confirm")
    assert c.state == "expired"
    assert c.decided.is_set()


def test_check_names_every_reason_to_refuse(store: ConfirmationStore) -> None:
    c = store.create(tool="t", user="alice", headline="h", targets=TARGETS, binding=ALICE)
    assert store.check(c.id, ALICE, "t") == "ok"
    assert store.check("no-such-id", ALICE, "t") == "unknown"
    assert store.check(c.id, Binding("alice", "write", "sid:2"), "t") == "other_session"
    assert store.check(c.id, Binding("bob", "write", "sid:1"), "t") == "other_session"
    assert store.check(c.id, ALICE, "delete_user") == "other_tool"
    store.void(c, "cancelled on the page")
    assert store.check(c.id, ALICE, "t") == "cancelled"


def test_void_spends_a_confirmed_confirmation_without_deleting(store: ConfirmationStore) -> None:
    c = store.create(tool="t", user="alice", headline="h", targets=TARGETS, binding=ALICE)
    store.decide(c, store.shown(c), "confirm")
    store.void(c, "the targets changed")
    assert c.state == "cancelled"
    assert not store.execute(c, ("apn_1",))


def test_the_store_is_bounded_per_user_and_in_total(store: ConfirmationStore) -> None:
    """A user's own oldest open confirmation makes room for their newest; when the whole store
    is full, finished records go first and then a NEW confirmation is refused - nobody's open
    confirmation is ever evicted by another user."""
    first = [
        store.create(tool="t", user="alice", headline="h", targets=TARGETS, binding=ALICE)
        for _ in range(5)
    ]
    assert [c.state for c in first] == ["cancelled"] * 2 + ["pending"] * 3
    for i in range(7):  # 5 of alice's + 5 others = 10: full, but 2 of alice's are finished
        store.create(
            tool="t",
            user=f"u{i}",
            headline="h",
            targets=TARGETS,
            binding=Binding(f"u{i}", "write", "s"),
        )
    assert len(store) == 10
    with pytest.raises(StoreFull):
        store.create(tool="t", user="mallory", headline="h", targets=TARGETS, binding=ALICE)
    assert [c.state for c in first[2:]] == ["pending"] * 3, "alice's open ones survive"
    assert all(store.get(c.id) is not None for c in first[2:])


def test_finished_confirmations_are_forgotten_after_another_expiry(
    store: ConfirmationStore, clock: Clock
) -> None:
    c = store.create(tool="t", user="alice", headline="h", targets=TARGETS, binding=ALICE)
    store.void(c, "no")
    clock.now += 1_201
    store.create(tool="t", user="bob", headline="h", targets=TARGETS, binding=ALICE)
    assert store.get(c.id) is None


async def test_waiting_ends_at_the_decision_or_the_limit(store: ConfirmationStore) -> None:
    c = store.create(tool="t", user="alice", headline="h", targets=TARGETS, binding=ALICE)
    with anyio.fail_after(2):
        await store.wait(c, at_most=0.05)
    assert c.state == "pending"
    token = store.shown(c)

    async def decide_soon() -> None:
        await anyio.sleep(0.05)
        store.decide(c, token, "cancel")

    async with anyio.create_task_group() as tg:
        tg.start_soon(decide_soon)
        with anyio.fail_after(2):
            await store.wait(c, at_most=30)
    assert c.state == "cancelled"
