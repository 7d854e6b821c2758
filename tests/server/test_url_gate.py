"""The out-of-band gate (`CONNECT_MCP_CONFIRM=url`): a person confirms on our own page.

Real MCP clients (both eras, in process and over streamable HTTP) whose URL-elicitation
callback hands the URL to a "person": an HTTP client that loads the page and presses a button
exactly as the page's form does in a browser (tests/e2e/test_confirm_page_browser.py does the
same in headless Chromium). The local Connect server is real; every "nothing was deleted" is
checked by listing the accounts again.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext, ClientSession, ElicitationFnT
from mcp.server import MCPServer
from mcp.types import (
    CallToolResult,
    ElicitationCapability,
    ElicitRequestParams,
    ElicitRequestURLParams,
    ElicitResult,
    ErrorData,
    FormElicitationCapability,
    InputRequiredResult,
    InputResponses,
)

from connect_mcp.local.embedded import LocalCredentials
from connect_mcp.server.auth import JWTVerifier
from connect_mcp.server.eras import CONFIRM_KEY
from connect_mcp.server.state import ServerState
from tests.server.helpers import ERAS, data, loopback_socket, make_server, new_user, serving, text
from tests.server.test_http import CONFIG, client, token
from tests.support import seed_account

KEY = {"api_key": "sk-test-0123456789abcdef"}
PAGE_TOKEN = re.compile(r'name="page_token" value="([^"]+)"')
Decision = Literal["confirm", "cancel"]
Callback = ElicitationFnT


# --- the person and the server --------------------------------------------------------------


def origin_of(url: str) -> str:
    return url.split("/confirm/")[0]


async def open_page(url: str) -> tuple[httpx2.Response, str | None]:
    """GET the page like a browser; returns the response and the form's anti-forgery value."""
    async with httpx2.AsyncClient(timeout=10) as http:
        page = await http.get(url)
    found = PAGE_TOKEN.search(page.text)
    return page, found.group(1) if found else None


async def press(
    url: str,
    decision: Decision,
    *,
    token: str | None = None,
    origin: str | None = None,
    headers: dict[str, str] | None = None,
) -> int:
    """Submit the page's form (loading the page first unless a token is given)."""
    if token is None:
        _, token = await open_page(url)
        assert token is not None, "the page has no form"
    async with httpx2.AsyncClient(timeout=10) as http:
        answer = await http.post(
            url,
            data={"page_token": token, "decision": decision},
            headers={"origin": origin or origin_of(url), **(headers or {})},
        )
    return answer.status_code


def url_server(creds: LocalCredentials, user: str, **config: Any) -> MCPServer[ServerState]:
    config.setdefault("confirm_progress_interval", 0.05)
    return make_server(creds, user, confirm="url", **config)


def person(
    decision: Decision | None, seen: list[ElicitRequestURLParams], *, action: str = "accept"
) -> Callback:
    """The client's URL-elicitation callback: show the page to a person who presses
    `decision` (or nobody, for None), then tell the server the page was offered."""

    async def callback(
        context: ClientRequestContext, params: ElicitRequestParams
    ) -> ElicitResult | ErrorData:
        assert isinstance(params, ElicitRequestURLParams), "the url policy never asks a form"
        seen.append(params)
        if decision is not None:
            assert await press(params.url, decision) == 303
        return ElicitResult(action=action)

    return callback


async def accounts(creds: LocalCredentials, user: str) -> list[str]:
    async with Client(make_server(creds, user)) as client:
        result = await client.call_tool("list_accounts", {})
    return sorted(a["id"] for a in data(result)["accounts"])


def assert_not_deleted(result: CallToolResult, decision: str) -> None:
    assert not result.is_error, text(result)
    assert data(result)["deleted"] is False
    assert data(result)["deleted_ids"] == []
    assert data(result)["confirmation"] == decision, text(result)
    assert text(result).startswith("Nothing was deleted")


def assert_url_not_in(result: CallToolResult, seen: list[ElicitRequestURLParams]) -> None:
    """The page's address (the capability) never reaches the model."""
    shown = text(result) + json.dumps(result.structured_content)
    for params in seen:
        assert params.url not in shown
        assert params.url.rsplit("/", 1)[1] not in shown


# --- the decision is the person's, on the page ----------------------------------------------


