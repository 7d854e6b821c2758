"""Shared pieces of the security suite: generated secrets of many shapes, and a scanner that
looks for a secret in every form it could escape in."""

from __future__ import annotations

import base64
import copy
import json
import string
import urllib.parse
from collections.abc import Iterable
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from connect_mcp.redact import MIN_SECRET_LENGTH, REDACTED

_B64URL = string.ascii_letters + string.digits + "-_"
_ALNUM = string.ascii_letters + string.digits
#: Text that every result carries anyway: a secret equal to a piece of it would be "found"
#: without having leaked, so generated secrets never sit inside it.
_BOILERPLATE = REDACTED + "Nothing was deleted the user declined account accounts openai"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _chars(alphabet: str, lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=lo, max_size=hi)


@st.composite
def _jwt(draw: st.DrawFn) -> str:
    header = {"alg": draw(st.sampled_from(["HS256", "RS256", "none"])), "typ": "JWT"}
    claims = {"sub": draw(_chars(_ALNUM, 4, 20)), "exp": draw(st.integers(0, 2**31))}
    signature = draw(st.binary(min_size=16, max_size=64))
    return ".".join(
        [
            _b64url(json.dumps(header).encode()),
            _b64url(json.dumps(claims).encode()),
            _b64url(signature),
        ]
    )


def _prefixed() -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(
            lambda a, b, c: f"xoxb-{a}-{b}-{c}",
            _chars(string.digits, 10, 13),
            _chars(string.digits, 10, 13),
            _chars(_ALNUM, 24, 24),
        ),
        st.builds(lambda s: "ghp_" + s, _chars(_ALNUM, 36, 36)),
        st.builds(lambda s: "sk-" + s, _chars(_ALNUM, 20, 48)),
        st.builds(lambda s: "sk-ant-api03-" + s, _chars(_B64URL, 30, 90)),
        st.builds(lambda s: "sk_live_" + s, _chars(_ALNUM, 24, 24)),
        st.builds(lambda s: "AKIA" + s, _chars(string.ascii_uppercase + string.digits, 16, 16)),
    )


def _unicode() -> st.SearchStrategy[str]:
    return st.text(
        alphabet=st.characters(
            codec="utf-8", categories=["L", "N", "P", "S", "Zs"], exclude_characters="\x00"
        ),
        min_size=MIN_SECRET_LENGTH + 2,
        max_size=40,
    ).filter(lambda s: any(ord(c) > 127 for c in s))


def _with_json_and_quotes() -> st.SearchStrategy[str]:
    pieces = st.sampled_from(['"', "'", '{"a":"b"}', "\\", "\\n", "</script>", "${x}", "`", ","])
    return st.builds(
        lambda a, p, b: a + p + b, _chars(_ALNUM, 4, 12), pieces, _chars(_ALNUM, 4, 12)
    )


def secrets_strategy() -> st.SearchStrategy[str]:
    """Credential values of many shapes: JWT-like, vendor-prefixed, base64, unicode, very
    short (the redactor's minimum), very long, and containing JSON and quotes."""
    return st.one_of(
        _jwt(),
        _prefixed(),
        st.binary(min_size=12, max_size=96).map(lambda b: base64.b64encode(b).decode()),
        _unicode(),
        _chars(_ALNUM, MIN_SECRET_LENGTH, MIN_SECRET_LENGTH + 2),  # very short
        _chars(_B64URL, 1000, 3000),  # very long
        _with_json_and_quotes(),
    ).filter(_distinctive)


def _distinctive(secret: str) -> bool:
    """A secret that can be looked for: long enough to be redacted by value, not made of one
    repeated character, and not a piece of the text every answer carries anyway."""
    return (
        len(secret) >= MIN_SECRET_LENGTH
        and len(set(secret)) >= 4
        and secret.strip() == secret
        and secret not in _BOILERPLATE
    )


def forms(secret: str) -> set[str]:
    """Every form in which a secret could be read back by whoever gets the text."""
    raw = secret.encode()
    out = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        urllib.parse.quote(secret, safe=""),
    }
    for enc in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        out.add(enc.decode().rstrip("="))
    return {f for f in out if len(f) >= MIN_SECRET_LENGTH}


def leaks(blobs: Iterable[str], secrets: Iterable[str]) -> list[tuple[str, str]]:
    """(secret, where) for every secret found in any of its forms in any blob - also with the
    blob's line breaks removed, so a secret split across lines is still found."""
    found: list[tuple[str, str]] = []
    texts = [b for b in blobs if b]
    joined = [
        t.replace("\\r", "").replace("\\n", "").replace("\r", "").replace("\n", "") for t in texts
    ]
    for secret in secrets:
        for variant in forms(secret):
            for text, flat in zip(texts, joined, strict=True):
                where = text if variant in text else flat if variant in flat else None
                if where is not None:
                    at = where.find(variant)
                    found.append((secret[:24], where[max(0, at - 60) : at + 60]))
                    break
    return found


class RedactorState:
    """Save and restore what the process-wide redactor knows.

    Hundreds of generated examples would otherwise leave hundreds of random strings (some as
    short as the redactor's minimum) in the process-wide redactor, to be masked in every later
    test's output. Each example starts from the state saved here - the secrets of earlier
    examples were deleted with their accounts, and are not what the example tests. The state
    is copied attribute by attribute (all but the lock), so this follows the redactor's
    internals whatever they are.
    """

    def __init__(self) -> None:
        from connect_mcp.redact import REDACTOR

        self._redactor = REDACTOR
        self._saved = self._capture()

    def _capture(self) -> dict[str, Any]:
        r = self._redactor
        with r._lock:
            return {k: copy.copy(v) for k, v in vars(r).items() if k != "_lock"}

    def save(self) -> None:
        self._saved = self._capture()

    def restore(self) -> None:
        r = self._redactor
        with r._lock:
            for key, value in self._saved.items():
                setattr(r, key, copy.copy(value))


def fuzz_settings(examples: int) -> settings:
    """The fuzzers' shared Hypothesis settings: `examples` draws, generation only, no deadline,
    no example database, no health checks."""
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
