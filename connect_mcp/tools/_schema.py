"""Compact JSON schemas for `tools/list`: the same constraints in fewer bytes.

Every byte of the tool list is paid on every turn of a conversation, and the SDK client checks
every structured result against the published output schema (jsonschema), where each `$ref`,
`anyOf` branch and unused keyword costs time. pydantic's schemas carry what neither a model nor
a validator needs, so each tool's schemas are rewritten once, at registration:

* `$ref`s into `$defs` are inlined (no recursive models here) and `$defs` dropped;
* `title`s are dropped (pydantic derives them from the field names the schema already shows);
* a nested copy of a field's description (from a shared `Annotated` type) gives way to the
  field's own;
* inputs: an optional field (`T | None = None`) is published as plain `T`, not required, with
  no `default: null` - omitting it means null, and plain types are what every client reads;
  a `default: null` is dropped from any input field for the same reason;
* a `minLength: 1` next to a `pattern` of the form `^[...]+$` is dropped: the pattern already
  demands at least one character;
* outputs: a field with a `None` default is published as plain `T`, not required, because
  such fields are left out when None (`_base.optional`, checked here); a required nullable
  field keeps its `anyOf` with a `null` branch - a `type` array would be shorter, but clients
  that map schemas onto a single-`type` dialect (Gemini's) reject it.

Every constraint (types, enums, lengths, patterns, bounds, non-null defaults, required) and
every description is kept.
"""

from __future__ import annotations

import re
from typing import Any

_DEFS_PREFIX = "#/$defs/"
_DATA_KEYWORDS = frozenset({"default", "enum", "const", "examples"})
#: A whole-string pattern of one character class repeated one or more times: `^[A-Z_]+$`.
_NON_EMPTY_PATTERN = re.compile(r"\^\[(?:[^\]\\]|\\.)+\]\+\$")


def compact_input(schema: dict[str, Any]) -> dict[str, Any]:
    compacted: dict[str, Any] = _compact(schema, schema.get("$defs", {}), output=False)
    return compacted


def compact_output(schema: dict[str, Any]) -> dict[str, Any]:
    compacted: dict[str, Any] = _compact(schema, schema.get("$defs", {}), output=True)
    return compacted


def _null_split(node: dict[str, Any]) -> dict[str, Any] | None:
    """For `anyOf: [S, {"type": "null"}]` (either order) return S, else None."""
    branches = node.get("anyOf")
    if not isinstance(branches, list) or len(branches) != 2:
        return None
    nulls = [b for b in branches if b == {"type": "null"}]
    if len(nulls) != 1:
        return None
    other = branches[0] if branches[1] in nulls else branches[1]
    return other if isinstance(other, dict) else None


def _compact(node: Any, defs: dict[str, Any], *, output: bool) -> Any:
    if isinstance(node, list):
        return [_compact(item, defs, output=output) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(_DEFS_PREFIX):
        target = defs[ref.removeprefix(_DEFS_PREFIX)]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _compact(merged, defs, output=output)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("$defs", "title"):
            continue
        if key in _DATA_KEYWORDS:
            out[key] = value  # JSON data, not a schema: nothing in it is a keyword
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: _compact(prop, defs, output=output) for name, prop in value.items()}
        else:
            out[key] = _compact(value, defs, output=output)
    if isinstance(out.get("properties"), dict):
        _fold_nullables(out, output=output)
        if not output:
            for prop in out["properties"].values():
                if isinstance(prop, dict) and "default" in prop and prop["default"] is None:
                    del prop["default"]  # omitting an input means null
    pattern = out.get("pattern")
    if (
        out.get("minLength") == 1
        and isinstance(pattern, str)
        and _NON_EMPTY_PATTERN.fullmatch(pattern)
    ):
        del out["minLength"]  # the pattern already demands a character
    return out


def _fold_nullables(obj: dict[str, Any], *, output: bool) -> None:
    required = set(obj.get("required", []))
    props: dict[str, Any] = obj["properties"]
    for name, prop in list(props.items()):
        if not isinstance(prop, dict):
            continue
        inner = _null_split(prop)
        if inner is None:
            continue
        if name in required:
            continue  # nullable and always present: keeps its `null` branch
        # Optional: absent means null (inputs by definition; outputs because such fields are
        # excluded when None - `compact_output` callers check that).
        if output and prop.get("default") is not None:
            continue
        outer = {
            k: v for k, v in prop.items() if k != "anyOf" and not (k == "default" and v is None)
        }
        props[name] = {**inner, **outer}  # the field's own description wins
