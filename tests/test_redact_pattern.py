"""The redactor's radix-tree pattern masks exactly what the flat longest-first alternation
masks (it exists only to be faster)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from connect_mcp.redact import _pattern_for

ALPHABET = "abAB01_-=+/."
words = st.sets(st.text(ALPHABET, min_size=1, max_size=12), min_size=1, max_size=25)
texts = st.text(ALPHABET + " \n", max_size=200)


def flat(variants: set[str]) -> re.Pattern[str]:
    ordered = sorted(variants, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, ordered)))


@settings(max_examples=400, deadline=None)
@given(words, texts, st.data())
def test_radix_pattern_masks_like_the_flat_alternation(
    variants: set[str], text: str, data: st.DataObject
) -> None:
    planted = text + data.draw(st.sampled_from(sorted(variants))) + text[::-1]
    pattern = _pattern_for(variants)
    assert pattern is not None
    for sample in (text, planted):
        assert pattern.sub("#", sample) == flat(variants).sub("#", sample)


def test_long_and_nested_secrets_compile() -> None:
    pem = "-----BEGIN PRIVATE KEY-----" + "A" * 3000 + "-----END PRIVATE KEY-----"
    variants = {pem, pem[:40], pem[:2000], *(f"tok{i:04d}xyz" for i in range(2000))}
    pattern = _pattern_for(variants)
    assert pattern is not None
    assert pattern.sub("#", f"x{pem}y tok0042xyz") == "x#y #"
    assert _pattern_for(set()) is None