@pytest.mark.parametrize("mode", ERAS)
async def test_confirm_on_the_page_deletes_exactly_the_shown_account(
    local_server: LocalCredentials, mode: str
) -> None:
    user = new_user()
    target = seed_account(local_server, user, "openai", KEY, name="Team key")["id"]
    other = seed_account(local_server, user, "openai", KEY)["id"]
    seen: list[ElicitRequestURLParams] = []
    server = url_server(local_server, user)
    async with Client(server, mode=mode, elicitation_callback=person("confirm", seen)) as c:
        result = await c.call_tool("delete_account", {"account_id": target})
    assert not result.is_error, text(result)
    assert data(result)["deleted_ids"] == [target]
    assert data(result)["confirmation"] == "confirmed"
    assert await accounts(local_server, user) == [other]
    [params] = seen
    assert params.url.startswith("http://127.0.0.1:")
    assert "/confirm/" in params.url
    assert user in params.message
    assert "confirmation page" in params.message
    assert_url_not_in(result, seen)


@pytest.mark.parametrize("mode", ERAS)
async def test_cancel_on_the_page_deletes_nothing(
    local_server: LocalCredentials, mode: str
) -> None:
    user = new_user()
    target = seed_account(local_server, user, "openai", KEY)["id"]
    seen: list[ElicitRequestURLParams] = []
    server = url_server(local_server, user)
    async with Client(server, mode=mode, elicitation_callback=person("cancel", seen)) as c:
        result = await c.call_tool("delete_account", {"account_id": target})
        page, token = await open_page(seen[0].url)
    assert_not_deleted(result, "cancelled")
    assert "cancelled on the page" in text(result)
    assert await accounts(local_server, user) == [target]
    assert token is None
    assert "Cancelled: nothing was deleted" in page.text


@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_a_client_that_does_not_offer_the_page_deletes_nothing(
    local_server: LocalCredentials, mode: str, action: str
) -> None:
    user = new_user()
    target = seed_account(local_server, user, "openai", KEY)["id"]
    seen: list[ElicitRequestURLParams] = []
    callback = person(None, seen, action=action)
    async with Client(
        url_server(local_server, user), mode=mode, elicitation_callback=callback
    ) as c:
        result = await c.call_tool("delete_account", {"account_id": target})
        # The page can no longer confirm anything.
        page, token = await open_page(seen[0].url)
    assert_not_deleted(result, "declined" if action == "decline" else "cancelled")
    assert token is None
    assert "Cancelled: nothing was deleted" in page.text
    assert await accounts(local_server, user) == [target]


@pytest.mark.parametrize("mode", ERAS)
async def test_a_form_yes_from_the_client_is_not_a_confirmation(
    local_server: LocalCredentials, mode: str
) -> None:
    """A client (or agent) answering "accept, confirm: true" without a person on the page."""
    user = new_user()
    target = seed_account(local_server, user, "openai", KEY)["id"]

    async def says_yes(
        context: ClientRequestContext, params: ElicitRequestParams
    ) -> ElicitResult | ErrorData:
        return ElicitResult(action="accept", content={"confirm": True})

    server = url_server(local_server, user, confirm_expiry=0.6)
    async with Client(server, mode=mode, elicitation_callback=says_yes) as c:
        with anyio.fail_after(10):
            result = await c.call_tool("delete_account", {"account_id": target})
    assert_not_deleted(result, "expired")
    assert await accounts(local_server, user) == [target]


# --- forged, late, replayed, changed ----------------------------------------------------------


