"""`delete_user`: remove the session's own end user and every account they connected (gated).

Only the session's user can be deleted - the tool has no user argument at all.
"""

from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import Resolve
from mcp.types import CallToolResult, ToolAnnotations

from connect_mcp.connect import ConnectError, ConnectTimeoutError, NotFoundError, UpstreamError
from connect_mcp.tools._base import (
    DeletePlan,
    DeleteTarget,
    GateOutcome,
    Principal,
    ToolHooks,
    ToolInput,
    ToolRuntime,
    ToolSpec,
    add_tool,
    result,
)
from connect_mcp.tools._errors import tool_error
from connect_mcp.tools.accounts import DeleteOutput, account_target, not_confirmed, own_accounts


class DeleteUserInput(ToolInput):
    """No arguments: the user is the session's own."""


async def _user_is_gone(rt: ToolRuntime, user: str) -> bool | None:
    """Whether `user` no longer exists in Connect; None when that cannot be told."""
    try:
        page = await rt.client.list_users(q=user, limit=100)
    except ConnectError:
        return None
    if page.page_info.end_cursor:  # more matches than one page: cannot tell for sure
        return None
    return all(u.external_id != user for u in page.data)


def register(mcp: MCPServer, hooks: ToolHooks) -> None:
    async def plan_delete_user(
        principal: Annotated[Principal, Resolve(hooks.writer)],
        rt: Annotated[ToolRuntime, Resolve(hooks.runtime)],
    ) -> DeletePlan:
        accounts = await own_accounts(rt, principal.user)
        return DeletePlan(
            tool="delete_user",
            headline=(
                f"Delete end user '{principal.user}' and all {len(accounts)} of their "
                "connected account(s)?"
            ),
            targets=(
                DeleteTarget("user", principal.user, f"end user '{principal.user}'"),
                *(account_target(a) for a in accounts),
            ),
            user=principal.user,
            reload=lambda: plan_delete_user(principal, rt),
        )

    async def delete_user(
        args: DeleteUserInput, plan: DeletePlan, outcome: GateOutcome, rt: ToolRuntime
    ) -> CallToolResult:
        if not outcome.proceed:
            return result(not_confirmed(plan, outcome))
        ids = [t.id for t in plan.targets]
        try:
            await rt.client.delete_user(plan.user)
        except NotFoundError:
            return result(
                DeleteOutput(
                    deleted=True,
                    confirmation=outcome.decision,
                    deleted_ids=[],
                    not_deleted_ids=[],
                    message=f"End user '{plan.user}' had no record; nothing left to delete.",
                )
            )
        except (UpstreamError, ConnectTimeoutError) as exc:
            # The answer was lost (5xx, timeout, broken connection) but the delete may have
            # been applied: look again instead of claiming it failed.
            gone = await _user_is_gone(rt, plan.user)
            if gone is None:
                raise tool_error(exc, "delete the user", may_have_run=True) from exc
            if not gone:
                raise tool_error(exc, "delete the user") from exc
        except ConnectError as exc:
            raise tool_error(exc, "delete the user") from exc
        return result(
            DeleteOutput(
                deleted=True,
                confirmation=outcome.decision,
                deleted_ids=ids,
                not_deleted_ids=[],
                message=(
                    f"Deleted end user '{plan.user}' and their {len(ids) - 1} connected "
                    "account(s). This session's user no longer exists in Connect."
                ),
            )
        )

    add_tool(
        mcp,
        ToolSpec(
            name="delete_user",
            title="Delete user",
            description=(
                "Delete this session's end user and all their accounts (e.g. they left your "
                "product), only if a person, shown everything, confirms; otherwise nothing is "
                "deleted."
            ),
            input_model=DeleteUserInput,
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
        delete_user,
        {
            "plan": Annotated[DeletePlan, Resolve(plan_delete_user)],
            "outcome": Annotated[GateOutcome, Resolve(hooks.gate(plan_delete_user))],
            "rt": Annotated[ToolRuntime, Resolve(hooks.runtime)],
        },
    )
