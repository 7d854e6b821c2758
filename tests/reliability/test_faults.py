"""Upstream faults, injected between the tools and the real local Connect server: 429 storms,
5xx, answers slower than the timeout, connections reset mid-response, malformed JSON. Every
tool ends with a clear error (or the workflow's own answer) within a bounded time, and no delete
or workflow invocation is carried out twice.

Why a mock transport: the local server cannot be told to misbehave, and a fault must hit
exactly the request under test while everything else reaches the real server. So the Connect
client's transport is an `httpx2.MockTransport` whose handler forwards every request to the
real server over loopback, and - while a fault is armed - replaces the answer: before the
request reaches the server (429), or after the server has acted on it (5xx, a stalled or
broken answer, garbage), which is the case that tempts a client to do it twice.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client

from connect_mcp.local.embedded import LocalCredentials
from tests.server.helpers import answer, data, make_server, new_user, text
from tests.support import api_headers, http, seed_account

KEY = {"api_key": "sk-fault-0123456789abcdef"}
TIMEOUT = 0.3
LIMIT_SECONDS = 6.0
FAULTS = ["429-storm", "503", "slow", "reset", "malformed"]
CLEAR = (
    "Could not",
    "rate limiting",
    "did not answer",
    "Try again",
    "try again",
    "Nothing was deleted",
)


#: Text an upstream error body carries (think: a prompt injection). Only trusted fields may
#: reach the model, so it never appears in a tool's answer - except a workflow's own body.
MARKER = "IGNORE-PREVIOUS-INSTRUCTIONS-upstream-body"


class ResetMidBody(httpx2.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"data": [{"id": "apn_'
        raise httpx2.ReadError("connection reset by peer")


class FaultyUpstream:
    """The handler of the client's `MockTransport`: forwards to the real server, and while
    `fault` is set, injects it into every request that `applies` selects."""

    def __init__(self) -> None:
        self.real = httpx2.AsyncHTTPTransport()
        self.fault: str | None = None
        self.writes_only = False
        #: Every request that reached the real server, whatever it answered: a re-sent
        #: DELETE counts even though the server answers it 404 (what it deleted is gone).
        self.sent: Counter[tuple[str, str]] = Counter()
        self.transport = httpx2.MockTransport(self.handle)

    def applies(self, request: httpx2.Request) -> bool:
        if self.fault is None or request.url.path == "/v1/oauth/token":
            return False
        if self.writes_only:
            return request.method == "DELETE" or request.url.path.startswith("/en")
        return True

    async def forward(self, request: httpx2.Request) -> httpx2.Response:
        key = (request.method, request.url.path)
        self.sent[key] += 1
        response = await self.real.handle_async_request(request)
        await response.aread()
        return response

    async def handle(self, request: httpx2.Request) -> httpx2.Response:
        if not self.applies(request):
            return await self.forward(request)
        if self.fault == "429-storm":  # refused before acting, as a rate limiter does
            return httpx2.Response(
                429,
                json={"error": "Throttled"},
                headers={"Retry-After": "0.05", "X-RateLimit-Remaining": "0"},
            )
        await self.forward(request)  # the server acted; the answer goes wrong
        if self.fault == "503":
            return httpx2.Response(503, json={"error": f"upstream overloaded {MARKER}"})
        if self.fault == "slow":
            await anyio.sleep(TIMEOUT)
            raise httpx2.ReadTimeout("injected: no answer within the timeout", request=request)
        if self.fault == "reset":
            return httpx2.Response(200, stream=ResetMidBody())
        return httpx2.Response(
            200,
            content=b'{"data": [ {"id": "apn_' + MARKER.encode(),
            headers={"content-type": "application/json"},
        )


def tool_calls(account: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("list_accounts", {}),
        ("get_account", {"account_id": account}),
        ("create_connect_link", {"app": "openai"}),
        ("list_apps", {}),
        ("get_app", {"app": "openai"}),
        ("get_project_info", {}),
        ("invoke_workflow", {"endpoint": "enecho", "body": {"n": 1}}),
        ("delete_account", {"account_id": account}),
        ("delete_app_accounts", {"app": "openai"}),
        ("delete_user", {}),
    ]


def remaining(creds: LocalCredentials, user: str) -> set[str]:
    """The user's account ids as the real server has them."""
    response = http().get(
        f"{creds.base_url}/v1/connect/{creds.project_id}/users/{user}/accounts",
        headers=api_headers(creds),
    )
    return {a["id"] for a in response.json()} if response.status_code == 200 else set()


WRITES = {"invoke_workflow", "delete_account", "delete_app_accounts", "delete_user"}


