"""The Connect Link page in a real browser (headless Chromium): what a person sees and does.

The local Connect server is real, the webhook receiver and the developer's redirect target
are a real HTTP server on 127.0.0.1, and accounts are checked through the REST API.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import pytest

from connect_mcp.local.embedded import LocalCredentials
from tests.e2e.conftest import artifact
from tests.e2e.receiver import receiver
from tests.support import access_token, connect_token, http, seed_account

if TYPE_CHECKING:
    from playwright.sync_api import Page


def expect(locator: Any) -> Any:
    """Playwright's retrying assertions (imported late: skipped runs need no Playwright)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]


def _accounts(creds: LocalCredentials, user: str) -> list[dict[str, Any]]:
    response = http().get(
        f"{creds.base_url}/v1/connect/{creds.project_id}/accounts",
        params={"external_user_id": user, "include_credentials": "true"},
        headers={
            "Authorization": f"Bearer {access_token(creds)}",
            "x-pd-environment": "development",
        },
    )
    response.raise_for_status()
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def test_key_based_flow_from_picker_to_signed_webhook(
    local_server: LocalCredentials, page: Page
) -> None:
    user = f"user-{uuid4().hex}"
    secret = "sk-" + uuid4().hex
    with receiver() as hooks:
        link = connect_token(local_server, user, webhook_uri=f"{hooks.url}/hook")
        page.goto(link["connect_link_url"])
        expect(page.locator("h1")).to_have_text("Connect an account")
        page.screenshot(path=artifact("connect-picker.png"), full_page=True)

        page.fill("#q", "openai")
        page.click("button:has-text('Search')")
        expect(page.locator(".app-name")).to_have_text(["OpenAI (ChatGPT)"])
        page.click("text=OpenAI (ChatGPT)")

        expect(page.locator("h1")).to_have_text("Connect OpenAI (ChatGPT)")
        assert page.get_attribute("#cf_api_key", "type") == "password"
        assert page.get_attribute("#cf_api_key", "required") is not None
        assert page.get_attribute("#cf_organization", "required") is None
        page.fill("#cf_api_key", secret)
        page.fill("#cf_organization", "org-123")
        page.fill("#account_name", "Work")
        page.screenshot(path=artifact("connect-form.png"), full_page=True)
        page.click("button:has-text('Connect OpenAI')")

        expect(page.locator("h1")).to_have_text("OpenAI (ChatGPT) connected")
        [account] = _accounts(local_server, user)
        expect(page.locator("dd code")).to_have_text(account["id"])
        assert account["external_id"] == user
        assert account["name"] == "Work"
        assert account["credentials"] == {"api_key": secret, "organization": "org-123"}

        [post] = hooks.wait_posts(1)
    assert post.path == "/hook"
    assert post.signed_with(local_server.webhook_signing_key)
    payload = post.json()
    assert payload["event"] == "CONNECTION_SUCCESS"
    assert payload["account"]["id"] == account["id"]
    assert secret not in post.body.decode()


def test_validation_errors_are_shown_and_fixable(
    local_server: LocalCredentials, page: Page
) -> None:
    user = f"user-{uuid4().hex}"
    page.goto(connect_token(local_server, user)["connect_link_url"] + "&app=postgresql")
    assert page.get_attribute("#cf_port", "placeholder") == "5432"
    page.fill("#cf_host", "db.internal")
    page.fill("#cf_password", "hunter2")
    page.click("button:has-text('Connect PostgreSQL')")

    expect(page.locator(".alert")).to_be_visible()
    alert = page.locator(".alert").inner_text()
    assert "Please fix these 2 to continue" in alert
    assert "Username is required." in alert
    assert "Database is required." in alert
    assert page.locator("#cf_user + .hint + .error, #cf_user ~ .error").first.is_visible()
    assert page.get_attribute("#cf_user", "aria-invalid") == "true"
    assert page.input_value("#cf_host") == "db.internal"  # kept
    assert page.input_value("#cf_password") == ""  # secrets are not echoed back
    assert _accounts(local_server, user) == []

    page.fill("#cf_user", "app")
    page.fill("#cf_password", "hunter2")
    page.fill("#cf_database", "main")
    page.click("button:has-text('Connect PostgreSQL')")
    expect(page.locator("h1")).to_have_text("PostgreSQL connected")
    [account] = _accounts(local_server, user)
    assert account["credentials"]["port"] == "5432"


def test_used_expired_and_unknown_links(local_server: LocalCredentials, page: Page) -> None:
    user = f"user-{uuid4().hex}"
    used = connect_token(local_server, user)["connect_link_url"]
    page.goto(used + "&app=anthropic")
    page.fill("#cf_api_key", "sk-ant-1")
    page.click("button:has-text('Connect')")
    expect(page.locator("h1")).to_contain_text("connected")

    response = page.goto(used + "&app=anthropic")
    assert response is not None
    assert response.status == 410
    expect(page.locator("h1")).to_have_text("This link has already been used")

    expiring = connect_token(local_server, user, expires_in=1)["connect_link_url"]
    time.sleep(1.1)
    page.goto(expiring)
    expect(page.locator("h1")).to_have_text("This link has expired")
    expect(page.locator(".lead")).to_contain_text("request a new one")

    page.goto(f"{local_server.base_url}/_static/connect.html?token=ctok_nope&connectLink=true")
    expect(page.locator("h1")).to_have_text("This link is not valid")
    assert "Traceback" not in page.content()


