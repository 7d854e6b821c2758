"""`create_connect_link` carries the operator's webhook and redirect settings
(`CONNECT_MCP_CONNECT_*`), never the model's: the person who finishes the link is sent where
the operator said, and the operator's app hears about it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from mcp import Client

from connect_mcp.local.embedded import LocalCredentials
from connect_mcp.tools._base import LinkOptions
from tests.e2e.receiver import receiver
from tests.server.helpers import call, data, make_server, new_user
from tests.support import http


async def test_links_carry_the_operators_webhook_and_redirect(
    local_server: LocalCredentials,
) -> None:
    user = new_user()
    with receiver() as app:
        server = make_server(
            local_server,
            user,
            link_options=LinkOptions(
                webhook_uri=f"{app.url}/hooks/connect",
                success_redirect_uri=f"{app.url}/connected",
            ),
        )
        async with Client(server) as c:
            link = data(await call(c, "create_connect_link", {"app": "openai"}))
        [token] = parse_qs(urlsplit(link["url"]).query)["token"]

        # The person fills in the form (plain HTTP here; the browser flow is in tests/e2e).
        done = http().post(
            f"{local_server.base_url}/_static/connect/keys",
            data={"token": token, "app": "openai", "cf_api_key": "sk-op-0123456789abcdef"},
            follow_redirects=False,
        )
        assert done.status_code in (302, 303), done.text
        assert done.headers["location"].startswith(f"{app.url}/connected?account_id=apn_")

        [hook] = app.wait_posts(1)
    assert hook.path == "/hooks/connect"
    assert hook.json()["event"] == "CONNECTION_SUCCESS"
    assert hook.json()["account"]["external_id"] == user
    assert "sk-op-0123456789abcdef" not in hook.body.decode()
    assert local_server.webhook_signing_key is not None
    assert hook.signed_with(local_server.webhook_signing_key)


async def test_without_settings_a_link_has_no_webhook_or_redirect(
    local_server: LocalCredentials,
) -> None:
    server = make_server(local_server, new_user())
    async with Client(server) as c:
        link = data(await call(c, "create_connect_link", {"app": "openai"}))
    [token] = parse_qs(urlsplit(link["url"]).query)["token"]
    done = http().post(
        f"{local_server.base_url}/_static/connect/keys",
        data={"token": token, "app": "openai", "cf_api_key": "sk-op-0123456789abcdef"},
        follow_redirects=False,
    )
    assert done.status_code == 200  # the local server's own result page
    assert "location" not in done.headers
