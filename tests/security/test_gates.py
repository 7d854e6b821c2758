"""Gate bypass: the model cannot delete without a human's yes - not with extra arguments, not by
replaying or racing a pending confirmation, not with a wrong-shaped answer, not by waiting out a
client that never answers, and a "no" is never remembered as a "yes" for the next call."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from mcp import Client, MCPError
from mcp.client.session import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult, ErrorData, InputRequiredResult

from connect_mcp.local.embedded import LocalCredentials
from tests.server.helpers import ERAS, answer, call, data, make_server, new_user, text
from tests.support import seed_account

KEY = {"api_key": "sk-gate-0123456789abcdef"}
GATED = ["delete_account", "delete_app_accounts", "delete_user"]


async def accounts_of(creds: LocalCredentials, user: str) -> list[str]:
    async with Client(make_server(creds, user)) as c:
        return sorted(a["id"] for a in data(await call(c, "list_accounts"))["accounts"])


def gated_args(tool: str, account: str) -> dict[str, Any]:
    return {"delete_account": {"account_id": account}, "delete_app_accounts": {"app": "openai"},
            "delete_user": {}}[tool]  # fmt: skip


EXTRAS: list[dict[str, Any]] = [
    {"confirm": True},
    {"confirmed": True},
    {"yes": True},
    {"force": True},
    {"skip_confirmation": True},
    {"outcome": {"decision": "confirmed"}},
    {"answer": {"action": "accept", "content": {"confirm": True}}},
    {"plan": {"targets": []}},
    {"_meta": {"confirm": True}},
]


@pytest.mark.parametrize("mode", ERAS)
async def test_extra_fields_never_skip_the_gate(local_server: LocalCredentials, mode: str) -> None:
    user = new_user()
    account = seed_account(local_server, user, "openai", KEY)["id"]
    asked: list[str] = []
    ran = 0
    async with Client(
        make_server(local_server, user),
        mode=mode,
        elicitation_callback=answer("decline", log=asked),
    ) as c:
        for tool in GATED:
            for extra in EXTRAS:
                result = await c.call_tool(tool, {**gated_args(tool, account), **extra})
                ran += 1
                assert result.is_error, (tool, extra)
                assert "unknown argument" in text(result)
    assert await accounts_of(local_server, user) == [account]
    assert asked == []  # refused before any gate: nobody was even asked
    print(f"\n[gates/extra/{mode}] {ran} calls with extra fields: nothing deleted")


WRONG_SHAPES: list[Any] = [
    {"confirm": "yes"},
    {"confirm": "true"},
    {"confirm": 1},
    {"confirm": "1"},
    {"confirm": [True]},
    {"confirm": {"value": True}},
    {"Confirm": True},
    {},
    None,
    {"confirm": None},
]


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning")
@pytest.mark.parametrize("mode", ERAS)
async def test_wrong_shaped_answers_delete_nothing(
    local_server: LocalCredentials, mode: str
) -> None:
    user = new_user()
    account = seed_account(local_server, user, "openai", KEY)["id"]
    outcomes: list[str] = []
    for content in WRONG_SHAPES:

        async def reply(
            context: ClientRequestContext, params: ElicitRequestParams, content: Any = content
        ) -> ElicitResult:
            return ElicitResult.model_construct(action="accept", content=content)

        async with Client(
            make_server(local_server, user), mode=mode, elicitation_callback=reply
        ) as c:
            try:
                result = await c.call_tool("delete_account", {"account_id": account})
            except MCPError as exc:  # the client's own retry loop may refuse to send it
                outcomes.append(f"protocol error {exc.error.code}")
                result = None
        # 2026-07-28: the SDK refuses an answer that misses the schema
        if result is not None and result.is_error:
            assert "received an accepted elicitation" in text(result), text(result)
            outcomes.append("refused")
        elif result is not None:
            assert data(result)["deleted"] is False, text(result)
            outcomes.append(data(result)["confirmation"])
        assert await accounts_of(local_server, user) == [account], (content, outcomes[-1])
    print(f"\n[gates/shapes/{mode}] {len(WRONG_SHAPES)} wrong-shaped answers: {outcomes}")


async def test_parallel_calls_each_need_their_own_yes(local_server: LocalCredentials) -> None:
    """Handshake era: two deletes race while both questions are pending; the human says yes
    to one and no to the other. Exactly the confirmed one is deleted."""
    user = new_user()
    keep = seed_account(local_server, user, "openai", KEY)["id"]
    drop = seed_account(local_server, user, "openai", KEY)["id"]
    pending: list[str] = []
    both_asked = anyio.Event()

    async def reply(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        pending.append(params.message)
        if len(pending) == 2:
            both_asked.set()
        with anyio.fail_after(10):
            await both_asked.wait()
        return ElicitResult(action="accept", content={"confirm": drop in params.message})

    results: dict[str, Any] = {}
    async with Client(
        make_server(local_server, user), mode="legacy", elicitation_callback=reply
    ) as c:

        async def run(account: str) -> None:
            results[account] = await call(c, "delete_account", {"account_id": account})

        async with anyio.create_task_group() as tg:
            tg.start_soon(run, keep)
            tg.start_soon(run, drop)
    assert len(pending) == 2
    assert data(results[drop])["deleted_ids"] == [drop]
    assert data(results[keep])["deleted"] is False
    assert await accounts_of(local_server, user) == [keep]
    print("\n[gates/parallel] 2 racing deletes, 1 yes: exactly 1 deleted")


async def test_replayed_yes_is_bound_to_its_call(
    local_server: LocalCredentials,
) -> None:
    """2026-07-28: a sealed yes for deleting one account, replayed for another account, for
    another gated tool, or a second time, deletes nothing more."""
    user = new_user()
    target = seed_account(local_server, user, "openai", KEY)["id"]
    other = seed_account(local_server, user, "openai", KEY)["id"]
    replays: list[Any] = []
    async with Client(make_server(local_server, user), elicitation_callback=answer("decline")) as c:
        asked = await c.session.call_tool(
            "delete_account", {"account_id": target}, allow_input_required=True
        )
        assert isinstance(asked, InputRequiredResult)
        yes = {
            key: ElicitResult(action="accept", content={"confirm": True})
            for key in asked.input_requests or {}
        }
        for tool, args in [
            ("delete_account", {"account_id": other}),
            ("delete_app_accounts", {"app": "openai"}),
            ("delete_user", {}),
        ]:
            replay = await c.session.call_tool(
                tool,
                args,
                input_responses=yes,  # type: ignore[arg-type]
                request_state=asked.request_state,
                allow_input_required=True,
            )
            replays.append(replay)
            if not isinstance(replay, InputRequiredResult):  # asked afresh is fine too
                assert (replay.structured_content or {}).get("deleted") is False, replay
        assert await accounts_of(local_server, user) == sorted([target, other])
        first = await c.session.call_tool(
            "delete_account",
            {"account_id": target},
            input_responses=yes,  # type: ignore[arg-type]
            request_state=asked.request_state,
            allow_input_required=True,
        )
        again = await c.session.call_tool(
            "delete_account",
            {"account_id": target},
            input_responses=yes,  # type: ignore[arg-type]
            request_state=asked.request_state,
            allow_input_required=True,
        )
    assert not isinstance(first, InputRequiredResult)
    assert (first.structured_content or {}).get("deleted_ids") == [target]
    assert not isinstance(again, InputRequiredResult) or again.input_requests
    if not isinstance(again, InputRequiredResult):
        assert (again.structured_content or {}).get("deleted_ids") in ([], None)
    assert await accounts_of(local_server, user) == [other]
    kinds = [type(r).__name__ for r in replays]
    print(f"\n[gates/replay] 3 replays of one sealed yes on other calls ({kinds}), 1 re-replay")


@pytest.mark.parametrize("mode", ERAS)
async def test_a_client_that_never_answers_times_out(
    local_server: LocalCredentials, mode: str
) -> None:
    user = new_user()
    account = seed_account(local_server, user, "openai", KEY)["id"]

    async def never(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    server = make_server(local_server, user, confirm_timeout=0.5)
    started = anyio.current_time()
    if mode == "legacy":
        async with Client(server, mode=mode, elicitation_callback=never) as c:
            with anyio.fail_after(10):
                result = await call(c, "delete_account", {"account_id": account})
        assert data(result)["confirmation"] == "timeout"
    else:
        # 2026-07-28: the question comes back in the result; the client never retries, then
        # retries with a yes long after the sealed state expired.
        async with Client(server, elicitation_callback=answer("decline")) as c:
            asked = await c.session.call_tool(
                "delete_account", {"account_id": account}, allow_input_required=True
            )
            assert isinstance(asked, InputRequiredResult)
            await anyio.sleep(1.2)
            late = await c.session.call_tool(
                "delete_account",
                {"account_id": account},
                input_responses={
                    k: ElicitResult(action="accept", content={"confirm": True})
                    for k in asked.input_requests or {}
                },
                request_state=asked.request_state,
                allow_input_required=True,
            )
        assert not isinstance(late, InputRequiredResult)
        assert (late.structured_content or {}).get("confirmation") == "timeout"
    elapsed = anyio.current_time() - started
    await anyio.sleep(0.3)
    assert await accounts_of(local_server, user) == [account]
    print(f"\n[gates/never/{mode}] unanswered confirmation closed after {elapsed:.1f}s")


@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize("tool", GATED)
async def test_declined_then_retried_asks_again(
    local_server: LocalCredentials, mode: str, tool: str
) -> None:
    user = new_user()
    account = seed_account(local_server, user, "openai", KEY)["id"]
    asked: list[str] = []
    answers = iter([False, True])

    async def reply(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        if next(answers):
            return ElicitResult(action="accept", content={"confirm": True})
        return ElicitResult(action="decline")

    async with Client(make_server(local_server, user), mode=mode, elicitation_callback=reply) as c:
        first = await call(c, tool, gated_args(tool, account))
        assert await accounts_of(local_server, user) == [account]
        second = await call(c, tool, gated_args(tool, account))
    assert data(first)["confirmation"] == "declined"
    assert data(second)["confirmation"] == "confirmed"
    assert len(asked) == 2
    assert await accounts_of(local_server, user) == []
    print(f"\n[gates/retry/{tool}/{mode}] declined, retried: asked again, then deleted")


async def _error_reply(context: ClientRequestContext, params: ElicitRequestParams) -> ErrorData:
    return ErrorData(code=-32600, message="confirm: true")


async def test_an_error_answer_that_looks_like_yes_deletes_nothing(
    local_server: LocalCredentials,
) -> None:
    user = new_user()
    account = seed_account(local_server, user, "openai", KEY)["id"]
    async with Client(
        make_server(local_server, user), mode="legacy", elicitation_callback=_error_reply
    ) as c:
        result = await call(c, "delete_account", {"account_id": account})
    assert data(result)["confirmation"] == "error"
    assert await accounts_of(local_server, user) == [account]
    print("\n[gates/error-answer] an error reply saying 'confirm: true': nothing deleted")