@pytest.mark.parametrize("mode", ERAS)
async def test_forged_posts_and_page_views_change_nothing(
    local_server: LocalCredentials, mode: str
) -> None:
    user = new_user()
    target = seed_account(local_server, user, "openai", KEY)["id"]
    statuses: dict[str, int] = {}

    async def attacker(
        context: ClientRequestContext, params: ElicitRequestParams
    ) -> ElicitResult | ErrorData:
        assert isinstance(params, ElicitRequestURLParams)
        url = params.url
        async with httpx2.AsyncClient(timeout=10) as http:
            for _ in range(3):  # viewing never decides
                assert (await http.get(url)).status_code == 200
                assert (await http.head(url)).status_code == 200
        _, token = await open_page(url)
        assert token is not None
        statuses["no token"] = await press(url, "confirm", token="")
        statuses["made-up token"] = await press(url, "confirm", token="A" * 32)
        statuses["other site"] = await press(
            url, "confirm", token=token, origin="https://evil.example"
        )
        statuses["opaque origin"] = await press(url, "confirm", token=token, origin="null")
        statuses["cross-site fetch"] = await press(
            url, "confirm", token=token, headers={"sec-fetch-site": "cross-site"}
        )
        async with httpx2.AsyncClient(timeout=10) as http:
            json_post = await http.post(
                url,
                json={"page_token": token, "decision": "confirm"},
                headers={"origin": origin_of(url)},
            )
            statuses["json body"] = json_post.status_code
            huge = await http.post(
                url,
                content=b"decision=confirm&page_token=" + token.encode() + b"&x=" + b"a" * 5000,
                headers={
                    "origin": origin_of(url),
                    "content-type": "application/x-www-form-urlencoded",
                },
            )
            statuses["oversized body"] = huge.status_code
            statuses["other id"] = (await http.get(url[:-4] + "AAAA")).status_code
        _, still = await open_page(url)
        assert still is not None, "after all that the confirmation is still pending"
        return ElicitResult(action="accept")

    server = url_server(local_server, user, confirm_expiry=2.0)
    async with Client(server, mode=mode, elicitation_callback=attacker) as c:
        with anyio.fail_after(15):
            result = await c.call_tool("delete_account", {"account_id": target})
    assert statuses == {
        "no token": 403,
        "made-up token": 403,
        "other site": 403,
        "opaque origin": 403,
        "cross-site fetch": 403,
        "json body": 400,
        "oversized body": 413,
        "other id": 404,
    }
    assert_not_deleted(result, "expired")
    assert await accounts(local_server, user) == [target]


@pytest.mark.parametrize("mode", ERAS)
async def test_a_confirmation_after_expiry_deletes_nothing(
    local_server: LocalCredentials, mode: str
) -> None:
    user = new_user()
    target = seed_account(local_server, user, "openai", KEY)["id"]
    tokens: list[tuple[str, str | None]] = []

    async def opens_the_page_and_walks_away(
        context: ClientRequestContext, params: ElicitRequestParams
    ) -> ElicitResult | ErrorData:
        assert isinstance(params, ElicitRequestURLParams)
        _, token = await open_page(params.url)
        tokens.append((params.url, token))
        return ElicitResult(action="accept")

    server = url_server(local_server, user, confirm_expiry=0.5)
    callback = opens_the_page_and_walks_away
    async with Client(server, mode=mode, elicitation_callback=callback) as c:
        with anyio.fail_after(10):
            result = await c.call_tool("delete_account", {"account_id": target})
        [(url, token)] = tokens
        late = await press(url, "confirm", token=token)  # back after the page expired
        page, _ = await open_page(url)
    assert late == 409
    assert "expired" in page.text
    assert_not_deleted(result, "expired")
    assert await accounts(local_server, user) == [target]


async def test_a_replayed_confirmation_deletes_nothing(local_server: LocalCredentials) -> None:
    """2026-07-28: the confirmation travels in sealed request state; replaying that state
    after it was used finds the confirmation spent - even for the same tool and arguments."""
    user = new_user()
    first = seed_account(local_server, user, "slack", {"oauth_access_token": "xoxb-0123456789"})
    args = {"app": "slack"}
    # The callback only declares URL elicitation; this test drives the rounds itself.
    async with Client(url_server(local_server, user), elicitation_callback=person(None, [])) as c:
        round_one = await c.session.call_tool(
            "delete_app_accounts", args, allow_input_required=True
        )
        assert isinstance(round_one, InputRequiredResult)
        assert round_one.input_requests is not None
        assert round_one.request_state is not None
        request = round_one.input_requests[CONFIRM_KEY]
        assert isinstance(request.params, ElicitRequestURLParams)
        assert await press(request.params.url, "confirm") == 303
        opened: InputResponses = {CONFIRM_KEY: ElicitResult(action="accept")}
        done = await c.call_tool(
            "delete_app_accounts",
            args,
            input_responses=opened,
            request_state=round_one.request_state,
        )
        assert data(done)["deleted_ids"] == [first["id"]]
        again = seed_account(local_server, user, "slack", {"oauth_access_token": "xoxb-9876543210"})
        replay = await c.call_tool(
            "delete_app_accounts",
            args,
            input_responses=opened,
            request_state=round_one.request_state,
        )
    assert_not_deleted(replay, "invalid")
    assert "already used" in text(replay)
    assert await accounts(local_server, user) == [again["id"]]


