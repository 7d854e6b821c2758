"""The MCP Inspector's CLI mode against connect-mcp, the way a developer checks a server by hand.

`mcp-inspector --cli <command ...> --method tools/list` launches the stdio server itself (as a
desktop client would, with an environment of its own choosing), prints the JSON result and
exits; `--strict` additionally reports tool schemas other clients could choke on (exit 6 on an
error-severity problem). Passing these proves a stock client, not the SDK we built on, can list
and call our tools - and sees no user-id parameter anywhere: the session's user is fixed by the
server, never by the model.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.conftest import DevServer, NodeTools
from tests.support import TOOL_NAMES, connect_mcp_executable

pytestmark = [pytest.mark.node, pytest.mark.timeout(120)]

USER_PARAMETERS = {"external_user_id", "user", "user_id", "external_id"}


def inspect(
    tools: NodeTools, tmp_path: Path, target: list[str], *args: str
) -> tuple[Any, subprocess.CompletedProcess[str]]:
    """Run the Inspector CLI; return its parsed JSON stdout and the finished process."""
    done = subprocess.run(
        [str(tools.node), str(tools.inspector), "--cli", *target, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=tools.env(tmp_path),
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, f"inspector exited {done.returncode}:\n{done.stderr[-3000:]}"
    return json.loads(done.stdout), done


def stdio(tmp_path: Path, *env: str) -> list[str]:
    """The stdio server command line as the Inspector gets it: `-e` is the only environment
    the server sees besides the Inspector's defaults (no PIPEDREAM_*: the embedded backend)."""
    return [
        "-e",
        f"CONNECT_MCP_DATA_DIR={tmp_path / 'data'}",
        *(arg for setting in env for arg in ("-e", setting)),
        connect_mcp_executable(),
        "serve",
        "--external-user-id",
        "inspector-user",
    ]


@pytest.mark.parametrize("output_schemas", [False, True], ids=["default", "output-schemas"])
def test_tools_list_over_stdio(node_tools: NodeTools, tmp_path: Path, output_schemas: bool) -> None:
    """`--strict` exits 6 on an error-severity schema portability problem (`inspect` requires
    exit 0); warnings are printed to stderr and allowed. Output schemas are published only
    with `CONNECT_MCP_OUTPUT_SCHEMAS=true`, and must then pass `--strict` too."""
    env = ["CONNECT_MCP_OUTPUT_SCHEMAS=true"] if output_schemas else []
    listing, _ = inspect(
        node_tools, tmp_path, stdio(tmp_path, *env), "--method", "tools/list", "--strict"
    )
    tools = {tool["name"]: tool for tool in listing["tools"]}
    assert set(tools) == TOOL_NAMES
    for name, tool in tools.items():
        schema = tool["inputSchema"]
        assert schema["type"] == "object", name
        assert not USER_PARAMETERS & set(schema.get("properties", {})), name
        if output_schemas:
            assert tool["outputSchema"]["type"] == "object", name
        else:
            assert "outputSchema" not in tool, name
        assert tool["title"], name
        assert tool["annotations"]["openWorldHint"] is True, name
    assert tools["delete_account"]["annotations"]["destructiveHint"] is True
    assert tools["list_accounts"]["annotations"]["readOnlyHint"] is True


def test_tools_call_over_stdio(node_tools: NodeTools, tmp_path: Path) -> None:
    apps, _ = inspect(
        node_tools,
        tmp_path,
        stdio(tmp_path),
        "--method",
        "tools/call",
        "--tool-name",
        "list_apps",
        "--tool-arg",
        "q=slack",
    )
    assert apps["isError"] is False
    assert [a["name_slug"] for a in apps["structuredContent"]["apps"]] == ["slack"]
    assert "Slack" in apps["content"][0]["text"]


def test_tools_list_over_http_with_dev_user(
    node_tools: NodeTools, dev_server: DevServer, tmp_path: Path
) -> None:
    """The README's by-hand recipe: `serve --http --dev-user U`, then the Inspector on the URL
    with no header at all."""
    listing, _ = inspect(node_tools, tmp_path, [dev_server.url], "--method", "tools/list")
    assert {tool["name"] for tool in listing["tools"]} == TOOL_NAMES
