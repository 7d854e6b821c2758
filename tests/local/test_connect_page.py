"""The Connect Link page over plain HTTP: headers, refusals and the rules a browser cannot
show on its own (the browser-driven flows are in tests/e2e)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from connect_mcp.local.catalog import find_app
from connect_mcp.local.connect_page.render import security_headers
from connect_mcp.local.embedded import LocalCredentials
from tests.support import access_token, connect_token, http, seed_account

KEYS = "/_static/connect/keys"
OAUTH = "/_static/connect/oauth"


def _accounts(creds: LocalCredentials, user: str) -> list[dict[str, Any]]:
    response = http().get(
        f"{creds.base_url}/v1/connect/{creds.project_id}/users/{user}/accounts",
        params={"include_credentials": "true"},
        headers={
            "Authorization": f"Bearer {access_token(creds)}",
            "x-pd-environment": "development",
        },
    )
    response.raise_for_status()
    accounts: list[dict[str, Any]] = response.json()
    return accounts


def _post(creds: LocalCredentials, path: str, data: dict[str, str], **headers: str) -> Any:
    return http().post(f"{creds.base_url}{path}", data=data, headers=headers)


def test_page_headers_forbid_scripts_framing_caching_and_referrers(
    local_server: LocalCredentials,
) -> None:
    link = connect_token(
        local_server, uuid4().hex, success_redirect_uri="https://app.example.com/done"
    )["connect_link_url"]
    response = http().get(link + "&app=openai")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src" not in csp
    assert "form-action 'self' https://app.example.com;" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-frame-options"] == "DENY"
    css = http().get(f"{local_server.base_url}/_static/connect.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")


def test_allowed_origins_may_frame_the_page(local_server: LocalCredentials) -> None:
    link = connect_token(local_server, uuid4().hex, allowed_origins=["https://app.example.com"])[
        "connect_link_url"
    ]
    response = http().get(link)
    assert "frame-ancestors https://app.example.com" in response.headers["content-security-policy"]
    assert "x-frame-options" not in response.headers


def test_only_origins_reach_the_csp() -> None:
    """Token creation accepts only origins; the page checks again when it renders (a row
    stored before that check must not put `*` or a path into frame-ancestors)."""
    csp = security_headers(
        frame_origins=["*", "https:", "https://a.example/x", "https://ok.example"]
    )["Content-Security-Policy"]
    assert csp.endswith("frame-ancestors https://ok.example")
    none = security_headers(frame_origins=["*"])["Content-Security-Policy"]
    assert none.endswith("frame-ancestors 'none'")


def test_a_post_from_another_origin_is_refused(local_server: LocalCredentials) -> None:
    user = uuid4().hex
    ctok = connect_token(local_server, user)["token"]
    data = {"token": ctok, "app": "openai", "cf_api_key": "sk-1"}
    for origin in ("https://evil.example", "null"):
        response = _post(local_server, KEYS, data, Origin=origin)
        assert response.status_code == 403
        assert "another site" in response.text
    assert _accounts(local_server, user) == []
    own = _post(local_server, KEYS, data, Origin=local_server.base_url)
    assert own.status_code == 200
    assert len(_accounts(local_server, user)) == 1


def test_validation_errors_do_not_spend_the_token(local_server: LocalCredentials) -> None:
    user = uuid4().hex
    ctok = connect_token(local_server, user)["token"]
    bad = _post(local_server, KEYS, {"token": ctok, "app": "twilio", "cf_accountSid": "AC1"})
    assert bad.status_code == 422
    assert "Auth Token is required." in bad.text
    assert 'value="AC1"' in bad.text  # non-secret input is kept for the person to fix
    multi = _post(local_server, KEYS, {"token": ctok, "app": "twilio", "cf_authToken": "a\nb"})
    assert "Account SID is required." in multi.text
    assert "single line" in multi.text
    good = _post(
        local_server,
        KEYS,
        {"token": ctok, "app": "twilio", "cf_accountSid": " AC1 ", "cf_authToken": "t"},
    )
    assert good.status_code == 200
    [account] = _accounts(local_server, user)
    assert account["credentials"] == {"accountSid": "AC1", "authToken": "t"}  # trimmed


def test_defaults_fill_optional_fields(local_server: LocalCredentials) -> None:
    user = uuid4().hex
    ctok = connect_token(local_server, user)["token"]
    response = _post(
        local_server,
        KEYS,
        {"token": ctok, "app": "datadog", "cf_api_key": "k", "cf_application_key": "a"},
    )
    assert response.status_code == 200
    [account] = _accounts(local_server, user)
    assert account["credentials"]["base_url"] == "datadoghq.com"


def test_a_token_connects_once(local_server: LocalCredentials) -> None:
    user = uuid4().hex
    ctok = connect_token(local_server, user)["token"]
    data = {"token": ctok, "app": "openai", "cf_api_key": "sk-1"}
    assert _post(local_server, KEYS, data).status_code == 200
    again = _post(local_server, KEYS, data)
    assert again.status_code == 410
    assert "already been used" in again.text
    assert len(_accounts(local_server, user)) == 1


@pytest.mark.parametrize(
    ("token", "status", "text"),
    [
        (None, 400, "incomplete"),
        ("ctok_" + "0" * 32, 404, "not valid"),
        ("x" * 500, 404, "not valid"),
    ],
)
def test_bad_links_say_so(
    local_server: LocalCredentials, token: str | None, status: int, text: str
) -> None:
    params = {"connectLink": "true"} | ({"token": token} if token else {})
    response = http().get(f"{local_server.base_url}/_static/connect.html", params=params)
    assert response.status_code == status
    assert text in response.text
    assert "Traceback" not in response.text


def test_reconnect_is_only_for_the_users_own_account(local_server: LocalCredentials) -> None:
    owner, other = uuid4().hex, uuid4().hex
    account = seed_account(local_server, owner, "openai", {"api_key": "sk-owner"})
    link = connect_token(local_server, other)["connect_link_url"]
    page = http().get(link + f"&accountId={account['id']}")
    assert page.status_code == 404
    assert "cannot be reconnected" in page.text
    ctok = link.split("token=")[1].split("&")[0]
    forged = _post(
        local_server,
        KEYS,
        {"token": ctok, "app": "openai", "account_id": account["id"], "cf_api_key": "sk-evil"},
    )
    assert forged.status_code == 404
    assert _accounts(local_server, owner)[0]["credentials"] == {"api_key": "sk-owner"}
    assert _accounts(local_server, other) == []


def test_reconnect_app_must_match(local_server: LocalCredentials) -> None:
    user = uuid4().hex
    account = seed_account(local_server, user, "openai", {"api_key": "sk-1"})
    link = connect_token(local_server, user)["connect_link_url"]
    response = http().get(link + f"&accountId={account['id']}&app=stripe")
    assert response.status_code == 400
    assert "does not match" in response.text


def test_unknown_app_goes_back_to_the_picker(local_server: LocalCredentials) -> None:
    link = connect_token(local_server, uuid4().hex)["connect_link_url"]
    response = http().get(link + "&app=nope")
    assert response.status_code == 200
    assert "There is no app called" in response.text
    assert "Search apps" in response.text


def test_picker_search(local_server: LocalCredentials) -> None:
    link = connect_token(local_server, uuid4().hex)["connect_link_url"]
    found = http().get(link + "&q=payment")
    assert "Stripe" in found.text
    assert 'class="app-name">Slack<' not in found.text
    none = http().get(link + "&q=zzzz")
    assert "No app matches" in none.text


def test_form_posts_must_be_url_encoded(local_server: LocalCredentials) -> None:
    response = http().post(f"{local_server.base_url}{KEYS}", json={"token": "x"})
    assert response.status_code == 400
    assert "could not be read" in response.text


def test_oauth_allow_creates_tokens_with_an_expiry(local_server: LocalCredentials) -> None:
    user = uuid4().hex
    ctok = connect_token(local_server, user)["token"]
    response = _post(local_server, OAUTH, {"token": ctok, "app": "github", "decision": "allow"})
    assert response.status_code == 200
    [account] = _accounts(local_server, user)
    credentials = account["credentials"]
    assert credentials["oauth_access_token"].startswith("lat_")
    assert credentials["oauth_refresh_token"].startswith("lrt_")
    github = find_app("github")
    assert github is not None
    assert credentials["oauth_scopes"] == " ".join(github.scopes)
    assert account["expires_at"] is not None
    assert account["app"]["name_slug"] == "github"


def test_oauth_app_with_fields_validates_them(local_server: LocalCredentials) -> None:
    user = uuid4().hex
    ctok = connect_token(local_server, user)["token"]
    data = {"token": ctok, "app": "shopify_developer_app", "decision": "allow"}
    missing = _post(local_server, OAUTH, data)
    assert missing.status_code == 422
    assert "Shop ID is required." in missing.text
    ok = _post(local_server, OAUTH, data | {"cf_shop_id": "my-store"})
    assert ok.status_code == 200
    assert _accounts(local_server, user)[0]["credentials"]["shop_id"] == "my-store"


def test_oauth_deny_without_redirect_shows_a_result_and_keeps_the_token(
    local_server: LocalCredentials,
) -> None:
    user = uuid4().hex
    ctok = connect_token(local_server, user)["token"]
    denied = _post(local_server, OAUTH, {"token": ctok, "app": "slack", "decision": "deny"})
    assert denied.status_code == 200
    assert "You denied access" in denied.text
    assert _accounts(local_server, user) == []
    allowed = _post(local_server, OAUTH, {"token": ctok, "app": "slack", "decision": "allow"})
    assert allowed.status_code == 200  # changed their mind: the link still works once


def test_a_key_app_cannot_be_posted_as_oauth(local_server: LocalCredentials) -> None:
    user = uuid4().hex
    ctok = connect_token(local_server, user)["token"]
    response = _post(local_server, OAUTH, {"token": ctok, "app": "openai", "decision": "allow"})
    assert response.status_code == 400
    assert _accounts(local_server, user) == []


def test_code_spans_escape_everything() -> None:
    from connect_mcp.local.connect_page.render import code_spans

    assert str(code_spans("Your `sk_<b>` key")) == "Your <code>sk_&lt;b&gt;</code> key"
    assert str(code_spans("a ` <script>")) == "a ` &lt;script&gt;"
    assert str(code_spans("<i>plain</i>")) == "&lt;i&gt;plain&lt;/i&gt;"


def test_field_descriptions_show_code(local_server: LocalCredentials) -> None:
    link = connect_token(local_server, uuid4().hex)["connect_link_url"]
    page = http().get(link + "&app=stripe").text
    assert "<code>sk_live_...</code>" in page


async def test_a_bug_renders_an_apology_not_a_traceback() -> None:
    """A handler that raises (a bug no request can trigger on purpose) still renders a page."""
    from starlette.requests import Request
    from starlette.responses import Response

    from connect_mcp.local.connect_page.views import never_a_traceback

    @never_a_traceback
    async def broken(_request: Request) -> Response:
        raise RuntimeError("secret internals")

    scope = {"type": "http", "method": "GET", "path": "/x", "headers": [(b"host", b"h")]}
    response = await broken(Request(scope))
    assert response.status_code == 500
    body = bytes(response.body).decode()
    assert "Something went wrong" in body
    assert "secret internals" not in body
    assert "Traceback" not in body


def test_an_oversized_form_is_refused(local_server: LocalCredentials) -> None:
    ctok = connect_token(local_server, uuid4().hex)["token"]
    data = {"token": ctok, "app": "openai", "cf_api_key": "k" * 100_000}
    response = _post(local_server, KEYS, data)
    assert response.status_code == 413
    assert "This form is too large" in response.text
    assert "Traceback" not in response.text
