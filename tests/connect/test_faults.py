"""Faults the local server cannot produce, injected with `httpx2.MockTransport`.

Every test here uses a mock transport *because* the real local server never times out,
never resets a connection mid-body, never answers 200 with garbage, never storms 503s, never
redirects and never refuses a still-valid token - yet the client must handle each exactly.
Each test asserts the exact error type and the exact number of attempts made.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx2
import pytest

from connect_mcp.connect import (
    BadRequestError,
    ConnectClient,
    ConnectTimeoutError,
    NotFoundError,
    RateLimitedError,
    UnauthorizedError,
    UpstreamError,
)
from connect_mcp.redact import Redactor
from tests.connect.helpers import FAST_RETRY

SECRET = "client-secret-for-fault-tests"
PROJECT = "proj_fault"
ACCOUNTS = f"/v1/connect/{PROJECT}/accounts"
TOKENS = f"/v1/connect/{PROJECT}/tokens"
ACCOUNT_JSON: dict[str, Any] = {"id": "apn_1", "app": {"name_slug": "openai"}}
PAGE_JSON: dict[str, Any] = {"data": [ACCOUNT_JSON], "page_info": {"count": 1}}

Script = Callable[[httpx2.Request, int], httpx2.Response]


class FakeAPI:
    """Answers the OAuth token endpoint itself (token n is `tok-n-...`) and every other
    request with `script(request, attempt)`; counts attempts per (method, path)."""

    def __init__(self, script: Script, *, token_status: int = 200) -> None:
        self.script = script
        self.token_status = token_status
        self.attempts: Counter[tuple[str, str]] = Counter()
        self.hosts: list[str] = []
        self.tokens_issued = 0
        self.transport = httpx2.MockTransport(self.handle)

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.hosts.append(request.url.host)
        if request.url.path == "/v1/oauth/token":
            self.attempts[("POST", "/v1/oauth/token")] += 1
            if self.token_status != 200:
                return httpx2.Response(self.token_status, json={"error": "invalid client"})
            self.tokens_issued += 1
            token = f"tok-{self.tokens_issued}-abcdefgh"
            return httpx2.Response(
                200, json={"access_token": token, "token_type": "Bearer", "expires_in": 3600}
            )
        key = (request.method, request.url.path)
        self.attempts[key] += 1
        return self.script(request, self.attempts[key])

    def client(self, **kwargs: Any) -> ConnectClient:
        options: dict[str, Any] = {**FAST_RETRY, "max_retries": 3, **kwargs}
        return ConnectClient(
            client_id="client-id",
            client_secret=SECRET,
            project_id=PROJECT,
            transport=self.transport,
            redactor=Redactor(),
            **options,
        )


def raise_(exc: type[httpx2.TransportError]) -> Script:
    def script(request: httpx2.Request, _attempt: int) -> httpx2.Response:
        raise exc("injected", request=request)

    return script


class ResetMidBody(httpx2.AsyncByteStream):
    """A body that starts arriving and then dies, like a connection reset by the peer."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"data": [{"id": "apn_1", '
        raise httpx2.ReadError("connection reset by peer")


# -- timeouts -----------------------------------------------------------------------------


async def test_a_get_that_always_times_out_is_tried_max_retries_plus_one_times() -> None:
    api = FakeAPI(raise_(httpx2.ReadTimeout))
    async with api.client(max_retries=3) as client:
        with pytest.raises(ConnectTimeoutError) as caught:
            await client.list_accounts()
    assert api.attempts[("GET", ACCOUNTS)] == 4
    assert caught.value.status is None
    assert (caught.value.method, caught.value.path) == ("GET", ACCOUNTS)
    assert isinstance(caught.value, TimeoutError)


async def test_a_get_that_times_out_once_succeeds_on_the_second_attempt() -> None:
    def script(request: httpx2.Request, attempt: int) -> httpx2.Response:
        if attempt == 1:
            raise httpx2.ReadTimeout("injected", request=request)
        return httpx2.Response(200, json=PAGE_JSON)

    api = FakeAPI(script)
    async with api.client() as client:
        page = await client.list_accounts()
    assert [a.id for a in page.data] == ["apn_1"]
    assert api.attempts[("GET", ACCOUNTS)] == 2


# -- connection reset mid-body ----------------------------------------------------------------


async def test_a_connection_reset_mid_body_is_retried_for_a_get() -> None:
    def script(_request: httpx2.Request, attempt: int) -> httpx2.Response:
        if attempt == 1:
            return httpx2.Response(200, stream=ResetMidBody())
        return httpx2.Response(200, json=PAGE_JSON)

    api = FakeAPI(script)
    async with api.client() as client:
        page = await client.list_accounts()
    assert page.data[0].id == "apn_1"
    assert api.attempts[("GET", ACCOUNTS)] == 2


