"""The conformance suite's input-required (SEP-2322) checks, aimed at our real delete gate.

The suite's input-required scenarios call fixture tools by fixed names
(`test_input_required_result_elicitation`, ...), so against connect-mcp they can only fail (see
expected-checks-2026-07-28.yaml). The properties they check matter most for one kind of
our tools - the gated deletes - so this module replays them on the 2026-07-28 wire,
byte for byte as a stock client would send them (raw JSON-RPC over HTTP, no SDK client),
against `serve --http --dev-user` with `delete_account`:

* result-type / basic-elicitation / request-state: the first call answers
  `resultType: "input_required"` with one form `elicitation/create` request naming what will
  be deleted, and an opaque `requestState`;
* capability-check: a client that did not declare elicitation is never sent an input request;
* missing-input-response: a retry without the answer is asked again, and deletes nothing;
* validate-input: a malformed retry deletes nothing;
* tampered-state: a forged `requestState` deletes nothing, and is a JSON-RPC error (a SEP-2322
  MUST; it used to come back as a normal "nothing was deleted (timeout)" result);
* and the round trip itself: decline deletes nothing, accept with yes deletes.

The accounts are connected the way an end user does it: `create_connect_link` through MCP, then
the Connect Link's account-creation call with that single-use connect token.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx2
import pytest

from tests.conformance.conftest import DevServer
from tests.support import MCP_HTTP_HEADERS

pytestmark = pytest.mark.timeout(60)

VERSION = "2026-07-28"
FORM_CLIENT: dict[str, Any] = {"elicitation": {"form": {}}}


def rpc(
    server: DevServer, method: str, params: dict[str, Any], caps: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One stateless 2026-07-28 request (envelope in `_meta`, standard headers); the JSON-RPC
    response body."""
    meta = {
        "io.modelcontextprotocol/protocolVersion": VERSION,
        "io.modelcontextprotocol/clientCapabilities": FORM_CLIENT if caps is None else caps,
    }
    headers = {
        **MCP_HTTP_HEADERS,
        "mcp-protocol-version": VERSION,
        "mcp-method": method,
    }
    if "name" in params:
        headers["mcp-name"] = params["name"]
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": meta}}
    response = httpx2.post(server.url, json=body, headers=headers, timeout=20)
    answer: dict[str, Any] = response.json()
    return answer


def delete(server: DevServer, account: str, **extra: Any) -> dict[str, Any]:
    caps = extra.pop("caps", None)
    params = {"name": "delete_account", "arguments": {"account_id": account}, **extra}
    return rpc(server, "tools/call", params, caps)


def connect_account(server: DevServer) -> str:
    """A fresh OpenAI account of the dev user, connected through a Connect Link."""
    link = rpc(
        server, "tools/call", {"name": "create_connect_link", "arguments": {"app": "openai"}}
    )
    url = link["result"]["structuredContent"]["url"]
    token = re.search(r"token=(ctok_\w+)", url)
    assert token, url
    created = httpx2.post(
        f"{server.backend_url}/v1/connect/{server.project_id}/accounts",
        json={
            "app_slug": "openai",
            "cfmap_json": json.dumps({"api_key": "sk-conformance-0123456789"}),
            "connect_token": token[1],
        },
        headers={"x-pd-environment": "development"},
        timeout=20,
    )
    assert created.status_code == 200, created.text
    account: str = created.json()["id"]
    return account


def exists(server: DevServer, account: str) -> bool:
    got = rpc(server, "tools/call", {"name": "get_account", "arguments": {"account_id": account}})
    return got["result"]["isError"] is False


def first_round(server: DevServer, account: str) -> dict[str, Any]:
    result: dict[str, Any] = delete(server, account)["result"]
    assert result["resultType"] == "input_required", result
    return result