def test_oauth_deny_redirects_with_the_error_and_sends_connection_error(
    local_server: LocalCredentials, page: Page
) -> None:
    user = f"user-{uuid4().hex}"
    with receiver() as app_site:
        link = connect_token(
            local_server,
            user,
            webhook_uri=f"{app_site.url}/hook",
            success_redirect_uri=f"{app_site.url}/done?from=connect",
            error_redirect_uri=f"{app_site.url}/failed?from=connect",
        )
        page.goto(link["connect_link_url"] + "&app=github")
        expect(page.locator("h1")).to_have_text("Connect GitHub")
        expect(page.locator(".lead")).to_contain_text("requesting access to your GitHub account")
        assert page.locator(".scopes li").count() >= 1
        page.screenshot(path=artifact("connect-consent.png"), full_page=True)
        page.click("button:has-text('Deny')")

        page.wait_for_url(f"{app_site.url}/failed*")
        query = parse_qs(urlsplit(page.url).query)
        assert query["from"] == ["connect"]
        assert query["error"] == ["access_denied"]
        assert "denied access to GitHub" in query["error_description"][0]
        expect(page.locator("h1")).to_have_text("Back in the app")
        [post] = app_site.wait_posts(1)
    assert post.signed_with(local_server.webhook_signing_key)
    payload = post.json()
    assert payload["event"] == "CONNECTION_ERROR"
    assert payload["error"].startswith("access_denied")
    assert payload["connect_token"] == link["token"]
    assert _accounts(local_server, user) == []


def test_oauth_allow_redirects_with_the_account_id(
    local_server: LocalCredentials, page: Page
) -> None:
    user = f"user-{uuid4().hex}"
    with receiver() as app_site:
        link = connect_token(local_server, user, success_redirect_uri=f"{app_site.url}/done")
        page.goto(link["connect_link_url"] + "&app=slack")
        page.click("button:has-text('Allow')")
        page.wait_for_url(f"{app_site.url}/done*")
    [account] = _accounts(local_server, user)
    assert parse_qs(urlsplit(page.url).query)["account_id"] == [account["id"]]
    assert account["credentials"]["oauth_access_token"]
    assert account["credentials"]["oauth_refresh_token"]
    assert account["expires_at"]


def test_reconnect_replaces_credentials(local_server: LocalCredentials, page: Page) -> None:
    user = f"user-{uuid4().hex}"
    old = seed_account(local_server, user, "stripe", {"api_key": "sk_test_old"}, name="Shop")
    link = connect_token(local_server, user)["connect_link_url"]
    page.goto(link + f"&accountId={old['id']}")
    expect(page.locator("h1")).to_have_text("Reconnect Stripe")
    expect(page.locator(".lead")).to_contain_text(old["id"])
    page.fill("#cf_api_key", "sk_test_new")
    page.click("button:has-text('Reconnect Stripe')")
    expect(page.locator("h1")).to_have_text("Stripe reconnected")

    [account] = _accounts(local_server, user)
    assert account["id"] == old["id"]
    assert account["name"] == "Shop"
    assert account["credentials"] == {"api_key": "sk_test_new"}


def test_everything_printed_is_escaped(local_server: LocalCredentials, page: Page) -> None:
    user = f"<script>window.__pwned = 1</script><b>{uuid4().hex[:6]}</b>"
    name = '<img src=x onerror="window.__pwned = 2">'
    link = connect_token(local_server, user)["connect_link_url"]
    page.goto(link + "&app=" + "%3Cscript%3Ewindow.__pwned%3D3%3C%2Fscript%3E")
    expect(page.locator(".alert")).to_contain_text("<script>window.__pwned=3</script>")
    expect(page.locator("footer code.user")).to_have_text(user)

    page.goto(link + "&app=sendgrid")
    page.fill("#cf_api_key", "SG.x")
    page.fill("#account_name", name)
    page.click("button:has-text('Connect SendGrid')")
    expect(page.locator("dd").nth(1)).to_have_text(name)
    assert page.locator("img").count() == 0
    assert page.locator("b").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_a_browser_reaches_a_workflow_by_host(local_server: LocalCredentials, page: Page) -> None:
    """Chromium resolves `*.localhost`, so `http://enecho.localhost:PORT/` reaches the workflow."""
    port = urlsplit(local_server.base_url).port
    page.context.set_extra_http_headers(
        {
            "Authorization": f"Bearer {access_token(local_server)}",
            "X-PD-External-User-ID": "browser-user",
        }
    )
    response = page.goto(f"http://enecho.localhost:{port}/")
    assert response is not None
    assert response.status == 200
    echo = response.json()
    assert echo["external_user_id"] == "browser-user"
    assert echo["method"] == "GET"
