"""The product's main loop, offline, end to end: an MCP client session asks for a connect
link, a person connects an account in a real browser, and the same session sees the account
(credentials redacted), runs workflows with it, and deletes it after the human confirms.

Every part is real: the MCP server and an in-memory MCP client session from the SDK, the
local Connect server over HTTP, headless Chromium, and a webhook receiver on 127.0.0.1. The
webhook is the operator's setting (`CONNECT_MCP_CONNECT_WEBHOOK_URI`, here `LinkOptions`),
never the model's.
"""

from __future__ import annotations

import json
from uuid import uuid4

import anyio
import pytest
from mcp import Client

from connect_mcp.connect import ConnectClient
from connect_mcp.local.embedded import LocalCredentials
from connect_mcp.server.app import build_server
from connect_mcp.server.state import ServerConfig
from connect_mcp.tools._base import LinkOptions, Principal
from tests.e2e.conftest import CHROMIUM_ARGS, artifact, require_chromium
from tests.e2e.receiver import receiver
from tests.server.helpers import answer, call, data, text
from tests.support import access_token, http

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]


def _connect_in_browser(executable: str, url: str, secret: str) -> str:
    """What the person does with the link: runs in a worker thread (sync Playwright)."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 900})
            page.set_default_timeout(10_000)
            page.goto(url)
            page.fill("#cf_api_key", secret)
            page.click("button:has-text('Connect OpenAI')")
            expect(page.locator("h1")).to_contain_text("connected")
            page.screenshot(path=artifact("mcp-loop-connected.png"), full_page=True)
            heading = page.locator("h1").inner_text()
        finally:
            browser.close()
    return heading


async def test_connect_link_to_browser_to_workflow_to_gated_delete(
    local_server: LocalCredentials,
) -> None:
    executable = require_chromium()
    user = f"user-{uuid4().hex}"
    secret = "sk-" + uuid4().hex
    with receiver() as hooks:

        def connect() -> ConnectClient:
            return ConnectClient(
                **local_server.client_options(),
                max_retries=0,
                timeout=10.0,
            )

        server = build_server(
            ServerConfig(
                connect=connect,
                link_options=LinkOptions(webhook_uri=f"{hooks.url}/hook"),
                fixed_principal=Principal(user=user, perm="write", source="test"),
            )
        )
        async with Client(server, elicitation_callback=answer("accept", True)) as mcp:
            link = data(await call(mcp, "create_connect_link", {"app": "openai"}))
            assert link["app"] == "openai"

            heading = await anyio.to_thread.run_sync(
                _connect_in_browser, executable, link["url"], secret
            )
            assert heading == "OpenAI (ChatGPT) connected"

            [post] = await anyio.to_thread.run_sync(hooks.wait_posts, 1)
            assert local_server.webhook_signing_key
            assert post.signed_with(local_server.webhook_signing_key)
            hook = post.json()
            assert hook["event"] == "CONNECTION_SUCCESS"

            listed = await call(mcp, "list_accounts")
            [account] = data(listed)["accounts"]
            assert account["id"] == hook["account"]["id"]
            assert account["app_slug"] == "openai"
            assert account["credential_fields"] == ["api_key"]
            assert secret not in json.dumps(listed.model_dump(mode="json"))

            echo = await call(mcp, "invoke_workflow", {"endpoint": "enecho", "body": {"hi": 1}})
            assert not echo.is_error, text(echo)
            echoed = json.loads(data(echo)["body"])
            assert echoed["external_user_id"] == user
            assert echoed["body"] == {"hi": 1}

            used = await call(
                mcp, "invoke_workflow", {"endpoint": "enaccount", "body": {"app": "openai"}}
            )
            assert data(used)["status"] == 200
            assert json.loads(data(used)["body"])["account"]["id"] == account["id"]

            deleted = await call(mcp, "delete_account", {"account_id": account["id"]})
            assert data(deleted)["deleted"] is True, text(deleted)
            assert data(deleted)["deleted_ids"] == [account["id"]]

            gone = await call(
                mcp, "invoke_workflow", {"endpoint": "enaccount", "body": {"app": "openai"}}
            )
            assert data(gone)["status"] == 404

    remaining = http().get(
        f"{local_server.base_url}/v1/connect/{local_server.project_id}/accounts",
        params={"external_user_id": user},
        headers={
            "Authorization": f"Bearer {access_token(local_server)}",
            "x-pd-environment": "development",
        },
    )
    assert remaining.json()["data"] == []