@pytest.mark.parametrize("mode", ERAS)
async def test_targets_that_changed_after_the_page_was_shown_are_not_deleted(
    local_server: LocalCredentials, mode: str
) -> None:
    user = new_user()
    shown = seed_account(local_server, user, "openai", KEY)["id"]
    added: list[str] = []

    async def person_while_an_account_is_added(
        context: ClientRequestContext, params: ElicitRequestParams
    ) -> ElicitResult | ErrorData:
        assert isinstance(params, ElicitRequestURLParams)
        page, token = await open_page(params.url)
        assert shown in page.text
        account = await anyio.to_thread.run_sync(
            lambda: seed_account(local_server, user, "openai", KEY)
        )
        added.append(account["id"])
        assert await press(params.url, "confirm", token=token) == 303
        return ElicitResult(action="accept")

    server = url_server(local_server, user)
    callback = person_while_an_account_is_added
    async with Client(server, mode=mode, elicitation_callback=callback) as c:
        result = await c.call_tool("delete_app_accounts", {"app": "openai"})
    assert_not_deleted(result, "changed")
    assert await accounts(local_server, user) == sorted([shown, *added])


# --- sessions, capabilities, progress -------------------------------------------------------


async def test_a_confirmation_from_another_session_deletes_nothing(
    local_server: LocalCredentials,
) -> None:
    """Over HTTP with bearer tokens: the state and confirmation minted for one token are
    refused with another token of the same user, and (by the SDK's principal binding) with
    another user's token; the original caller can still use it afterwards."""
    user = new_user()
    target = seed_account(local_server, user, "openai", KEY)["id"]
    sock = loopback_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = make_server(
        local_server,
        None,
        verifier=JWTVerifier(CONFIG),
        confirm="url",
        confirm_page_url=base,
        confirm_progress_interval=0.05,
    )
    args = {"account_id": target}
    opened: InputResponses = {CONFIRM_KEY: ElicitResult(action="accept")}
    async with serving(server.streamable_http_app(host="127.0.0.1"), sock) as url:
        mine = token(user)
        async with client(url, mine, elicitation_callback=person(None, [])) as c:
            round_one = await c.session.call_tool("delete_account", args, allow_input_required=True)
        assert isinstance(round_one, InputRequiredResult)
        assert round_one.input_requests
        params = round_one.input_requests[CONFIRM_KEY].params
        assert isinstance(params, ElicitRequestURLParams)
        assert params.url.startswith(base + "/confirm/")  # served by the MCP HTTP app itself
        assert await press(params.url, "confirm") == 303  # a browser has no bearer token
        state = round_one.request_state
        async with client(url, token(user), elicitation_callback=person(None, [])) as other_session:
            stolen = await other_session.call_tool(
                "delete_account",
                args,
                input_responses=opened,
                request_state=state,
            )
        assert_not_deleted(stolen, "invalid")
        assert "another session" in text(stolen)
        async with client(
            url, token(new_user()), elicitation_callback=person(None, [])
        ) as other_user:
            # The SDK refuses state sealed for another principal; for a gated tool that is
            # the ordinary "nothing was deleted" answer (guard.expired_confirmation).
            foreign = await other_user.call_tool(
                "delete_account",
                args,
                input_responses=opened,
                request_state=state,
            )
        assert_not_deleted(foreign, "timeout")
        assert await accounts(local_server, user) == [target]
        async with client(url, mine, elicitation_callback=person(None, [])) as c:
            done = await c.call_tool(
                "delete_account",
                args,
                input_responses=opened,
                request_state=state,
            )
    assert data(done)["deleted_ids"] == [target]
    assert await accounts(local_server, user) == []


