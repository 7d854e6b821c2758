"""Account tools: list, inspect and (gated) delete the session user's connected accounts.

Scope by construction: an account is looked up only among the session user's own accounts
(`GET …/users/{user}/accounts`), never fetched by id from the project. Another user's account id
therefore takes the same path, the same single request and the same answer as an id that does
not exist - the session cannot even learn that it exists.

No `from __future__ import annotations` here: the SDK reads the resolver annotations of the
closures below at run time, and they name local variables.
"""

from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from connect_mcp.connect import Account, ConnectError, NotFoundError
from connect_mcp.tools._base import (
    DeletePlan,
    DeleteTarget,
    GateDecision,
    GateOutcome,
    Principal,
    ToolHooks,
    ToolInput,
    ToolOutput,
    ToolRuntime,
    ToolSpec,
    add_tool,
    result,
)
from connect_mcp.tools._errors import not_found, tool_error
from connect_mcp.tools._views import AccountView, account_label, account_line, account_view

ID_PATTERN = r"^[A-Za-z0-9_\-]+$"
AccountId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=ID_PATTERN,
        description="Account id (apn_...) from list_accounts.",
    ),
]
AppRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=ID_PATTERN,
        description="App slug (e.g. 'slack') or id (app_...).",
    ),
]

READ = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)


# --- inputs and outputs -------------------------------------------------------------------


class ListAccountsInput(ToolInput):
    app: AppRef | None = Field(default=None, description="Only this app's accounts.")
    cursor: str | None = Field(
        default=None, min_length=1, max_length=200, description="next_cursor of the last page."
    )
    limit: int = Field(default=20, ge=1, le=100, description="Page size.")


class ListAccountsOutput(ToolOutput):
    accounts: list[AccountView]
    next_cursor: str | None = Field(description="null on the last page.")
    total_count: int | None
    needs_attention: int = Field(description="Accounts on this page that need reconnecting.")

    def summary(self) -> str:
        if not self.accounts:
            return "This user has no connected accounts" + (
                " on this page." if self.next_cursor else "."
            )
        lines = [
            f"{len(self.accounts)} account(s)"
            + (f" of {self.total_count}" if self.total_count is not None else "")
            + ":"
        ]
        lines += [f"- {account_line(a)}" for a in self.accounts]
        if self.needs_attention:
            lines.append(f"{self.needs_attention} need(s) reconnecting: see each account's action.")
        if self.next_cursor:
            lines.append(f"More: call list_accounts with cursor={self.next_cursor!r}.")
        return "\n".join(lines)


class GetAccountInput(ToolInput):
    account_id: AccountId


class AccountOutput(ToolOutput):
    account: AccountView

    def summary(self) -> str:
        a = self.account
        text = [
            account_line(a),
            f"created {a.created_at}, updated {a.updated_at}",
            "credential fields: " + (", ".join(a.credential_fields) or "none stored"),
        ]
        if a.credentials_expire_at:
            text.append(f"credentials expire at {a.credentials_expire_at}")
        if a.action:
            text.append(a.action)
        return "\n".join(text)


class DeleteAccountInput(ToolInput):
    account_id: AccountId


class DeleteAppAccountsInput(ToolInput):
    app: AppRef


class DeleteOutput(ToolOutput):
    # The shared result of every gated delete (a docstring would be published three times).

    deleted: bool = Field(description="True when everything confirmed was deleted.")
    confirmation: GateDecision = Field(description="The human's answer, or why none was asked.")
    deleted_ids: list[str]
    not_deleted_ids: list[str] = Field(description="Targeted but not deleted.")
    message: str

    def summary(self) -> str:
        return self.message


def not_confirmed(plan: DeletePlan, outcome: GateOutcome) -> DeleteOutput:
    """The non-error result of a delete the human did not confirm: nothing was touched."""
    why = {
        "rejected": "the user answered no",
        "declined": "the user declined",
        "cancelled": "the user cancelled",
        "timeout": "no answer arrived in time",
        "error": "the confirmation request failed",
        "nothing_to_delete": "there was nothing to delete",
        "expired": "nobody confirmed on the confirmation page in time",
        "changed": "the accounts changed after the confirmation page was shown",
        "invalid": "the confirmation could not be used",
    }.get(outcome.decision, outcome.decision)
    detail = f" ({outcome.detail})" if outcome.detail else ""
    return DeleteOutput(
        deleted=False,
        confirmation=outcome.decision,
        deleted_ids=[],
        not_deleted_ids=[t.id for t in plan.targets],
        message=f"Nothing was deleted: {why}{detail}.",
    )


