"""The out-of-band gate with a person in a real browser.

A real MCP client session (both protocol eras) whose URL-elicitation callback hands the page's
address to headless Chromium, which reads the page and clicks Confirm (the account is deleted)
or Cancel (nothing is deleted). The local Connect server, the MCP server and its confirmation
page server are all real; a screenshot of the page lands in test-artifacts/.
"""

from __future__ import annotations

from typing import Literal

import anyio
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitRequestURLParams, ElicitResult, ErrorData

from connect_mcp.local.embedded import LocalCredentials
from tests.e2e.conftest import CHROMIUM_ARGS, artifact, require_chromium
from tests.server.helpers import ERAS, data, make_server, new_user, text
from tests.support import seed_account

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

Button = Literal["Confirm and delete", "Cancel"]


def _decide_in_browser(executable: str, url: str, button: Button, shot: str) -> dict[str, str]:
    """What the person does with the page (a worker thread: sync Playwright)."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 800})
            page.set_default_timeout(10_000)
            page.goto(url)
            seen = {
                "title": page.locator("h1").inner_text(),
                "targets": page.locator("#targets").inner_text(),
                "user": page.locator("#user").inner_text(),
            }
            page.screenshot(path=artifact(shot), full_page=True)
            page.click(f"button:has-text('{button}')")
            expect(page.locator("#result")).to_be_visible()
            seen["result"] = page.locator("#result").inner_text()
        finally:
            browser.close()
    return seen


@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize("button", ["Confirm and delete", "Cancel"])
async def test_a_person_decides_in_the_browser(
    local_server: LocalCredentials, mode: str, button: Button
) -> None:
    executable = require_chromium()
    user = new_user()
    target = seed_account(
        local_server, user, "openai", {"api_key": "sk-test-0123456789abcdef"}, name="Team key"
    )["id"]
    seen: list[dict[str, str]] = []

    async def browser_callback(
        context: ClientRequestContext, params: ElicitRequestParams
    ) -> ElicitResult | ErrorData:
        assert isinstance(params, ElicitRequestURLParams)
        shot = f"confirm-page-{mode}-{'confirm' if button != 'Cancel' else 'cancel'}.png"
        seen.append(
            await anyio.to_thread.run_sync(_decide_in_browser, executable, params.url, button, shot)
        )
        return ElicitResult(action="accept")

    # A short expiry, so a page that fails to decide fails the test quickly.
    server = make_server(
        local_server, user, confirm="url", confirm_progress_interval=0.1, confirm_expiry=30
    )
    async with Client(server, mode=mode, elicitation_callback=browser_callback) as c:
        result = await c.call_tool("delete_account", {"account_id": target})
        listing = await c.call_tool("list_accounts", {})
    [page] = seen
    assert page["title"] == "Confirm delete"
    assert page["user"] == user
    assert target in page["targets"]
    assert "OpenAI" in page["targets"]
    assert "Team key" in page["targets"]
    remaining = [a["id"] for a in data(listing)["accounts"]]
    if button == "Cancel":
        assert page["result"].startswith("Cancelled: nothing was deleted")
        assert data(result)["deleted"] is False, text(result)
        assert data(result)["confirmation"] == "cancelled"
        assert remaining == [target]
    else:
        assert page["result"].startswith("Confirmed.")
        assert data(result)["deleted_ids"] == [target], text(result)
        assert data(result)["confirmation"] == "confirmed"
        assert remaining == []