@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize("client_kind", ["no elicitation", "form only"])
async def test_a_client_without_url_elicitation_is_refused(
    local_server: LocalCredentials,
    mode: str,
    client_kind: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = new_user()
    target = seed_account(local_server, user, "openai", KEY)["id"]
    callback: Callback | None = None
    if client_kind == "form only":
        callback = person("confirm", [])
        # A mock, because no real part produces this case: the SDK's client always declares
        # both modes when it has a callback; other clients declare form only.
        build = ClientSession._build_capabilities

        def form_only(self: ClientSession, version: str) -> Any:
            caps = build(self, version)
            form = ElicitationCapability(form=FormElicitationCapability())
            return caps.model_copy(update={"elicitation": form})

        monkeypatch.setattr(ClientSession, "_build_capabilities", form_only)
    server = url_server(local_server, user)
    async with Client(server, mode=mode, elicitation_callback=callback) as c:
        result = await c.call_tool("delete_account", {"account_id": target})
    assert result.is_error
    assert "URL-mode elicitation" in text(result)
    assert "CONNECT_MCP_CONFIRM=elicit" in text(result)
    assert await accounts(local_server, user) == [target]


@pytest.mark.parametrize("mode", ERAS)
async def test_waiting_for_the_person_sends_progress(
    local_server: LocalCredentials, mode: str
) -> None:
    user = new_user()
    target = seed_account(local_server, user, "openai", KEY)["id"]
    seen_progress: list[tuple[float, float | None, str | None]] = []

    async def later(
        context: ClientRequestContext, params: ElicitRequestParams
    ) -> ElicitResult | ErrorData:
        assert isinstance(params, ElicitRequestURLParams)
        _, token = await open_page(params.url)

        async def click() -> None:
            await anyio.sleep(0.5)
            await press(params.url, "confirm", token=token)

        tg.start_soon(click)  # the person decides after the client said "offered"
        return ElicitResult(action="accept")

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen_progress.append((progress, total, message))

    async with (
        anyio.create_task_group() as tg,
        Client(url_server(local_server, user), mode=mode, elicitation_callback=later) as c,
    ):
        result = await c.call_tool(
            "delete_account", {"account_id": target}, progress_callback=on_progress
        )
    assert data(result)["deleted_ids"] == [target]
    assert len(seen_progress) >= 2, seen_progress
    values = [p[0] for p in seen_progress]
    assert values == sorted(values)
    assert all(p[1] is not None and p[1] > 0 for p in seen_progress)
    assert all("confirm" in (p[2] or "") for p in seen_progress)


# --- the page itself ----------------------------------------------------------------------


async def test_the_page_shows_exactly_what_will_be_deleted_escaped_and_uncached(
    local_server: LocalCredentials,
) -> None:
    user = new_user()
    name = "<script>alert('x')</script> & \"co\""
    target = seed_account(local_server, user, "openai", KEY, name=name)["id"]
    pages: list[httpx2.Response] = []

    async def look(
        context: ClientRequestContext, params: ElicitRequestParams
    ) -> ElicitResult | ErrorData:
        assert isinstance(params, ElicitRequestURLParams)
        page, _ = await open_page(params.url)
        pages.append(page)
        assert await press(params.url, "cancel") == 303
        return ElicitResult(action="accept")

    async with Client(url_server(local_server, user), elicitation_callback=look) as c:
        result = await c.call_tool("delete_account", {"account_id": target})
    assert_not_deleted(result, "cancelled")
    [page] = pages
    html = page.text
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;co&#34;" in html
    for shown in (target, user, "OpenAI", "Connected account", "Confirm and delete", "Cancel"):
        assert shown in html
    headers = page.headers
    assert headers["cache-control"] == "no-store"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src" not in csp  # no script at all, through default-src 'none'


async def test_every_confirmation_is_audited_without_its_capability(
    local_server: LocalCredentials, captured_logs: Any
) -> None:
    user = new_user()
    target = seed_account(local_server, user, "openai", KEY)["id"]
    seen: list[ElicitRequestURLParams] = []
    callback = person("confirm", seen)
    async with Client(url_server(local_server, user), elicitation_callback=callback) as c:
        result = await c.call_tool("delete_account", {"account_id": target})
    assert data(result)["deleted_ids"] == [target]
    events = [
        json.loads(line)
        for line in captured_logs.getvalue().splitlines()
        if '"confirmation"' in line and line.startswith("{")
    ]
    life = [e["what"] for e in events if e.get("event") == "confirmation"]
    assert life == ["created", "shown", "confirmed", "executed"], life
    assert {e["targets"][0] for e in events if e.get("event") == "confirmation"} == {target}
    confirmation_id = seen[0].url.rsplit("/", 1)[1]
    assert confirmation_id not in captured_logs.getvalue()


@pytest.mark.parametrize("mode", ERAS)
async def test_delete_user_waits_for_the_page_too(
    local_server: LocalCredentials, mode: str
) -> None:
    user = new_user()
    seed_account(local_server, user, "openai", KEY)
    seen: list[ElicitRequestURLParams] = []
    server = url_server(local_server, user)
    async with Client(server, mode=mode, elicitation_callback=person("cancel", seen)) as c:
        kept = await c.call_tool("delete_user", {})
    assert_not_deleted(kept, "cancelled")
    assert len(await accounts(local_server, user)) == 1
    async with Client(server, mode=mode, elicitation_callback=person("confirm", seen)) as c:
        gone = await c.call_tool("delete_user", {})
    assert data(gone)["deleted"] is True, text(gone)
    assert await accounts(local_server, user) == []


# --- what the review found: every path that does not delete ends the confirmation ------------


@pytest.mark.parametrize("mode", ERAS)
async def test_confirmed_on_the_page_but_refused_by_the_client_is_void(
    local_server: LocalCredentials, mode: str
) -> None:
    """The person presses Confirm, then the client answers "decline": nothing is deleted, the
    page says so, and the confirmation can never be used afterwards."""
    user = new_user()
    target = seed_account(local_server, user, "openai", KEY)["id"]
    seen: list[ElicitRequestURLParams] = []
    callback = person("confirm", seen, action="decline")
    async with Client(
        url_server(local_server, user), mode=mode, elicitation_callback=callback
    ) as c:
        result = await c.call_tool("delete_account", {"account_id": target})
        page, token = await open_page(seen[0].url)
    assert_not_deleted(result, "declined")
    assert token is None
    assert "Cancelled: nothing was deleted" in page.text
    assert await accounts(local_server, user) == [target]


async def test_a_declined_round_cannot_be_retried_into_a_delete(
    local_server: LocalCredentials,
) -> None:
    """2026-07-28: after a retry that answered "decline", the same sealed state retried with
    "accept" finds the confirmation ended."""
    user = new_user()
    target = seed_account(local_server, user, "openai", KEY)["id"]
    args = {"account_id": target}
    async with Client(url_server(local_server, user), elicitation_callback=person(None, [])) as c:
        round_one = await c.session.call_tool("delete_account", args, allow_input_required=True)
        assert isinstance(round_one, InputRequiredResult)
        assert round_one.input_requests
        params = round_one.input_requests[CONFIRM_KEY].params
        assert isinstance(params, ElicitRequestURLParams)
        assert await press(params.url, "confirm") == 303
        results = []
        for action in ("decline", "accept"):
            answer: InputResponses = {CONFIRM_KEY: ElicitResult(action=action)}  # type: ignore[arg-type]
            results.append(
                await c.call_tool(
                    "delete_account",
                    args,
                    input_responses=answer,
                    request_state=round_one.request_state,
                )
            )
    assert_not_deleted(results[0], "declined")
    assert_not_deleted(results[1], "cancelled")
    assert await accounts(local_server, user) == [target]


@pytest.mark.parametrize("phase", ["while the client shows the page", "while the call waits"])
async def test_a_call_the_client_gives_up_on_ends_its_page(
    local_server: LocalCredentials, phase: str
) -> None:
    user = new_user()
    target = seed_account(local_server, user, "openai", KEY)["id"]
    urls: list[str] = []

    async def slow_client(
        context: ClientRequestContext, params: ElicitRequestParams
    ) -> ElicitResult | ErrorData:
        assert isinstance(params, ElicitRequestURLParams)
        urls.append(params.url)
        if phase == "while the client shows the page":
            await anyio.sleep(30)
        return ElicitResult(action="accept")

    server = url_server(local_server, user)
    async with Client(server, mode="legacy", elicitation_callback=slow_client) as c:
        with anyio.move_on_after(1.0):  # the client cancels the call (notifications/cancelled)
            await c.call_tool("delete_account", {"account_id": target})
        with anyio.fail_after(5):
            while True:  # the server ends the confirmation when the cancellation arrives
                page, token = await open_page(urls[0])
                if token is None:
                    break
                await anyio.sleep(0.05)
        late = await press(urls[0], "confirm", token="x" * 32)
    assert "Cancelled: nothing was deleted" in page.text
    assert late == 409
    assert await accounts(local_server, user) == [target]


async def test_the_elicitation_id_is_not_the_capability(local_server: LocalCredentials) -> None:
    """Clients log and show elicitation ids; the page's id must not be one of them."""
    user = new_user()
    target = seed_account(local_server, user, "openai", KEY)["id"]
    seen: list[ElicitRequestURLParams] = []
    notices: list[object] = []

    async def on_message(message: object) -> None:
        notices.append(message)

    server = url_server(local_server, user)
    async with Client(
        server,
        mode="legacy",
        elicitation_callback=person("cancel", seen),
        message_handler=on_message,
    ) as c:
        await c.call_tool("delete_account", {"account_id": target})
        await anyio.sleep(0.2)
    [params] = seen
    capability = params.url.rsplit("/", 1)[1]
    assert params.elicitation_id
    assert capability not in params.elicitation_id
    completes = [m for m in notices if type(m).__name__ == "ElicitCompleteNotification"]
    assert len(completes) == 1
    assert completes[0].params.elicitation_id == params.elicitation_id  # type: ignore[attr-defined]
    assert capability not in repr(completes[0])


async def test_pages_answer_only_under_their_own_names(local_server: LocalCredentials) -> None:
    """Behind a TLS proxy (public https address, plain http inside): the page answers under its
    public name and checks the form's Origin against that address - not the request's own
    scheme - and refuses any other Host (a DNS-rebound name)."""
    user = new_user()
    target = seed_account(local_server, user, "openai", KEY)["id"]
    public = "https://confirm.example.com"
    sock = loopback_socket()
    inside = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = make_server(
        local_server,
        user,
        confirm="url",
        confirm_page_url=public,
        public_url=inside,
        confirm_progress_interval=0.05,
    )
    statuses: dict[str, int] = {}

    async def through_the_proxy(
        context: ClientRequestContext, params: ElicitRequestParams
    ) -> ElicitResult | ErrorData:
        assert isinstance(params, ElicitRequestURLParams)
        assert params.url.startswith(public + "/confirm/")
        url = inside + params.url.removeprefix(public)
        proxied = {"host": "confirm.example.com"}
        async with httpx2.AsyncClient(timeout=10) as http:
            statuses["rebound name"] = (
                await http.get(url, headers={"host": "evil.example"})
            ).status_code
            page = await http.get(url, headers=proxied)
            statuses["public name"] = page.status_code
            found = PAGE_TOKEN.search(page.text)
            assert found is not None
            form = {"page_token": found[1], "decision": "confirm"}
            statuses["post from the inside scheme"] = (
                await http.post(
                    url, data=form, headers={**proxied, "origin": "http://confirm.example.com"}
                )
            ).status_code
            posted = await http.post(url, data=form, headers={**proxied, "origin": public})
            statuses["post from the public page"] = posted.status_code
            # Relative, so a proxy's path prefix survives the redirect back to the page.
            assert posted.headers["location"] == url.rsplit("/", 1)[1]
        return ElicitResult(action="accept")

    async with (
        serving(server.streamable_http_app(host="127.0.0.1"), sock),
        Client(server, elicitation_callback=through_the_proxy) as c,
    ):
        result = await c.call_tool("delete_account", {"account_id": target})
    assert statuses == {
        "rebound name": 403,
        "public name": 200,
        "post from the inside scheme": 403,
        "post from the public page": 303,
    }
    assert data(result)["deleted_ids"] == [target], text(result)


@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize(
    ("decision", "gate", "outcome"),
    [
        ("confirm", "confirmed", "ok"),
        ("cancel", "cancelled", "not_confirmed"),
        (None, "expired", "not_confirmed"),  # nobody on the page
    ],
)
async def test_the_tool_call_audit_names_the_pages_decision(
    local_server: LocalCredentials,
    captured_logs: Any,
    mode: str,
    decision: Decision | None,
    gate: str,
    outcome: str,
) -> None:
    user = new_user()
    target = seed_account(local_server, user, "openai", KEY)["id"]
    server = url_server(local_server, user, confirm_expiry=0.5)
    async with Client(server, mode=mode, elicitation_callback=person(decision, [])) as c:
        await c.call_tool("delete_account", {"account_id": target})
    calls = [
        json.loads(line)
        for line in captured_logs.getvalue().splitlines()
        if line.startswith("{") and '"tool_call"' in line
    ]
    final = [e for e in calls if e.get("tool") == "delete_account"][-1]
    assert (final["gate"], final["outcome"]) == (gate, outcome)
    assert final["targets"] == [target]
