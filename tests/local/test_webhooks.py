"""Connection webhooks: signing and verifying, retries with backoff, the key on disk and in
`connect-mcp local` output, and that a failing receiver never breaks the person's flow."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from uuid import uuid4

from connect_mcp.local import webhooks
from connect_mcp.local.embedded import LocalCredentials
from tests.e2e.receiver import receiver
from tests.support import access_token, clean_env, connect_token, http

KEY = "whsec_test"


def test_signature_verifies_and_rejects_tampering_and_replays() -> None:
    body = b'{"event":"CONNECTION_SUCCESS"}'
    now = int(time.time())
    signature = webhooks.sign(KEY, now, body)
    assert signature.startswith("v1=")
    assert webhooks.verify(KEY, body, str(now), signature)
    assert not webhooks.verify(KEY, body + b" ", str(now), signature)  # body changed
    assert not webhooks.verify("whsec_other", body, str(now), signature)  # wrong key
    assert not webhooks.verify(KEY, body, str(now + 1), signature)  # timestamp changed
    old = now - 3600
    assert not webhooks.verify(KEY, body, str(old), webhooks.sign(KEY, old, body))  # replay
    assert not webhooks.verify(KEY, body, "soon", signature)


async def test_delivery_retries_transient_failures_with_the_same_delivery_id() -> None:
    with receiver(statuses=[503, 500]) as recv:
        payload = {"event": "CONNECTION_ERROR", "error": "x"}
        ok = await webhooks.deliver(recv.url + "/hook", payload, KEY, backoff=0.01)
        posts = recv.posts()
    assert ok
    assert len(posts) == 3
    assert len({p.headers["x-connect-mcp-delivery"] for p in posts}) == 1
    for post in posts:
        assert post.json() == payload
        assert post.signed_with(KEY)


async def test_delivery_gives_up_on_a_client_error_and_on_a_dead_receiver() -> None:
    with receiver(statuses=[400]) as recv:
        assert not await webhooks.deliver(recv.url, {"event": "E"}, KEY, backoff=0.01)
        assert len(recv.posts()) == 1  # a 400 is not retried
        dead = recv.url
    started = time.monotonic()
    assert not await webhooks.deliver(dead, {"event": "E"}, KEY, attempts=3, backoff=0.01)
    assert time.monotonic() - started < 5


def test_the_key_is_kept_0600_and_reused(tmp_path: Path) -> None:
    first = webhooks.load_signing_key(tmp_path)
    assert first.startswith("whsec_")
    assert len(first) > 40
    assert stat.S_IMODE(os.stat(tmp_path / webhooks.KEY_FILE).st_mode) == 0o600
    assert webhooks.load_signing_key(tmp_path) == first


def test_local_server_exposes_its_key(local_server: LocalCredentials) -> None:
    assert local_server.webhook_signing_key
    assert local_server.webhook_signing_key.startswith("whsec_")


def test_connect_mcp_local_prints_the_signing_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "connect_mcp", "local", "--port", "0", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(5)]
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    values = dict(line.split("=", 1) for line in lines if "=" in line)
    key = (data_dir / webhooks.KEY_FILE).read_text().strip()
    assert values["PIPEDREAM_WEBHOOK_SIGNING_KEY"] == key
    assert key not in err


def test_a_failing_receiver_never_breaks_the_flow(local_server: LocalCredentials) -> None:
    with receiver(statuses=[500] * 10) as recv:
        ctok = connect_token(local_server, uuid4().hex, webhook_uri=recv.url + "/hook")["token"]
        response = http().post(
            f"{local_server.base_url}/_static/connect/keys",
            data={"token": ctok, "app": "anthropic", "cf_api_key": "sk-ant-xyz"},
        )
        assert response.status_code == 200
        assert "connected" in response.text
        first = recv.wait_posts(1)[0]  # delivered, refused, retried in the background
    assert first.json()["event"] == "CONNECTION_SUCCESS"


def test_webhook_payload_never_carries_credentials(local_server: LocalCredentials) -> None:
    user = uuid4().hex
    secret = "sk-" + uuid4().hex
    with receiver() as recv:
        ctok = connect_token(local_server, user, webhook_uri=recv.url + "/hook")["token"]
        response = http().post(
            f"{local_server.base_url}/_static/connect/keys",
            data={"token": ctok, "app": "openai", "cf_api_key": secret, "account_name": "Work"},
        )
        assert response.status_code == 200
        [post] = recv.wait_posts(1)
    payload = post.json()
    assert secret not in post.body.decode()
    assert "credentials" not in payload["account"]
    assert payload["event"] == "CONNECTION_SUCCESS"
    assert payload["connect_token"] == ctok
    assert payload["environment"] == "development"
    assert payload["connect_session_id"].startswith("cs_")
    assert payload["account"]["external_id"] == user
    assert payload["account"]["name"] == "Work"
    assert post.headers["x-connect-mcp-event"] == "CONNECTION_SUCCESS"
    assert local_server.webhook_signing_key
    assert post.signed_with(local_server.webhook_signing_key)
    # The account is what the API returns for that user.
    listed = (
        http()
        .get(
            f"{local_server.base_url}/v1/connect/{local_server.project_id}/accounts",
            params={"external_user_id": user},
            headers={
                "Authorization": f"Bearer {access_token(local_server)}",
                "x-pd-environment": "development",
            },
        )
        .json()["data"]
    )
    assert [a["id"] for a in listed] == [payload["account"]["id"]]
    assert json.dumps(listed).count(secret) == 0
