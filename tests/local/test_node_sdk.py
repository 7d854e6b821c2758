"""The unmodified official TypeScript SDK (`@pipedream/sdk`) against the local server.

The package is installed once into a cache directory outside the repository
(`CONNECT_MCP_NODE_CACHE`, default `~/.cache/connect-mcp/node-sdk`). The test is skipped,
saying why, when Node.js or npm is missing or the npm registry cannot be reached (or the
install times out); any other install failure fails it, and with `CONNECT_MCP_REQUIRE_ALL=1`
(which `.ci/run` sets) so do those skips.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import pytest

from connect_mcp.local.catalog import APPS
from connect_mcp.local.embedded import LocalCredentials
from tests.support import backend_env, missing_part, npm_install, seed_account

SDK_SPEC = "@pipedream/sdk@^3"
SCRIPT = Path(__file__).with_name("node_sdk_calls.cjs")

pytestmark = [pytest.mark.node, pytest.mark.timeout(240)]


@pytest.fixture(scope="session")
def node_modules() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing_part("Node.js and npm are needed for the TypeScript SDK test; not on PATH")
    default = Path.home() / ".cache" / "connect-mcp" / "node-sdk"
    cache = Path(os.environ.get("CONNECT_MCP_NODE_CACHE", default))
    modules = cache / "node_modules"
    if not (modules / "@pipedream" / "sdk" / "package.json").exists():
        cache.mkdir(parents=True, exist_ok=True)
        npm_install(npm, ["--prefix", str(cache), SDK_SPEC], cwd=None, timeout=180)
    return modules


def test_typescript_sdk_calls(
    node_modules: Path, make_local_server: Callable[..., LocalCredentials]
) -> None:
    """A server of its own: `deleteByApp` is project-wide and must not hit other tests."""
    local_server = make_local_server()
    tag = uuid4().hex
    user = f"{tag}-ts"
    github = [
        seed_account(local_server, user, "github", {"oauth_access_token": f"gho_ts_{i}"})["id"]
        for i in range(5)
    ]
    seed_account(local_server, user, "stripe", {"api_key": "sk_test_ts"})
    env = {
        "PATH": os.environ.get("PATH", ""),
        "NODE_PATH": str(node_modules),
        **backend_env(local_server),
        "USER_ID": user,
        "TAG": tag,
    }
    done = subprocess.run(
        ["node", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["token"].startswith("ctok_")
    assert out["connectLinkUrl"].startswith(f"{local_server.base_url}/_static/connect.html?token=")
    assert out["validateSuccess"] is True
    assert out["pages"] == 3
    assert out["pagedIds"][:5] == github
    assert len(out["pagedIds"]) == 6
    assert out["retrieved"] == {
        "id": github[0],
        "externalId": user,
        "appSlug": "github",
        "accessToken": "gho_ts_0",
    }
    assert out["leftAfterDeletes"] == ["stripe"]
    assert out["users"] == [user]
    assert out["usersAfterDelete"] == []
    assert out["projectApps"] == [a.name_slug for a in APPS]
    assert len(out["apps"]) >= 12
    assert out["slack"] == {"name": "Slack", "authType": "oauth"}
    assert out["missing"] == 404