def test_first_call_is_an_input_required_form_naming_the_target(dev_server: DevServer) -> None:
    account = connect_account(dev_server)
    result = first_round(dev_server, account)
    (request,) = result["inputRequests"].values()
    assert request["method"] == "elicitation/create"
    assert request["params"]["mode"] == "form"
    assert account in request["params"]["message"]
    schema = request["params"]["requestedSchema"]
    assert schema["properties"]["confirm"]["type"] == "boolean"
    assert schema["required"] == ["confirm"]
    assert isinstance(result["requestState"], str)
    assert result["requestState"]
    assert "content" not in result  # an incomplete result is not also a tool answer
    assert exists(dev_server, account)


def test_no_input_request_for_an_undeclared_capability(dev_server: DevServer) -> None:
    account = connect_account(dev_server)
    result = delete(dev_server, account, caps={})["result"]
    assert result["resultType"] == "complete"
    assert "inputRequests" not in result
    assert result["isError"] is True
    assert "Nothing was deleted" in result["content"][0]["text"]
    assert exists(dev_server, account)


def test_a_retry_without_the_answer_is_asked_again(dev_server: DevServer) -> None:
    account = connect_account(dev_server)
    state = first_round(dev_server, account)["requestState"]
    wrong = {"wrong_key": {"action": "accept", "content": {"confirm": True}}}
    again = delete(dev_server, account, inputResponses=wrong, requestState=state)["result"]
    assert again["resultType"] == "input_required"
    assert exists(dev_server, account)


@pytest.mark.parametrize("responses", [None, "yes", [{"action": "accept"}]])
def test_malformed_input_responses_delete_nothing(dev_server: DevServer, responses: Any) -> None:
    account = connect_account(dev_server)
    state = first_round(dev_server, account)["requestState"]
    answer = delete(dev_server, account, inputResponses=responses, requestState=state)
    result = answer.get("result") or {}
    assert "error" in answer or result.get("resultType") == "input_required", answer
    assert exists(dev_server, account)


def tampered(server: DevServer, account: str) -> dict[str, Any]:
    """A retry saying yes, with the suite's forgery of the sealed state."""
    first = first_round(server, account)
    (key,) = first["inputRequests"]
    yes = {key: {"action": "accept", "content": {"confirm": True}}}
    forged = first["requestState"] + "-TAMPERED"
    return delete(server, account, inputResponses=yes, requestState=forged)


def test_a_tampered_request_state_deletes_nothing(dev_server: DevServer) -> None:
    account = connect_account(dev_server)
    answer = tampered(dev_server, account)
    assert answer.get("result", {}).get("structuredContent", {}).get("deleted") is not True
    assert exists(dev_server, account)


def test_a_tampered_request_state_is_a_json_rpc_error(dev_server: DevServer) -> None:
    """The SDK's frozen rejection, not guard.py's friendly "timeout" result, which is kept for
    states the server really sealed (connect_mcp/server/protocol_errors.py)."""
    answer = tampered(dev_server, connect_account(dev_server))
    assert answer["error"]["code"] == -32602, answer
    assert answer["error"]["message"] == "Invalid or expired requestState"


def test_decline_deletes_nothing_and_yes_deletes(dev_server: DevServer) -> None:
    account = connect_account(dev_server)
    first = first_round(dev_server, account)
    (key,) = first["inputRequests"]
    declined = delete(
        dev_server,
        account,
        inputResponses={key: {"action": "decline"}},
        requestState=first["requestState"],
    )["result"]
    assert declined["resultType"] == "complete"
    assert declined["structuredContent"]["deleted"] is False
    assert exists(dev_server, account)

    again = first_round(dev_server, account)
    yes = {key: {"action": "accept", "content": {"confirm": True}}}
    done = delete(dev_server, account, inputResponses=yes, requestState=again["requestState"])
    result = done["result"]
    assert result["resultType"] == "complete"
    assert result["structuredContent"]["deleted_ids"] == [account]
    assert not exists(dev_server, account)