# --- helpers ------------------------------------------------------------------------------


def account_target(account: Account) -> DeleteTarget:
    """An account as a delete target: one line for a form, columns for the confirmation page."""
    return DeleteTarget(
        "account",
        account.id,
        account_label(account),
        app=account.app.name or account.app.name_slug,
        name=account.name,
    )


async def own_accounts(
    rt: ToolRuntime, user: str, *, app: str | None = None, include_credentials: bool = False
) -> list[Account]:
    try:
        return await rt.client.list_user_accounts(
            user, app=app, include_credentials=include_credentials
        )
    except NotFoundError:
        return []  # a user with no record has no accounts
    except ConnectError as exc:
        raise tool_error(exc, "list this user's accounts") from exc


async def own_account(
    rt: ToolRuntime, user: str, account_id: str, *, include_credentials: bool = False
) -> Account:
    """The user's account with this id, or the one not-found answer."""
    for account in await own_accounts(rt, user, include_credentials=include_credentials):
        if account.id == account_id:
            return account
    raise not_found("account", account_id)


async def delete_targets(rt: ToolRuntime, plan: DeletePlan, outcome: GateOutcome) -> CallToolResult:
    """Delete exactly the confirmed account targets, one by one."""
    deleted: list[str] = []
    failed: list[str] = []
    gone: list[str] = []
    for target in plan.targets:
        try:
            await rt.client.delete_account(target.id)
        except NotFoundError:
            gone.append(target.id)
        except ConnectError:
            failed.append(target.id)
        else:
            deleted.append(target.id)
    verified = True
    if failed:
        # A DELETE whose answer was lost (5xx, timeout, broken connection) may still have been
        # applied: look again instead of claiming the account is still there.
        try:
            left = {a.id for a in await own_accounts(rt, plan.user)}
        except ToolError:
            verified = False
        else:
            deleted += [i for i in failed if i not in left]
            failed = [i for i in failed if i in left]
    parts = [
        f"Deleted {len(deleted)} account(s): {', '.join(deleted)}."
        if deleted
        else "No account was deleted."
    ]
    if gone:
        parts.append(f"Already gone: {', '.join(gone)}.")
    if failed and verified:
        parts.append(f"Failed (still there, try again later): {', '.join(failed)}.")
    elif failed:
        parts.append(
            f"Failed or unconfirmed (call list_accounts to check, then try again): "
            f"{', '.join(failed)}."
        )
    return result(
        DeleteOutput(
            deleted=not failed,
            confirmation=outcome.decision,
            deleted_ids=deleted,
            not_deleted_ids=failed,
            message=" ".join(parts),
        )
    )


# --- registration -------------------------------------------------------------------------


