"""The redactor: structural rules and by-value scrubbing, in every encoding we promise."""

from __future__ import annotations

import base64
import json
import urllib.parse

from pydantic import SecretStr

from connect_mcp.redact import REDACTED, Redactor, is_secret_name


def test_credentials_become_their_field_names() -> None:
    r = Redactor()
    out = r.scrub_obj({"id": "apn_1", "credentials": {"oauth_access_token": "x", "api_key": "y"}})
    assert out == {"id": "apn_1", "credentials": ["api_key", "oauth_access_token"]}


def test_secret_names_are_masked_anywhere_but_timestamps_are_not() -> None:
    r = Redactor()
    out = r.scrub_obj(
        {
            "nested": [{"client_secret": "abc", "Authorization": "Bearer z", "api-key": "k"}],
            "next_refresh_at": "2026-01-01",
            "expires_at": "2026-01-02",
            "token_type": "Bearer",
        }
    )
    assert out == {
        "nested": [{"client_secret": REDACTED, "Authorization": REDACTED, "api-key": REDACTED}],
        "next_refresh_at": "2026-01-01",
        "expires_at": "2026-01-02",
        "token_type": "Bearer",
    }
    assert is_secret_name("oauth_refresh_token")
    assert not is_secret_name("external_user_id")


def test_known_values_are_scrubbed_in_every_encoding() -> None:
    secret = 'xoxb-"quoted"/slash+plus=éü'
    r = Redactor()
    r.add(SecretStr(secret))
    encodings = [
        secret,
        json.dumps(secret)[1:-1],
        urllib.parse.quote(secret, safe=""),
        base64.b64encode(secret.encode()).decode(),
        base64.urlsafe_b64encode(secret.encode()).decode().rstrip("="),
    ]
    for enc in encodings:
        text = f"before {enc} after"
        assert r.scrub(text) == f"before {REDACTED} after", enc


def test_longer_secret_wins_over_its_prefix() -> None:
    r = Redactor()
    r.add("abcdef123", "abcdef123456789")
    assert r.scrub("x abcdef123456789 y") == f"x {REDACTED} y"


def test_short_values_are_not_scrubbed_by_value() -> None:
    r = Redactor()
    r.add("abc")
    assert r.scrub("abc abc") == "abc abc"
    assert len(r) == 0


def test_scrub_obj_scrubs_values_under_innocent_names() -> None:
    r = Redactor()
    r.add("sk-live-0123456789")
    assert r.scrub_obj({"echo": ["sk-live-0123456789"]}) == {"echo": [REDACTED]}


def test_a_secret_containing_one_learnt_earlier_is_masked_whole() -> None:
    """The two secrets sit in different pattern generations; the union of their matches is
    masked, so no fragment of the longer one survives around the shorter."""
    r = Redactor()
    r.add("inner-secret-123")
    r.add(*(f"filler-{i:04d}-secret" for i in range(40)))
    r.add("XXouter-inner-secret-123-tailXX")
    assert r.scrub("a XXouter-inner-secret-123-tailXX b") == f"a {REDACTED} b"
    assert r.scrub("a inner-secret-123 b") == f"a {REDACTED} b"


def test_a_secret_used_as_a_mapping_key_is_scrubbed() -> None:
    r = Redactor()
    r.add("sk-key-0123456789")
    assert r.scrub_obj({"sk-key-0123456789": 1}) == {REDACTED: 1}
