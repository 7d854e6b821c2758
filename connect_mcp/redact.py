"""The one redactor every string leaving the process goes through.

Two nets, because either alone has holes:

* **Structural** - a `credentials` object becomes the sorted list of its field names (so a
  reader still learns *which* credentials exist), and any field whose name means a secret
  is masked wherever it appears.
* **By value** - every secret the process has seen (client secret, access tokens, account
  credentials, static bearer tokens) is remembered, and each occurrence in any string - raw,
  JSON-escaped, URL-encoded or base64-encoded - is replaced by ``[REDACTED]``. This catches
  a secret that travels under an innocent name, e.g. a workflow that echoes a token back.

Values shorter than `MIN_SECRET_LENGTH` are not scrubbed by value: masking every "abc" in
every output would corrupt results without protecting anything a structural rule does not.
"""

from __future__ import annotations

import base64
import bisect
import functools
import json
import re
import threading
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 6

_SECRET_NAME = re.compile(
    r"""^(?:.*[_-])?(?:
        secret|client_secret|password|passwd|passphrase|
        api_?key|private_?key|access_?key|signing_?key|
        token|access_token|refresh_token|id_token|auth_token|session_token|bearer|
        authorization|cookie|set_cookie|credentials?
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_NOT_SECRET_NAMES = frozenset({"token_type", "expires_in", "expires_at"})


@functools.lru_cache(maxsize=4096)  # the same few dozen field names, ~1,500 times per call
def is_secret_name(name: str) -> bool:
    """True for a field name that, by itself, says its value is a secret."""
    key = name.strip().lower().replace("-", "_")
    return key not in _NOT_SECRET_NAMES and bool(_SECRET_NAME.match(key))


def _variants(secret: str) -> set[str]:
    """The encodings in which a secret commonly escapes: the value itself, as it sits inside
    a JSON string, URL-encoded, and base64 (standard and URL-safe, padded or not)."""
    raw = secret.encode()
    out = {secret, json.dumps(secret)[1:-1], urllib.parse.quote(secret, safe="")}
    for enc in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = enc.decode()
        out.add(text)
        out.add(text.rstrip("="))
    return {v for v in out if len(v) >= MIN_SECRET_LENGTH}


class Redactor:
    """A thread-safe set of known secrets and the compiled patterns that find them.

    The patterns are kept in *generations*, like the levels of a log-structured merge tree:
    newly learnt secrets get a small pattern of their own, and two neighbouring generations
    merge only when the older is no more than twice the size of the newer. Learning one more
    secret therefore compiles a pattern of its own size (plus, amortised, O(log n) merges)
    instead of recompiling every secret ever seen - a server that has seen thousands of
    credentials does not stall its event loop on the next one. Scrubbing runs every
    generation and masks the union of their matches, so a secret that contains another
    (held in a different generation) is still masked whole.

    The set is not bounded: forgetting a secret the process may still hold would reopen the
    very leak this class closes. It grows with the credentials one process reads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._generations: tuple[_Generation, ...] = ()
        # Scrubbed strings of the current pattern set: the generations they were scrubbed
        # with, and text -> scrubbed. See `scrub`.
        self._memo: tuple[tuple[_Generation, ...], _Memo] = ((), _Memo())

    def __repr__(self) -> str:
        return f"<Redactor secrets={len(self._secrets)}>"

    def __len__(self) -> int:
        return len(self._secrets)

    def add(self, *values: str | SecretStr | None) -> None:
        """Remember secrets; from now on no string leaving the process carries them."""
        fresh: set[str] = set()
        for value in values:
            text = value.get_secret_value() if isinstance(value, SecretStr) else value
            if text and len(text) >= MIN_SECRET_LENGTH and text not in self._secrets:
                fresh.add(text)
        if not fresh:
            return
        with self._lock:
            fresh -= self._secrets
            if not fresh:
                return
            self._secrets |= fresh
            variants: set[str] = set()
            for secret in fresh:
                variants |= _variants(secret)
            levels = [*self._generations, _Generation.of(frozenset(variants))]
            while len(levels) > 1 and len(levels[-2].variants) <= 2 * len(levels[-1].variants):
                newer = levels.pop()
                older = levels.pop()
                levels.append(_Generation.of(older.variants | newer.variants))
            self._generations = tuple(levels)  # readers see the old or the new tuple, whole

    def add_all(self, values: Iterable[str | SecretStr | None]) -> None:
        self.add(*values)

    def add_mapping(self, values: Mapping[str, Any]) -> None:
        """Remember every string leaf of a credentials object."""
        self.add_all(_string_leaves(values))

    def scrub(self, text: str) -> str:
        """Replace every known secret (in any of its encodings) in `text`.

        Results are memoised per set of patterns: the same ids, names, timestamps and
        summaries leave the process call after call, and a lookup is ~50x cheaper than
        running every generation's pattern again. The memo belongs to one `_generations`
        tuple (identity); learning a secret makes a new tuple, and the first scrub that sees
        it starts an empty memo, so no string is ever answered from a memo made before a
        secret it contains was known. An entry computed with an older tuple by a racing
        thread lands only in that older tuple's memo, which nobody reads again.
        """
        generations = self._generations
        if not generations or len(text) < MIN_SECRET_LENGTH:  # no variant is shorter
            return text
        memo_of, memo = self._memo
        if memo_of is generations:
            hit = memo.get(text)
            if hit is not None:
                return hit
        else:
            memo = _Memo()
            self._memo = (generations, memo)
        out = _scrub_with([g.pattern for g in generations], text)
        memo.put(text, out)
        return out

    def scrub_obj(self, value: Any) -> Any:
        """Structural and by-value redaction of a JSON-like tree; returns a new tree."""
        kind = type(value)  # exact types first: this runs over every result, node by node
        if kind is str:
            return self.scrub(value)
        if kind in _PLAIN_SCALARS:
            return value
        if kind is dict:
            return self._scrub_mapping(value)
        if kind is list or kind is tuple:
            return [self.scrub_obj(item) for item in value]
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, SecretStr):
            return REDACTED
        if isinstance(value, Mapping):
            return self._scrub_mapping(value)
        if isinstance(value, list | tuple):
            return [self.scrub_obj(item) for item in value]
        return value

    def _scrub_mapping(self, value: Mapping[Any, Any]) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key, item in value.items():
            name = key if type(key) is str else str(key)
            if name == "credentials" and isinstance(item, Mapping):
                out[key] = sorted(str(k) for k in item)
            elif is_secret_name(name) and item not in (None, "", [], {}):
                out[key] = REDACTED
            else:
                out[self.scrub(key) if isinstance(key, str) else key] = self.scrub_obj(item)
        return out


