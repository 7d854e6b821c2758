"""Compact views of Connect objects: what an agent needs to act, nothing of the catalog.

An account view carries ids, the app's name and slug, health, timestamps, the *names* of its
credential fields and when they expire - never a credential value, a description or an image.
A connection that has rotted says so, with the exact next step, because the most common
complaint about peer products is connections that die silently.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from connect_mcp.tools._base import optional

if TYPE_CHECKING:
    from connect_mcp.connect import Account

AccountStatus = Literal["healthy", "unhealthy", "dead", "expired"]


class AccountView(BaseModel):
    # One account. Fields that would be null are left out (a page repeats them per row).
    # No docstring: it would be published as a description in two output schemas.
    id: str
    name: str | None = optional()
    app_slug: str
    app_name: str
    status: AccountStatus = Field(description="Anything but healthy needs reconnecting.")
    created_at: str | None = optional()
    updated_at: str | None = optional()
    credential_fields: list[str] = Field(description="Names only, never values.")
    credentials_expire_at: str | None = optional()
    action: str | None = optional("How to get it reconnected; only when not healthy.")


def iso(value: Any) -> str | None:
    """ISO-8601 text for a datetime (UTC) or whatever the API sent; None stays None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        # Keyed with the offset too: two datetimes that differ only in `fold` compare equal
        # in one zone but are different instants. Equal instants otherwise give equal text.
        return _iso_utc(value, value.utcoffset())
    return str(value)


@functools.lru_cache(maxsize=4096)  # a page's timestamps come back call after call
def _iso_utc(value: datetime, _offset: timedelta | None) -> str:
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def account_status(account: Account, now: datetime | None = None) -> AccountStatus:
    if account.dead:
        return "dead"
    if account.healthy is False:
        return "unhealthy"
    expires = _as_datetime(account.expires_at)
    if expires is not None and expires <= (now or datetime.now(UTC)):
        return "expired"
    return "healthy"


def reconnect_action(account_id: str, status: AccountStatus) -> str | None:
    if status == "healthy":
        return None
    why = {
        "dead": "This connection is dead: the app no longer accepts its credentials.",
        "unhealthy": "This connection is unhealthy: recent use or refresh failed.",
        "expired": "This connection's credentials have expired.",
    }[status]
    return (
        f"{why} Ask the user to reconnect it: call create_connect_link with "
        f"account_id={account_id!r} and give the user the returned link."
    )


def account_view(account: Account) -> AccountView:
    status = account_status(account)
    app = account.app
    credentials = account.credentials or {}
    return AccountView(
        id=account.id,
        name=account.name,
        app_slug=app.name_slug,
        app_name=app.name or app.name_slug,
        status=status,
        created_at=iso(account.created_at),
        updated_at=iso(account.updated_at),
        credential_fields=sorted(str(k) for k in credentials),
        credentials_expire_at=iso(account.expires_at),
        action=reconnect_action(account.id, status),
    )


def account_label(account: Account) -> str:
    """One line naming an account for a human: app, name, id, health."""
    app = account.app
    name = f" '{account.name}'" if account.name else ""
    return f"{app.name or app.name_slug} ({app.name_slug}) account{name} - {account.id}"


def account_line(view: AccountView) -> str:
    flag = "" if view.status == "healthy" else f" [{view.status.upper()} - needs reconnecting]"
    name = f" '{view.name}'" if view.name else ""
    return f"{view.id}: {view.app_name} ({view.app_slug}){name}{flag}"
