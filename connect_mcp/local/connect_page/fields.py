"""The credential form of a key-based app, built from the catalog, and its server-side checks.

The form is generated from the same `custom_fields_json` the API returns, so the page asks
for exactly what `POST /accounts` would accept. Validation happens here on the server (the
page needs no JavaScript), and every message names the field by its label, the way a
person reads the form.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from connect_mcp.local.catalog import CatalogApp

MAX_VALUE = 2000
MAX_NAME = 200
NAME_FIELD = "account_name"


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    secret: bool
    required: bool
    description: str | None
    default: str | None

    @property
    def input_name(self) -> str:
        """Prefixed so a field called `token` or `app` can never shadow the form's own."""
        return f"cf_{self.name}"


def form_fields(app: CatalogApp) -> list[FormField]:
    """The app's credential fields, read from its `custom_fields_json` as the API serves it."""
    raw = json.loads(app.to_json()["custom_fields_json"])
    fields = []
    for item in raw:
        default = item.get("default")
        fields.append(
            FormField(
                name=str(item["name"]),
                label=str(item.get("label") or item["name"]),
                secret=item.get("type") == "password",
                required=not item.get("optional", False) and default is None,
                description=item.get("description"),
                default=None if default is None else str(default),
            )
        )
    return fields


@dataclass
class Checked:
    """The outcome of checking a submitted form: values to store, or what to fix."""

    values: dict[str, str]
    errors: dict[str, str]  # input name -> message
    name: str | None

    @property
    def ok(self) -> bool:
        return not self.errors


def _problem(label: str, value: str) -> str | None:
    if len(value) > MAX_VALUE:
        return f"{label} must be at most {MAX_VALUE} characters."
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        return f"{label} must be a single line of text (no line breaks or control characters)."
    return None


def check_form(fields: list[FormField], form: Mapping[str, str]) -> Checked:
    """Trim, require, bound: the same rules for every app, messages by label."""
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for field in fields:
        value = (form.get(field.input_name) or "").strip()
        if not value:
            if field.required:
                errors[field.input_name] = f"{field.label} is required."
            elif field.default is not None:
                values[field.name] = field.default
            continue
        problem = _problem(field.label, value)
        if problem:
            errors[field.input_name] = problem
        else:
            values[field.name] = value
    name = (form.get(NAME_FIELD) or "").strip() or None
    if name is not None:
        if len(name) > MAX_NAME:
            errors[NAME_FIELD] = f"Account name must be at most {MAX_NAME} characters."
        elif any(unicodedata.category(ch) == "Cc" for ch in name):
            errors[NAME_FIELD] = "Account name must be a single line of text."
    return Checked(values=values, errors=errors, name=name)