#: Leaves `scrub_obj` returns as they are (exact types; subclasses take the general path).
_PLAIN_SCALARS = frozenset({int, float, bool, type(None)})


class _Memo(dict[str, str]):
    """text -> scrubbed text, bounded: a string longer than `MAX_TEXT` (a workflow's body) is
    not kept, and once the kept text passes `MAX_CHARS` the memo starts again - the hot
    strings come back on the next calls."""

    MAX_TEXT = 4096
    MAX_CHARS = 1_000_000

    def __init__(self) -> None:
        super().__init__()
        self.chars = 0

    def put(self, text: str, scrubbed: str) -> None:
        if len(text) > self.MAX_TEXT:
            return
        if self.chars >= self.MAX_CHARS:
            self.clear()
            self.chars = 0
        self[text] = scrubbed
        self.chars += len(text) + len(scrubbed)


def _scrub_with(patterns: list[re.Pattern[str]], text: str) -> str:
    if len(patterns) == 1:  # the common case: no spans to merge across generations
        out = patterns[0].sub(REDACTED, text)
    else:
        out = _mask(text, _union(m.span() for p in patterns for m in p.finditer(text)))
    if _BREAK_HINT.search(out):
        out = _scrub_across_breaks(patterns, out)
    return out


@dataclass(frozen=True)
class _Generation:
    variants: frozenset[str]
    pattern: re.Pattern[str]

    @classmethod
    def of(cls, variants: frozenset[str]) -> _Generation:
        pattern = _pattern_for(set(variants))
        assert pattern is not None  # a generation is never empty
        return cls(variants, pattern)


