"""Response models of the Connect API.

They accept unknown fields (``extra="allow"``): the API grows, and a new field must not
break a deployed client. Two consequences are handled here rather than left to callers:

* credentials are only ever `SecretStr`, so printing an account never prints a secret;
* an unknown field is invisible to `repr`/`str` when its name means a secret, and every
  other unknown value is shown only after the redactor scrubbed it - an extra field is data
  we never reviewed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from connect_mcp.redact import REDACTED, REDACTOR, is_secret_name

__all__ = [
    "Account",
    "AccountApp",
    "App",
    "ConnectToken",
    "Page",
    "PageInfo",
    "ProjectApp",
    "ProjectInfo",
    "TokenValidation",
    "User",
    "WorkflowResponse",
]


class _Model(BaseModel):
    """Lenient on input, careful on output."""

    model_config = ConfigDict(extra="allow", frozen=True)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            if name in type(self).model_fields:
                yield name, value
            elif name is not None and is_secret_name(name):
                yield name, REDACTED
            else:
                yield name, REDACTOR.scrub_obj(value)


class PageInfo(_Model):
    """Cursor paging: `end_cursor` is set only when more rows follow this page."""

    count: int = 0
    total_count: int | None = None
    start_cursor: str | None = None
    end_cursor: str | None = None


T = TypeVar("T")


class Page(_Model, Generic[T]):
    """One page of a list endpoint."""

    data: list[T]
    page_info: PageInfo = Field(default_factory=PageInfo)


class AccountApp(_Model):
    """The app an account belongs to, as embedded in an account."""

    id: str | None = None
    name_slug: str
    name: str | None = None
    auth_type: str | None = None
    description: str | None = None
    img_src: str | None = None
    custom_fields_json: str | None = None
    categories: list[str] = Field(default_factory=list)
    featured_weight: float | None = None


class App(AccountApp):
    """An app of the catalog (`/v1/connect/apps`)."""


def _as_secret(value: Any) -> SecretStr:
    return SecretStr(value if isinstance(value, str) else json.dumps(value, sort_keys=True))


class Account(_Model):
    """A connected account. `credentials` is present only when asked for, and only as
    `SecretStr` values (non-string values are JSON-encoded first)."""

    id: str
    name: str | None = None
    external_id: str | None = None
    healthy: bool | None = None
    dead: bool | None = None
    app: AccountApp
    created_at: datetime | None = None
    updated_at: datetime | None = None
    credentials: dict[str, SecretStr] | None = None
    expires_at: datetime | None = None
    error: str | None = None
    last_refreshed_at: datetime | None = None
    next_refresh_at: datetime | None = None

    @field_validator("credentials", mode="before")
    @classmethod
    def _secret_values(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): _as_secret(v) for k, v in value.items() if v is not None}
        return value

    @property
    def credential_fields(self) -> list[str]:
        """Which credential fields exist - safe to show anyone."""
        return sorted(self.credentials or {})


class User(_Model):
    """An external user of the project (one of the product's end users)."""

    id: str | None = None
    external_id: str
    created_at: datetime | None = None
    updated_at: datetime | None = None


class ProjectApp(_Model):
    """An app configured on the project."""

    id: str | None = None
    name_slug: str | None = None


class ProjectInfo(_Model):
    """What `GET .../projects/info` says about the project."""

    apps: list[ProjectApp] = Field(default_factory=list)


class ConnectToken(_Model):
    """A short-lived, single-use token that lets one end user connect an account.

    The token is meant for the end user (it is part of `connect_link_url`), so it is *not*
    added to the process-wide redactor - that would mask the very link a tool must return -
    but neither the token nor the link ever shows in a `repr`.
    """

    token: SecretStr
    expires_at: datetime
    connect_link_url: str = Field(repr=False)


class TokenValidation(_Model):
    """The answer of `GET /v1/connect/tokens/{token}/validate`."""

    success: bool
    error: str | None = None


class WorkflowResponse(_Model):
    """What a workflow answered, whatever the status (a workflow chooses its own statuses).

    `body` is the decoded text, already passed through the redactor (a workflow can echo
    the access token it was called with); `truncated` says it was cut at the client's byte
    limit. `headers` has lower-case names; headers whose name means a secret (set-cookie,
    authorization, ...) are masked and every value is scrubbed.
    """

    status_code: int
    headers: dict[str, str] = Field(default_factory=dict)
    body: str = ""
    truncated: bool = False

    def json_body(self) -> Any:
        """The body parsed as JSON (raises `ValueError` when it is not JSON)."""
        return json.loads(self.body)