async def test_a_connection_that_always_resets_ends_in_upstream_error() -> None:
    api = FakeAPI(lambda _r, _n: httpx2.Response(200, stream=ResetMidBody()))
    async with api.client(max_retries=2) as client:
        with pytest.raises(UpstreamError) as caught:
            await client.get_account("apn_1")
    assert api.attempts[("GET", f"{ACCOUNTS}/apn_1")] == 3
    assert caught.value.status is None
    assert "ReadError" in caught.value.message


# -- malformed answers --------------------------------------------------------------------


async def test_a_200_whose_body_is_not_json_is_an_upstream_error_and_not_retried() -> None:
    api = FakeAPI(lambda _r, _n: httpx2.Response(200, text="<html>gateway</html>"))
    async with api.client() as client:
        with pytest.raises(UpstreamError) as caught:
            await client.list_accounts()
    assert api.attempts[("GET", ACCOUNTS)] == 1
    assert caught.value.status == 200
    assert "gateway" not in str(caught.value)


async def test_a_200_of_the_wrong_shape_names_the_problem_but_never_the_values() -> None:
    leaked = "sk-live-this-must-not-appear"
    body = {"data": [{"id": "apn_1", "credentials": {"api_key": leaked}}], "page_info": {}}
    api = FakeAPI(lambda _r, _n: httpx2.Response(200, json=body))
    async with api.client() as client:
        with pytest.raises(UpstreamError) as caught:
            await client.list_accounts(include_credentials=True)
    assert api.attempts[("GET", ACCOUNTS)] == 1
    assert "data.0.app" in caught.value.message
    assert leaked not in str(caught.value)
    assert leaked not in repr(caught.value)


# -- 5xx ------------------------------------------------------------------------------------


async def test_a_503_storm_on_a_get_ends_after_max_retries_plus_one_attempts() -> None:
    api = FakeAPI(lambda _r, _n: httpx2.Response(503, json={"error": "overloaded"}))
    async with api.client(max_retries=4) as client:
        with pytest.raises(UpstreamError) as caught:
            await client.list_users()
    assert api.attempts[("GET", f"/v1/connect/{PROJECT}/users")] == 5
    assert caught.value.status == 503
    assert caught.value.message == "overloaded"


async def test_a_503_storm_stops_at_the_time_budget_before_the_retry_count() -> None:
    api = FakeAPI(lambda _r, _n: httpx2.Response(503))
    started = time.monotonic()
    async with api.client(
        max_retries=1000, max_retry_time=0.3, retry_base_delay=0.02, retry_max_delay=0.05
    ) as client:
        with pytest.raises(UpstreamError):
            await client.get_project_info()
    elapsed = time.monotonic() - started
    assert elapsed < 1.0
    assert 3 <= api.attempts[("GET", f"/v1/connect/{PROJECT}/projects/info")] < 1000


async def test_a_500_with_a_text_body_reports_the_reason_phrase_not_the_body() -> None:
    api = FakeAPI(lambda _r, _n: httpx2.Response(500, text="Traceback: password=hunter2"))
    async with api.client(max_retries=0) as client:
        with pytest.raises(UpstreamError) as caught:
            await client.list_apps()
    assert caught.value.message == "Internal Server Error"
    assert "hunter2" not in str(caught.value)


async def test_creating_a_connect_token_is_retried_on_503_by_design() -> None:
    # A lost token's plaintext never reached anyone, so a second one is harmless (client.py).
    def script(_request: httpx2.Request, attempt: int) -> httpx2.Response:
        if attempt < 3:
            return httpx2.Response(503)
        return httpx2.Response(
            200,
            json={
                "token": "ctok_" + "0" * 32,
                "expires_at": "2030-01-01T00:00:00Z",
                "connect_link_url": "https://pipedream.com/_static/connect.html?token=x",
            },
        )

    api = FakeAPI(script)
    async with api.client() as client:
        token = await client.create_connect_token("user-1")
    assert token.token.get_secret_value() == "ctok_" + "0" * 32
    assert api.attempts[("POST", TOKENS)] == 3


# -- 429 ----------------------------------------------------------------------------------


async def test_a_429_waits_the_retry_after_the_server_asked_for() -> None:
    def script(_request: httpx2.Request, attempt: int) -> httpx2.Response:
        if attempt == 1:
            return httpx2.Response(429, json={"error": "Throttled"}, headers={"Retry-After": "1"})
        return httpx2.Response(200, json=PAGE_JSON)

    api = FakeAPI(script)
    async with api.client() as client:
        started = time.monotonic()
        await client.list_accounts()
        elapsed = time.monotonic() - started
    assert api.attempts[("GET", ACCOUNTS)] == 2
    assert 1.0 <= elapsed < 2.5  # the asked wait plus at most 10% jitter