def _union(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans with overlaps merged (spans that merely touch stay apart, as `re.sub`
    would leave them)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    pieces: list[str] = []
    pos = 0
    for start, end in spans:
        pieces.append(text[pos:start])
        pieces.append(REDACTED)
        pos = end
    pieces.append(text[pos:])
    return "".join(pieces)


#: Line breaks, real or JSON-escaped, that can split a secret: a wrapped base64 block
#: (`base64.encodebytes` folds at 76 columns) or a value folded across lines.
_BREAKS = re.compile(r"\r\n|\n|\r|\\r\\n|\\n|\\r")
_BREAK_HINT = re.compile(r"[\r\n]|\\[rn]")


def _scrub_across_breaks(patterns: list[re.Pattern[str]], text: str) -> str:
    """Mask secrets that line breaks split: match on the text without its breaks, then mask
    each match's whole span (breaks included) in the original text."""
    flat: list[str] = []
    starts: list[tuple[int, int]] = []  # (offset in flat, offset in text) of each piece
    flat_len = pos = 0
    for brk in _BREAKS.finditer(text):
        if brk.start() > pos:
            starts.append((flat_len, pos))
            flat.append(text[pos : brk.start()])
            flat_len += brk.start() - pos
        pos = brk.end()
    if pos < len(text):
        starts.append((flat_len, pos))
        flat.append(text[pos:])
    keys = [f for f, _ in starts]

    def original(index: int) -> int:
        piece = bisect.bisect_right(keys, index) - 1
        flat_at, text_at = starts[piece]
        return text_at + index - flat_at

    joined = "".join(flat)
    spans = (
        (original(m.start()), original(m.end() - 1) + 1)
        for pattern in patterns
        for m in pattern.finditer(joined)
    )
    return _mask(text, _union(spans))


def _pattern_for(variants: set[str]) -> re.Pattern[str] | None:
    """One pattern that matches, at any position, the LONGEST known variant starting there (so
    a secret that contains another is masked whole).

    Built as a radix tree of the variants (`ab(?:c|d(?:ef)?)`) rather than a flat alternation:
    the regex engine then decides at each text position by walking shared prefixes instead of
    trying every variant in turn - about 8x faster with a few hundred variants, and scrubbing
    runs on every string a tool returns. Greedy optional suffixes keep the longest-match rule.
    The flat longest-first alternation is the fallback for a tree too deep to compile.
    """
    if not variants:
        return None
    try:
        return re.compile(_radix(sorted(variants)))
    except (RecursionError, re.error, OverflowError):
        ordered = sorted(variants, key=len, reverse=True)
        return re.compile("|".join(map(re.escape, ordered)))


def _radix(words: list[str]) -> str:
    """Regex source matching exactly `words` (sorted, non-empty, distinct), longest first."""
    groups: dict[str, list[str]] = {}
    for word in words:
        groups.setdefault(word[:1], []).append(word)
    branches: list[str] = []
    ends = False
    for first, group in groups.items():
        if first == "":
            ends = True  # the empty word: this node ends a variant
            continue
        prefix = _common_prefix(group)
        rest = [w[len(prefix) :] for w in group]
        tail = _radix(rest) if any(rest) else ""
        branches.append(re.escape(prefix) + tail)
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if ends else body


def _common_prefix(words: list[str]) -> str:
    first, last = min(words), max(words)
    size = 0
    while size < len(first) and first[size] == last[size]:
        size += 1
    return first[:size]


def _string_leaves(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, SecretStr):
        yield value.get_secret_value()
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _string_leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _string_leaves(item)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        text = str(value)
        if len(text) >= MIN_SECRET_LENGTH:
            yield text


#: The process-wide redactor. Everything that learns a secret adds it here; everything that
#: emits a string (tool results, errors, logs) scrubs through it.
REDACTOR = Redactor()
