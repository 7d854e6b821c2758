"""No `repr`, `str` or error of the client or its models shows a secret, and every secret
the client sees is taught to the redactor the moment it is seen."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx2
import pytest

from connect_mcp.connect import Account, ConnectClient, ConnectToken, UpstreamError
from connect_mcp.local.embedded import LocalCredentials
from connect_mcp.redact import Redactor
from tests.connect.helpers import CountingTransport, local_client
from tests.support import seed_account


async def test_the_client_secret_and_access_token_are_redacted_and_never_shown(
    local_server: LocalCredentials,
) -> None:
    redactor = Redactor()
    transport = CountingTransport()
    client = local_client(local_server, redactor=redactor, transport=transport)
    assert redactor.scrub(local_server.client_secret) == "[REDACTED]"  # known from the start
    async with client:
        await client.get_project_info()
        text = repr(client) + str(client) + repr(client._tokens)
    token = client._tokens._token
    assert token is not None
    assert local_server.client_secret not in text
    assert token.value not in text + repr(token)
    assert redactor.scrub(f"Bearer {token.value}") == "Bearer [REDACTED]"


async def test_account_credentials_are_taught_to_the_redactor_when_seen(
    local_server: LocalCredentials,
) -> None:
    secret = f"sk-live-{uuid4().hex}"
    me = f"user-{uuid4().hex}"
    seeded = seed_account(local_server, me, "openai", {"api_key": secret})
    redactor = Redactor()
    async with local_client(local_server, redactor=redactor) as client:
        assert redactor.scrub(secret) == secret  # not seen yet
        account = await client.get_account(seeded["id"], include_credentials=True)
    assert redactor.scrub(f"echo {secret}") == "echo [REDACTED]"
    assert secret not in repr(account)
    assert secret not in str(account)
    assert secret not in account.model_dump_json()  # SecretStr serialises masked too


def test_unknown_fields_that_look_secret_are_masked_in_repr() -> None:
    account = Account.model_validate(
        {
            "id": "apn_1",
            "app": {"name_slug": "x"},
            "refresh_token": "rt-very-secret-value",
            "authorized_scopes": ["repo"],
            "credentials": {"api_key": "k-123456789", "port": 5432},
        }
    )
    text = repr(account)
    assert "rt-very-secret-value" not in text
    assert "refresh_token='[REDACTED]'" in text
    assert "authorized_scopes=['repo']" in text  # an innocent extra stays visible
    assert account.model_extra == {
        "refresh_token": "rt-very-secret-value",
        "authorized_scopes": ["repo"],
    }
    assert account.credentials is not None
    assert account.credentials["port"].get_secret_value() == "5432"
    assert "k-123456789" not in text


def test_a_connect_tokens_repr_shows_neither_token_nor_link() -> None:
    token = ConnectToken.model_validate(
        {
            "token": "ctok_" + "a" * 32,
            "expires_at": "2030-01-01T00:00:00Z",
            "connect_link_url": "https://pipedream.com/_static/connect.html?token=ctok_" + "a" * 32,
        }
    )
    assert "ctok_" not in repr(token)
    assert "ctok_" not in str(token)


async def test_a_static_bearer_is_taught_to_the_redactor_before_it_is_sent() -> None:
    # The invocation is answered by a mock: only what the client does before sending matters.
    redactor = Redactor()
    bearer = "wf-static-" + uuid4().hex
    sent: list[str] = []

    def handle(request: httpx2.Request) -> httpx2.Response:
        sent.append(request.headers["authorization"])
        return httpx2.Response(200, text=f"you sent {request.headers['authorization']}")

    client = ConnectClient(
        client_id="c",
        client_secret="s" * 20,
        project_id="proj_1",
        transport=httpx2.MockTransport(handle),
        redactor=redactor,
    )
    async with client:
        response = await client.invoke_workflow(
            "en1", "u1", auth="static_bearer", static_bearer=bearer
        )
    assert sent == [f"Bearer {bearer}"]
    assert response.body == "you sent Bearer [REDACTED]"
    assert bearer not in repr(response)


async def test_a_connect_token_in_a_path_is_masked_in_errors() -> None:
    # The local server's validate route never fails; a mock 500 makes it fail.
    token = "ctok_" + "b" * 32
    client = ConnectClient(
        client_id="c",
        client_secret="s" * 20,
        project_id="proj_1",
        transport=httpx2.MockTransport(lambda _r: httpx2.Response(500)),
        redactor=Redactor(),
        max_retries=0,
    )
    async with client:
        with pytest.raises(UpstreamError) as caught:
            await client.validate_connect_token(token, "slack")
    assert caught.value.path == "/v1/connect/tokens/[REDACTED]/validate"
    assert token not in str(caught.value)
    assert token not in repr(caught.value)


@pytest.mark.parametrize("field", ["access_token", "oauth_refresh_token", "client_secret"])
def test_secret_named_fields_anywhere_in_a_response_are_learnt(field: str) -> None:
    from connect_mcp.connect._responses import learn_secrets

    redactor = Redactor()
    value = f"value-of-{field}-123"
    body: dict[str, Any] = {"data": [{"nested": {field: value}}]}
    learn_secrets(body, redactor)
    assert redactor.scrub(value) == "[REDACTED]"
