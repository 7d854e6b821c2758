"""The built-in workflows, invoked by the real Connect client the way it invokes any workflow:
the workflow domain is the local server's `host:port`, so an endpoint id travels in the path.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit
from uuid import uuid4

import pytest

from connect_mcp.connect import ConnectClient
from connect_mcp.local.embedded import LocalCredentials
from connect_mcp.local.workflows import ACCOUNT, ECHO
from connect_mcp.redact import Redactor
from tests.support import access_token, http, seed_account


def _client(creds: LocalCredentials, **kwargs: object) -> ConnectClient:
    return ConnectClient(
        **creds.client_options(),  # as the embedded backend does
        max_retries=0,
        timeout=10.0,
        redactor=Redactor(),
        **kwargs,  # type: ignore[arg-type]
    )


async def test_echo_runs_for_the_user_and_hides_the_token(local_server: LocalCredentials) -> None:
    user = f"user-{uuid4().hex}"
    async with _client(local_server) as client:
        response = await client.invoke_workflow(
            ECHO, user, body={"hello": "world"}, headers={"x-trace": "abc"}
        )
    assert response.status_code == 200
    echo = json.loads(response.body)
    assert echo["external_user_id"] == user
    assert echo["method"] == "POST"
    assert echo["body"] == {"hello": "world"}
    assert echo["environment"] == "development"
    assert echo["project_id"] == local_server.project_id
    assert echo["headers"]["x-trace"] == "abc"
    assert echo["headers"]["authorization"] == "[REDACTED]"
    assert "Bearer" not in response.body


def test_echo_does_not_echo_secrets(local_server: LocalCredentials) -> None:
    """The demo workflow models good behaviour: values of credential headers and of
    secret-named headers, query parameters and JSON fields (at any depth) come back masked;
    everything else - neutral fields included - is echoed as sent."""
    token = access_token(local_server)
    secret = "sk-echo-" + uuid4().hex
    response = http().post(
        f"{local_server.base_url}/{ECHO}",
        params={"api_key": secret, "access_token": secret, "page": "2"},
        headers={
            "Authorization": f"Bearer {token}",
            "x-pd-external-user-id": "echo-user",
            "X-Api-Key": secret,
            "x_auth_token": secret,
            "Cookie": f"s={secret}",
            "x-trace": "t-1",
        },
        json={"password": secret, "nested": [{"client_secret": secret, "n": 1}], "note": "hi"},
    )
    assert response.status_code == 200, response.text
    assert secret not in response.text
    assert token not in response.text
    echo = response.json()
    assert echo["query"] == {"api_key": "[REDACTED]", "access_token": "[REDACTED]", "page": "2"}
    for name in ("authorization", "x-api-key", "x_auth_token", "cookie"):
        assert echo["headers"][name] == "[REDACTED]", name
    assert echo["headers"]["x-trace"] == "t-1"
    assert echo["body"] == {
        "password": "[REDACTED]",
        "nested": [{"client_secret": "[REDACTED]", "n": 1}],
        "note": "hi",
    }


async def test_account_workflow_uses_the_users_account(local_server: LocalCredentials) -> None:
    user = f"user-{uuid4().hex}"
    secret = "sk-" + uuid4().hex
    seed_account(local_server, user, "openai", {"api_key": "sk-old-" + uuid4().hex})
    newest = seed_account(local_server, user, "openai", {"api_key": secret}, name="Newest")
    async with _client(local_server) as client:
        response = await client.invoke_workflow(ACCOUNT, user, body={"app": "openai"})
    assert response.status_code == 200, response.body
    result = json.loads(response.body)
    assert result["account"]["id"] == newest["id"]  # the most recently created one
    assert result["credential_fields"] == ["api_key"]
    assert secret not in response.body


async def test_account_workflow_without_an_account_fails_clearly(
    local_server: LocalCredentials,
) -> None:
    user = f"user-{uuid4().hex}"
    seed_account(local_server, user, "openai", {"api_key": "sk-x"})
    async with _client(local_server) as client:
        missing = await client.invoke_workflow(ACCOUNT, user, body={"app": "slack"})
        no_app = await client.invoke_workflow(ACCOUNT, user, body={})
    assert missing.status_code == 404
    assert json.loads(missing.body)["error"].startswith("No Slack account is connected for")
    assert no_app.status_code == 400


async def test_other_environment_sees_no_account(local_server: LocalCredentials) -> None:
    user = f"user-{uuid4().hex}"
    seed_account(local_server, user, "openai", {"api_key": "sk-x"})
    async with _client(local_server, environment="production") as client:
        response = await client.invoke_workflow(ACCOUNT, user, body={"app": "openai"})
    assert response.status_code == 404
    assert "production" in json.loads(response.body)["error"]


@pytest.mark.parametrize(
    ("auth", "bearer"), [("none", None), ("static_bearer", "not-a-real-token")]
)
async def test_workflows_need_a_valid_access_token(
    local_server: LocalCredentials, auth: str, bearer: str | None
) -> None:
    async with _client(local_server) as client:
        response = await client.invoke_workflow(
            ECHO,
            "someone",
            auth=auth,  # type: ignore[arg-type]
            static_bearer=bearer,
        )
    assert response.status_code == 401
    assert "error" in json.loads(response.body)


def test_workflows_need_the_external_user_header(local_server: LocalCredentials) -> None:
    token = access_token(local_server)
    response = http().post(
        f"{local_server.base_url}/{ECHO}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400
    assert "x-pd-external-user-id" in response.json()["error"]
    too_long = http().post(
        f"{local_server.base_url}/{ECHO}",
        headers={"Authorization": f"Bearer {token}", "x-pd-external-user-id": "u" * 251},
    )
    assert too_long.status_code == 400


def test_unknown_endpoint_is_not_found(local_server: LocalCredentials) -> None:
    token = access_token(local_server)
    response = http().post(
        f"{local_server.base_url}/enunknown",
        headers={"Authorization": f"Bearer {token}", "x-pd-external-user-id": "u"},
    )
    assert response.status_code == 404


def test_host_based_routing(local_server: LocalCredentials) -> None:
    """`{endpoint_id}.localhost:{port}` reaches the workflow too (Chromium resolves it)."""
    token = access_token(local_server)
    port = urlsplit(local_server.base_url).port
    response = http().get(
        f"{local_server.base_url}/",
        headers={
            "Host": f"{ECHO}.localhost:{port}",
            "Authorization": f"Bearer {token}",
            "x-pd-external-user-id": "by-host",
        },
    )
    assert response.status_code == 200
    assert response.json()["external_user_id"] == "by-host"


def test_an_oversized_body_is_refused(local_server: LocalCredentials) -> None:
    token = access_token(local_server)
    response = http().post(
        f"{local_server.base_url}/{ECHO}",
        content=b"x" * 300_000,
        headers={"Authorization": f"Bearer {token}", "x-pd-external-user-id": "u"},
    )
    assert response.status_code == 413