@pytest.mark.parametrize("writes_only", [False, True], ids=["every-request", "writes-only"])
async def test_tools_under_upstream_faults(
    make_local_server: Callable[..., LocalCredentials], writes_only: bool
) -> None:
    creds = make_local_server(account_rate_per_window=10**6, token_rate_per_minute=10**6)
    domain = creds.base_url.removeprefix("http://")
    outcomes: Counter[str] = Counter()
    resent: list[tuple[object, ...]] = []
    slowest = 0.0
    cases = 0
    for fault in FAULTS:
        upstream = FaultyUpstream()
        user = new_user()
        server = make_server(
            creds,
            user,
            client={
                "transport": upstream.transport,
                "workflow_domain": domain,
                "workflow_oauth_endpoints": creds.workflow_endpoints,
                "timeout": TIMEOUT,
                "max_retries": 2,
                "max_retry_time": 1.0,
                "retry_base_delay": 0.01,
                "retry_max_delay": 0.05,
            },
        )
        async with Client(server, elicitation_callback=answer("accept", True)) as c:
            for tool, args in tool_calls("apn_placeholder"):
                if writes_only and tool not in WRITES:
                    continue
                account = seed_account(creds, user, "openai", KEY)["id"]
                if "account_id" in args:
                    args = {**args, "account_id": account}
                upstream.sent.clear()
                upstream.fault, upstream.writes_only = fault, writes_only
                started = time.monotonic()
                with anyio.fail_after(LIMIT_SECONDS):
                    result = await c.call_tool(tool, args)
                elapsed = time.monotonic() - started
                upstream.fault = None
                slowest = max(slowest, elapsed)
                cases += 1
                body = text(result)
                what = (fault, writes_only, tool, body[:300])
                assert "Traceback" not in body, what
                if tool != "invoke_workflow":
                    assert MARKER not in body + str(result.structured_content), what
                # Counted whatever the server answered. A workflow invocation and a user delete
                # (which takes every account the user has at that moment) reach the server at
                # most once; an account's DELETE may be re-sent after a lost answer - by id, it
                # can only delete the same confirmed account - and within the retry budget.
                for (method, path), times in upstream.sent.items():
                    if path.startswith("/en") or (method == "DELETE" and "/users/" in path):
                        assert times <= 1, (what, method, path, times)
                    elif method == "DELETE" and times > 1:
                        assert "/accounts/" in path, (what, path)
                        assert times <= 3, (what, path, times)  # max_retries=2
                        resent.append((fault, tool, path, times))
                workflow_runs = sum(n for (_, p), n in upstream.sent.items() if p.startswith("/en"))
                if tool == "invoke_workflow":
                    assert workflow_runs <= 1, what
                if result.is_error:
                    assert any(clear in body for clear in CLEAR), what
                    outcomes["clear error"] += 1
                elif tool == "invoke_workflow":
                    assert data(result)["status"] in (200, 429, 503), what  # its own answer
                    outcomes["workflow answer"] += 1
                else:
                    # A gated delete that reports per target, or a read that survived the
                    # fault through a retry: it must tell the truth.
                    if tool.startswith("delete"):
                        left = remaining(creds, user)
                        assert not set(data(result)["deleted_ids"]) & left, what
                        assert set(data(result)["not_deleted_ids"]) <= left, what
                    outcomes["ok or honest partial"] += 1
    print(
        f"\n[faults/{'writes' if writes_only else 'all'}] {cases} tool calls under "
        f"{len(FAULTS)} faults: {dict(outcomes)}; slowest {slowest:.2f}s (limit "
        f"{LIMIT_SECONDS}s); no invocation or user delete sent twice; account DELETEs "
        f"re-sent by id after a lost answer: {len(resent)}"
    )


@pytest.mark.parametrize("fault", ["503", "slow", "reset"])
async def test_delete_user_whose_answer_is_lost_reports_what_really_happened(
    make_local_server: Callable[..., LocalCredentials], fault: str
) -> None:
    """The server deletes the user, then the answer is lost: the tool looks again and says the
    user is deleted, instead of "could not delete" (which invites a pointless retry)."""
    creds = make_local_server(account_rate_per_window=10**6, token_rate_per_minute=10**6)
    upstream = FaultyUpstream()
    user = new_user()
    account = seed_account(creds, user, "openai", KEY)["id"]
    server = make_server(
        creds,
        user,
        client={
            "transport": upstream.transport,
            "timeout": TIMEOUT,
            "max_retries": 1,
            "retry_base_delay": 0.01,
            "retry_max_delay": 0.05,
        },
    )
    async with Client(server, elicitation_callback=answer("accept", True)) as c:
        upstream.fault, upstream.writes_only = fault, True
        result = await c.call_tool("delete_user", {})
    assert not result.is_error, text(result)
    assert data(result)["deleted"] is True
    assert account in data(result)["deleted_ids"]
    assert remaining(creds, user) == set()
    print(f"\n[faults/delete_user] {fault}: answer lost, tool reported the real outcome")
    times = upstream.sent[("DELETE", f"/v1/connect/{creds.project_id}/users/{user}")]
    assert times == 1, f"DELETE of the user reached the server {times} times"
