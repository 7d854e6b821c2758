"""Bad input to the MCP endpoint itself: hypothesis sends JSON-RPC messages of arbitrary shape -
and tool calls with arbitrary arguments for every tool - over streamable HTTP with a valid
token, on both eras. Never a 500, never an internal error (-32603), never a traceback, and the
server keeps serving."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import anyio.from_thread
import httpx2
from hypothesis import given
from hypothesis import strategies as st

from connect_mcp.local.embedded import LocalCredentials
from connect_mcp.server.auth import JWTVerifier
from connect_mcp.tools._base import SPECS
from tests.security.helpers import fuzz_settings
from tests.security.test_transport import CONFIG, LIST, MODERN, claims, sign
from tests.server.helpers import make_server, new_user, serving
from tests.support import INITIALIZE as INIT
from tests.support import MCP_HTTP_HEADERS as HEADERS

EXAMPLES = int(os.environ.get("MCP_FUZZ_EXAMPLES", "150"))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                 max_size=4),
    max_leaves=12,
)  # fmt: skip


def tool_arguments() -> st.SearchStrategy[dict[str, Any]]:
    """Arguments built from each tool's real field names, with values of any type."""
    names = sorted({name for spec in SPECS.values() for name in spec.input_model.model_fields})
    keys = st.sampled_from([*names, "external_user_id", "confirm", "_meta"]) | st.text(max_size=10)
    return st.dictionaries(keys, json_values, max_size=5)


def messages() -> st.SearchStrategy[Any]:
    tool_call = st.fixed_dictionaries(
        {
            "jsonrpc": st.just("2.0"),
            "id": st.integers(0, 10**6) | st.text(max_size=8),
            "method": st.just("tools/call"),
            "params": st.fixed_dictionaries(
                {"name": st.sampled_from(sorted(SPECS)), "arguments": tool_arguments()}
            ),
        }
    )
    anything = st.fixed_dictionaries(
        {
            "jsonrpc": st.sampled_from(["2.0", "1.0", None]),
            "id": json_values,
            "method": st.sampled_from(
                [
                    "tools/call",
                    "tools/list",
                    "initialize",
                    "ping",
                    "resources/read",
                    "prompts/get",
                    "logging/setLevel",
                    "completion/complete",
                    "notifications/cancelled",
                    "x/unknown",
                ]
            ),
            "params": json_values,
        }
    )
    return st.one_of(tool_call, tool_call, anything, json_values)


ENVELOPE = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
}


def with_envelope(message: dict[str, Any]) -> dict[str, Any]:
    """A 2026-07-28 request carries its version and capabilities in `params._meta`; without
    them the SDK refuses it before it reaches anything of ours."""
    params = message.get("params")
    if params is None or isinstance(params, dict):
        meta = (params or {}).get("_meta")
        meta = {**meta, **ENVELOPE} if isinstance(meta, dict) else ENVELOPE
        return {**message, "params": {**(params or {}), "_meta": meta}}
    return message


def routing_headers(message: dict[str, Any]) -> dict[str, str]:
    """2026-07-28 repeats the method (and a tool's name) in headers for routing."""
    out: dict[str, str] = {}
    if isinstance(message.get("method"), str):
        out["mcp-method"] = message["method"]
    params = message.get("params")
    if isinstance(params, dict) and isinstance(params.get("name"), str):
        name = params["name"]
        if name.isascii() and name.isprintable():
            out["mcp-name"] = name
    return out


def test_arbitrary_json_rpc_never_breaks_the_server(
    make_local_server: Callable[..., LocalCredentials],
) -> None:
    creds = make_local_server(account_rate_per_window=10**7, token_rate_per_minute=10**7)
    statuses: Counter[int] = Counter()
    internal: list[str] = []
    started = time.monotonic()
    mcp = make_server(creds, None, verifier=JWTVerifier(CONFIG))
    with anyio.from_thread.start_blocking_portal() as portal:
        cm = portal.wrap_async_context_manager(serving(mcp.streamable_http_app(host="127.0.0.1")))
        with cm as url, httpx2.Client(timeout=20) as http:
            auth = {**HEADERS, "authorization": f"Bearer {sign(claims(new_user()))}"}
            opened = http.post(url, json=INIT, headers=auth)
            legacy = {**auth, "mcp-session-id": opened.headers["mcp-session-id"],
                      "mcp-protocol-version": "2025-11-25"}  # fmt: skip
            http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                      headers=legacy)  # fmt: skip
            eras = {"legacy": legacy, "modern": {**auth, **MODERN}}

            @fuzz_settings(EXAMPLES)
            @given(message=messages(), era=st.sampled_from(sorted(eras)))
            def send(message: Any, era: str) -> None:
                headers = eras[era]
                if era == "modern" and isinstance(message, dict):
                    message = with_envelope(message)
                    headers = {**headers, **routing_headers(message)}
                response = http.post(url, content=json.dumps(message), headers=headers)
                statuses[response.status_code] += 1
                what = (era, json.dumps(message)[:300], response.status_code, response.text[:300])
                assert response.status_code < 500, what
                assert "Traceback" not in response.text, what
                if '"content"' in response.text:
                    statuses[0] += 1  # a tool answered (result or tool error)
                if '"code":-32603' in response.text.replace(" ", ""):
                    internal.append(repr(what))

            send()
            alive = http.post(
                url, json=with_envelope(LIST), headers={**eras["modern"], **routing_headers(LIST)}
            )
    assert alive.status_code == 200, alive.text
    assert internal == [], internal[:3]
    assert statuses[0] > 0, f"no message reached a tool: {dict(statuses)}"
    print(
        f"\n[fuzz/mcp] {sum(statuses.values()) - statuses[0]} arbitrary JSON-RPC messages over "
        f"streamable HTTP (both eras) in {time.monotonic() - started:.1f}s, {statuses.pop(0, 0)} "
        f"answered by a tool: statuses {dict(sorted(statuses.items()))}; 0 server errors, "
        "0 internal errors"
    )
