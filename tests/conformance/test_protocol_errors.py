"""Protocol errors on the wire, as strict clients and the conformance suite read them.

Found by the conformance run: `prompts/get` for an unknown name came back as JSON-RPC code `0`
(handshake revisions) or `-32603 Internal server error` (2026-07-28), with a traceback in the
log each time. The specification says `-32602 Invalid params`
(connect_mcp/server/protocol_errors.py). Raw JSON-RPC over HTTP, no SDK client: the SDK's own
client would hide the code behind an exception.
"""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from tests.conformance.conftest import DevServer
from tests.support import INITIALIZE, MCP_HTTP_HEADERS

pytestmark = pytest.mark.timeout(60)


def _sse_or_json(response: httpx2.Response) -> dict[str, Any]:
    """The one JSON-RPC message of a response, whether sent as JSON or as one SSE event."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        line = next(x for x in response.text.splitlines() if x.startswith("data:"))
        response = httpx2.Response(200, content=line.removeprefix("data:").strip().encode())
    body: dict[str, Any] = response.json()
    return body


def handshake_prompt_get(server: DevServer, name: str) -> dict[str, Any]:
    with httpx2.Client(timeout=20, headers=MCP_HTTP_HEADERS) as http:
        opened = http.post(
            server.url,
            json=INITIALIZE,
        )
        session = {
            "mcp-session-id": opened.headers["mcp-session-id"],
            "mcp-protocol-version": "2025-11-25",
        }
        http.post(
            server.url,
            json={"jsonrpc": "2.0", "method": "notifications/initialized"},
            headers=session,
        )
        got = http.post(
            server.url,
            json={"jsonrpc": "2.0", "id": 2, "method": "prompts/get", "params": {"name": name}},
            headers=session,
        )
        http.delete(server.url, headers=session)
    return _sse_or_json(got)


def stateless_prompt_get(server: DevServer, name: str) -> dict[str, Any]:
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    got = httpx2.post(
        server.url,
        json={
            "jsonrpc": "2.0",
            "id": 2,
            "method": "prompts/get",
            "params": {"name": name, "_meta": meta},
        },
        headers={
            **MCP_HTTP_HEADERS,
            "mcp-protocol-version": "2026-07-28",
            "mcp-method": "prompts/get",
            "mcp-name": name,
        },
        timeout=20,
    )
    return _sse_or_json(got)


@pytest.mark.parametrize("era", ["2025-11-25", "2026-07-28"])
def test_unknown_prompt_is_invalid_params(dev_server: DevServer, era: str) -> None:
    get = handshake_prompt_get if era == "2025-11-25" else stateless_prompt_get
    answer = get(dev_server, "no_such_prompt")
    assert answer["error"]["code"] == -32602, answer
    assert answer["error"]["message"] == "Unknown prompt: no_such_prompt"
    assert "traceback" not in dev_server.stderr.read_text().lower()
