"""The redactor's memo of scrubbed strings: it may only ever answer what scrubbing afresh
would answer, whatever was learnt in between."""

from __future__ import annotations

import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from connect_mcp.redact import REDACTED, Redactor, _Memo

ALPHABET = "abAB01_-=+/. \n"
plans = st.tuples(
    st.lists(st.text("abAB01_-", min_size=6, max_size=14), min_size=1, max_size=8),
    st.lists(
        st.one_of(
            st.tuples(st.just("add"), st.integers(0, 7), st.just("")),
            # a text holding one of the secrets, learnt already or not yet
            st.tuples(st.just("scrub"), st.integers(0, 7), st.text(ALPHABET, max_size=30)),
            st.tuples(st.just("again"), st.integers(0, 50), st.just("")),  # an earlier text
        ),
        max_size=40,
    ),
)


@settings(max_examples=300, deadline=None)
@given(plans)
def test_memoised_scrub_equals_a_fresh_scrub(
    plan: tuple[list[str], list[tuple[str, int, str]]],
) -> None:
    secrets, steps = plan
    memoised = Redactor()
    learnt: list[str] = []
    seen: list[str] = []
    for op, index, noise in steps:
        secret = secrets[index % len(secrets)]
        if op == "add":
            memoised.add(secret)
            learnt.append(secret)
            continue
        text = (
            noise + secret + noise[::-1] if op == "scrub" or not seen else seen[index % len(seen)]
        )
        seen.append(text)
        fresh = Redactor()
        fresh.add(*learnt)
        for _ in range(2):  # the second call is answered from the memo
            assert memoised.scrub(text) == fresh.scrub(text)


def test_a_string_scrubbed_before_its_secret_was_learnt_is_masked_after() -> None:
    r = Redactor()
    r.add("first-secret-value")
    text = "token=late-secret-value and first-secret-value"
    assert r.scrub(text) == f"token=late-secret-value and {REDACTED}"
    assert r.scrub(text) == f"token=late-secret-value and {REDACTED}"  # from the memo
    r.add("late-secret-value")
    assert r.scrub(text) == f"token={REDACTED} and {REDACTED}"


def test_the_memo_is_bounded() -> None:
    memo = _Memo()
    memo.put("x" * (_Memo.MAX_TEXT + 1), "y")
    assert not memo  # long texts are not kept
    piece = "z" * 1000
    for i in range(3 * _Memo.MAX_CHARS // 2000):
        memo.put(f"{i}{piece}", piece)
        assert memo.chars <= _Memo.MAX_CHARS + 2 * _Memo.MAX_TEXT
    assert len(memo) < 3 * _Memo.MAX_CHARS // 2000


def test_learning_while_scrubbing_in_threads_never_leaks() -> None:
    r = Redactor()
    r.add("warm-up-secret")
    values = [f"secret-{i:04d}-value" for i in range(300)]
    text = " ".join(values)
    stop = threading.Event()
    learnt: list[str] = []  # appended once `add` has returned
    leaks: list[str] = []

    def scrubber() -> None:
        while not stop.is_set():
            r.scrub(text)  # fills the memo of whatever generations are current
            known = list(learnt)
            out = r.scrub(text)  # must mask everything learnt before it started
            leaks.extend(v for v in known if v in out)

    threads = [threading.Thread(target=scrubber) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for value in values:
            r.add(value)
            learnt.append(value)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
    assert not leaks
    assert r.scrub(text).count(REDACTED) == len(values)