async def test_a_429_is_retried_even_for_a_post() -> None:
    def script(_request: httpx2.Request, attempt: int) -> httpx2.Response:
        if attempt == 1:
            return httpx2.Response(429, headers={"Retry-After": "0"})
        return httpx2.Response(
            200,
            json={"token": "ctok_1", "expires_at": "2030-01-01T00:00:00Z", "connect_link_url": "u"},
        )

    api = FakeAPI(script)
    async with api.client() as client:
        await client.create_connect_token("user-1")
    assert api.attempts[("POST", TOKENS)] == 2


async def test_a_429_honours_x_ratelimit_reset_when_there_is_no_retry_after() -> None:
    def script(_request: httpx2.Request, attempt: int) -> httpx2.Response:
        if attempt == 1:
            reset = str(int(time.time()) + 2)  # a UNIX time, as the API sends it
            return httpx2.Response(429, headers={"X-RateLimit-Reset": reset})
        return httpx2.Response(200, json=PAGE_JSON)

    api = FakeAPI(script)
    async with api.client() as client:
        started = time.monotonic()
        await client.list_accounts()
        elapsed = time.monotonic() - started
    assert api.attempts[("GET", ACCOUNTS)] == 2
    assert 0.9 <= elapsed < 3.5


async def test_a_429_asking_longer_than_the_budget_fails_at_once_with_the_wait() -> None:
    api = FakeAPI(
        lambda _r, _n: httpx2.Response(
            429, json={"error": "Throttled"}, headers={"Retry-After": "120"}
        )
    )
    async with api.client(max_retry_time=5.0) as client:
        started = time.monotonic()
        with pytest.raises(RateLimitedError) as caught:
            await client.list_accounts()
        elapsed = time.monotonic() - started
    assert api.attempts[("GET", ACCOUNTS)] == 1
    assert elapsed < 0.5
    assert caught.value.status == 429
    assert caught.value.retry_after == 120
    assert caught.value.message == "Throttled"


# -- 401 ----------------------------------------------------------------------------------


async def test_a_401_refreshes_the_token_once_and_retries_the_call_once() -> None:
    def script(request: httpx2.Request, _attempt: int) -> httpx2.Response:
        if request.headers["authorization"].startswith("Bearer tok-1-"):
            return httpx2.Response(401, json={"error": "invalid or expired access token"})
        return httpx2.Response(200, json=PAGE_JSON)

    api = FakeAPI(script)
    async with api.client() as client:
        await client.list_accounts()
        assert client.token_fetches == 2
    assert api.attempts[("POST", "/v1/oauth/token")] == 2
    assert api.attempts[("GET", ACCOUNTS)] == 2


async def test_a_second_401_is_an_unauthorized_error_without_further_refreshes() -> None:
    api = FakeAPI(lambda _r, _n: httpx2.Response(401, json={"error": "nope"}))
    async with api.client() as client:
        with pytest.raises(UnauthorizedError) as caught:
            await client.get_account("apn_1")
    assert api.attempts[("POST", "/v1/oauth/token")] == 2
    assert api.attempts[("GET", f"{ACCOUNTS}/apn_1")] == 2
    assert caught.value.status == 401


async def test_bad_client_credentials_are_unauthorized_and_never_echo_the_secret() -> None:
    api = FakeAPI(lambda _r, _n: httpx2.Response(200, json=PAGE_JSON), token_status=401)
    async with api.client() as client:
        with pytest.raises(UnauthorizedError) as caught:
            await client.list_accounts()
    assert (caught.value.method, caught.value.path) == ("POST", "/v1/oauth/token")
    assert api.attempts[("POST", "/v1/oauth/token")] == 1
    assert api.attempts[("GET", ACCOUNTS)] == 0
    assert SECRET not in str(caught.value)


async def test_a_short_lived_token_is_replaced_before_it_expires() -> None:
    # The local server always issues 1-hour tokens; a 1-second one needs a fake endpoint.
    issued: list[str] = []

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/v1/oauth/token":
            issued.append(f"tok-{len(issued)}-abcdefgh")
            return httpx2.Response(200, json={"access_token": issued[-1], "expires_in": 1})
        return httpx2.Response(200, json={"apps": []})

    client = ConnectClient(
        client_id="c",
        client_secret=SECRET,
        project_id=PROJECT,
        transport=httpx2.MockTransport(handle),
        redactor=Redactor(),
    )
    async with client:
        await client.get_project_info()
        await client.get_project_info()
        assert len(issued) == 1
        await anyio.sleep(1.0)  # the token is refreshed 0.1 s before its 1 s lifetime ends
        await client.get_project_info()
    assert len(issued) == 2