def register(mcp: MCPServer, hooks: ToolHooks) -> None:
    reader = Annotated[Principal, Resolve(hooks.principal)]
    writer = Annotated[Principal, Resolve(hooks.writer)]
    runtime = Annotated[ToolRuntime, Resolve(hooks.runtime)]

    # list_accounts -----------------------------------------------------------------------
    async def list_accounts(
        args: ListAccountsInput, principal: Principal, rt: ToolRuntime
    ) -> CallToolResult:
        try:
            page = await rt.client.list_accounts(
                external_user_id=principal.user,
                app=args.app,
                include_credentials=True,
                after=args.cursor,
                limit=args.limit,
            )
        except ConnectError as exc:
            raise tool_error(exc, "list accounts") from exc
        # Only rows that name this user: one without an owner is not this user's either.
        views = [account_view(a) for a in page.data if a.external_id == principal.user]
        info = page.page_info
        more = (
            bool(info.end_cursor)
            and len(page.data) >= args.limit
            and not (info.total_count is not None and info.total_count <= len(page.data))
        )
        return result(
            ListAccountsOutput(
                accounts=views,
                next_cursor=info.end_cursor if more else None,
                total_count=info.total_count,
                needs_attention=sum(v.status != "healthy" for v in views),
            )
        )

    add_tool(
        mcp,
        ToolSpec(
            name="list_accounts",
            title="List accounts",
            description=(
                "This user's connected accounts (Slack, GitHub, ...), paged: id, app, status, "
                "credential field names (never values) and expiry. One that is not healthy "
                "carries an 'action' saying how to reconnect it."
            ),
            input_model=ListAccountsInput,
            output_model=ListAccountsOutput,
            annotations=READ,
        ),
        list_accounts,
        {"principal": reader, "rt": runtime},
    )

    # get_account -------------------------------------------------------------------------
    async def get_account(
        args: GetAccountInput, principal: Principal, rt: ToolRuntime
    ) -> CallToolResult:
        account = await own_account(rt, principal.user, args.account_id, include_credentials=True)
        return result(AccountOutput(account=account_view(account)))

    add_tool(
        mcp,
        ToolSpec(
            name="get_account",
            title="Get account",
            description=(
                "One of this user's accounts by id, as list_accounts shows it; any other id is "
                "not found."
            ),
            input_model=GetAccountInput,
            output_model=AccountOutput,
            annotations=READ,
        ),
        get_account,
        {"principal": reader, "rt": runtime},
    )

    # delete_account ----------------------------------------------------------------------
    async def plan_delete_account(account_id: str, principal: writer, rt: runtime) -> DeletePlan:
        account = await own_account(rt, principal.user, account_id)
        return DeletePlan(
            tool="delete_account",
            headline=f"Delete this connected account of user '{principal.user}'?",
            targets=(account_target(account),),
            user=principal.user,
            reload=lambda: plan_delete_account(account_id, principal, rt),
        )

    async def delete_account(
        args: DeleteAccountInput, plan: DeletePlan, outcome: GateOutcome, rt: ToolRuntime
    ) -> CallToolResult:
        if not outcome.proceed:
            return result(not_confirmed(plan, outcome))
        return await delete_targets(rt, plan, outcome)

    add_tool(
        mcp,
        ToolSpec(
            name="delete_account",
            title="Delete account",
            description=(
                "Delete one of this user's accounts and its credentials, only if a person, "
                "shown it, confirms; otherwise nothing is deleted. To repair a connection, use "
                "create_connect_link instead."
            ),
            input_model=DeleteAccountInput,
            output_model=DeleteOutput,
            annotations=ToolAnnotations(
                read_only_hint=False,
                destructive_hint=True,
                idempotent_hint=True,
                open_world_hint=True,
            ),
            write=True,
            gated=True,
        ),
        delete_account,
        {
            "plan": Annotated[DeletePlan, Resolve(plan_delete_account)],
            "outcome": Annotated[GateOutcome, Resolve(hooks.gate(plan_delete_account))],
            "rt": runtime,
        },
    )

    # delete_app_accounts -----------------------------------------------------------------
    async def plan_delete_app_accounts(app: str, principal: writer, rt: runtime) -> DeletePlan:
        accounts = await own_accounts(rt, principal.user, app=app)
        return DeletePlan(
            tool="delete_app_accounts",
            headline=(
                f"Delete all {len(accounts)} connected account(s) of app '{app}' "
                f"belonging to user '{principal.user}'?"
            ),
            targets=tuple(account_target(a) for a in accounts),
            user=principal.user,
            reload=lambda: plan_delete_app_accounts(app, principal, rt),
        )

    async def delete_app_accounts(
        args: DeleteAppAccountsInput, plan: DeletePlan, outcome: GateOutcome, rt: ToolRuntime
    ) -> CallToolResult:
        if plan.empty:
            return result(
                DeleteOutput(
                    deleted=False,
                    confirmation="nothing_to_delete",
                    deleted_ids=[],
                    not_deleted_ids=[],
                    message=f"This user has no accounts of app {args.app!r}; nothing was deleted.",
                )
            )
        if not outcome.proceed:
            return result(not_confirmed(plan, outcome))
        return await delete_targets(rt, plan, outcome)

    add_tool(
        mcp,
        ToolSpec(
            name="delete_app_accounts",
            title="Delete app's accounts",
            description=(
                "Delete all of this user's accounts of one app, only if a person, shown the "
                "list, confirms; otherwise nothing is deleted."
            ),
            input_model=DeleteAppAccountsInput,
            output_model=DeleteOutput,
            annotations=ToolAnnotations(
                read_only_hint=False,
                destructive_hint=True,
                idempotent_hint=False,
                open_world_hint=True,
            ),
            write=True,
            gated=True,
        ),
        delete_app_accounts,
        {
            "plan": Annotated[DeletePlan, Resolve(plan_delete_app_accounts)],
            "outcome": Annotated[GateOutcome, Resolve(hooks.gate(plan_delete_app_accounts))],
            "rt": runtime,
        },
    )


__all__ = [
    "DeleteOutput",
    "account_target",
    "not_confirmed",
    "own_account",
    "own_accounts",
    "register",
]