# -- redirects and deletes ----------------------------------------------------------------


async def test_an_api_redirect_is_not_followed_and_is_an_upstream_error() -> None:
    api = FakeAPI(
        lambda _r, _n: httpx2.Response(302, headers={"Location": "https://evil.example/steal"})
    )
    async with api.client() as client:
        with pytest.raises(UpstreamError) as caught:
            await client.list_accounts()
    assert caught.value.status == 302
    assert "evil.example" not in api.hosts
    assert api.attempts[("GET", ACCOUNTS)] == 1


async def test_a_delete_whose_first_answer_was_lost_treats_404_as_done() -> None:
    def script(_request: httpx2.Request, attempt: int) -> httpx2.Response:
        return httpx2.Response(502 if attempt == 1 else 404, json={"error": "record not found"})

    api = FakeAPI(script)
    async with api.client() as client:
        await client.delete_account("apn_1")
    assert api.attempts[("DELETE", f"{ACCOUNTS}/apn_1")] == 2


async def test_a_delete_of_a_missing_account_is_not_found() -> None:
    api = FakeAPI(lambda _r, _n: httpx2.Response(404, json={"error": "record not found"}))
    async with api.client() as client:
        with pytest.raises(NotFoundError):
            await client.delete_account("apn_1")
    assert api.attempts[("DELETE", f"{ACCOUNTS}/apn_1")] == 1


async def test_a_server_message_that_echoes_a_known_secret_is_redacted() -> None:
    api = FakeAPI(
        lambda _r, _n: httpx2.Response(400, json={"error": f"bad client_secret {SECRET}"})
    )
    async with api.client() as client:
        with pytest.raises(BadRequestError) as caught:
            await client.list_accounts()
    assert caught.value.message == "bad client_secret [REDACTED]"
    assert SECRET not in str(caught.value)


async def test_fifty_callers_share_one_failing_token_fetch_instead_of_queueing_retries() -> None:
    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/v1/oauth/token":
            token_attempts.append(1)
            return httpx2.Response(503)
        return httpx2.Response(200, json={"apps": []})

    token_attempts: list[int] = []
    client = ConnectClient(
        client_id="c",
        client_secret=SECRET,
        project_id=PROJECT,
        transport=httpx2.MockTransport(handle),
        redactor=Redactor(),
        max_retries=2,
        retry_base_delay=0.05,
        retry_max_delay=0.05,
    )
    errors: list[UpstreamError] = []

    async def one() -> None:
        try:
            await client.get_project_info()
        except UpstreamError as exc:
            errors.append(exc)

    async with client:
        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                for _ in range(50):
                    tg.start_soon(one)
    assert len(errors) == 50
    assert all(e.status == 503 and e.path == "/v1/oauth/token" for e in errors)
    assert len(token_attempts) == 3  # one fetch with its retries, not one per caller


async def test_iterating_stops_with_an_error_when_the_server_repeats_a_cursor() -> None:
    # A server that hands out the same cursor forever would make a naive iterator spin.
    looping = {"data": [ACCOUNT_JSON], "page_info": {"count": 1, "end_cursor": "c1"}}
    api = FakeAPI(lambda _r, _n: httpx2.Response(200, json=looping))
    seen: list[str] = []

    async def drain(client: ConnectClient) -> None:
        async for account in client.iter_accounts():
            seen.append(account.id)

    async with api.client() as client:
        with pytest.raises(UpstreamError, match="repeated a page cursor"):
            await drain(client)
    assert len(seen) == 2
    assert api.attempts[("GET", ACCOUNTS)] == 2


async def test_a_retry_is_logged_on_stderr_logging_never_stdout_and_without_the_token(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    def script(_request: httpx2.Request, attempt: int) -> httpx2.Response:
        return httpx2.Response(503 if attempt == 1 else 200, json={"apps": []})

    api = FakeAPI(script)
    with caplog.at_level("INFO", logger="connect_mcp.connect"):
        async with api.client() as client:
            await client.get_project_info()
    [record] = caplog.records
    assert record.getMessage().startswith(
        f"connect retry: GET /v1/connect/{PROJECT}/projects/info in "
    )
    assert record.getMessage().endswith("after HTTP 503")
    assert "tok-1" not in caplog.text
    assert capsys.readouterr().out == ""
