"""Encryption at rest, digests instead of bearer secrets, key rotation, wrong-key refusal."""

from __future__ import annotations

import base64
import io
import json
import logging
import secrets
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from connect_mcp.local import crypto
from connect_mcp.local.crypto import DataKey
from connect_mcp.local.dirlock import DataDirBusyError
from connect_mcp.local.embedded import EmbeddedServer, LocalCredentials
from connect_mcp.local.keys import rotate_key
from connect_mcp.local.seed import seed
from connect_mcp.log import configure_logging, get_logger
from connect_mcp.redact import REDACTOR
from tests.support import access_token, api_headers, connect_token, http, seed_account

SECRETS = {
    "openai": {"api_key": "sk-proj-AtRestCanary0001"},
    "twilio": {"accountSid": "ACcanary", "authToken": "TwilioCanarySecret0002"},
    "github": {"oauth_access_token": "gho_CanaryAccess0003", "oauth_refresh_token": "ghr_R0004"},
}


def _raw_bytes(data_dir: Path) -> bytes:
    """The database file and its WAL / shared-memory companions, as they are on disk."""
    files = sorted(data_dir.glob("connect.db*"))
    assert any(f.name == "connect.db" for f in files)
    return b"".join(f.read_bytes() for f in files)


def _credentials(creds: LocalCredentials, account_id: str) -> dict[str, str]:
    response = http().get(
        f"{creds.base_url}/v1/connect/{creds.project_id}/accounts/{account_id}",
        params={"include_credentials": "true"},
        headers=api_headers(creds),
    )
    assert response.status_code == 200, response.text
    got: dict[str, str] = response.json()["credentials"]
    return got


def test_no_secret_in_the_database_files(
    make_local_server: Callable[..., LocalCredentials], tmp_path: Path
) -> None:
    data_dir = tmp_path / "rest"
    creds = make_local_server(data_dir=data_dir)
    ids = {app: seed_account(creds, "erin", app, c)["id"] for app, c in SECRETS.items()}
    bearer = access_token(creds)
    ctok = connect_token(creds, "erin", token=bearer)["token"]
    raw = _raw_bytes(data_dir)  # the server is still running: the WAL holds recent writes
    assert (data_dir / "connect.db-wal").exists()
    for values in SECRETS.values():
        for value in values.values():
            assert value.encode() not in raw, value
    for secret in (bearer, ctok, creds.client_secret):
        assert secret.encode() not in raw
    # ...and yet the API gives them back.
    assert _credentials(creds, ids["twilio"]) == SECRETS["twilio"]


def test_secret_files_are_private(
    make_local_server: Callable[..., LocalCredentials], tmp_path: Path
) -> None:
    data_dir = tmp_path / "perm"
    make_local_server(data_dir=data_dir)
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    for name in ("encryption.key", "digest.key", "client.json", "connect.db"):
        assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name
    saved = json.loads((data_dir / "client.json").read_text())
    assert saved["project_id"].startswith("proj_")


def test_ciphertexts_carry_their_key_id() -> None:
    key = DataKey.generate()
    sealed = crypto.seal(key, b"secret", aad=b"row-1")
    assert crypto.key_id_of(sealed) == key.key_id
    assert crypto.open_sealed(key, sealed, aad=b"row-1") == b"secret"
    assert crypto.seal(key, b"secret", aad=b"row-1") != sealed  # a fresh nonce every time
    with pytest.raises(crypto.WrongKeyError):
        crypto.open_sealed(key, sealed, aad=b"row-2")  # bound to its row
    with pytest.raises(crypto.WrongKeyError, match="key id"):
        crypto.open_sealed(DataKey.generate(), sealed, aad=b"row-1")


def test_wrong_key_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    data_dir = tmp_path / "keyed"
    right, wrong = DataKey.generate(), DataKey.generate()
    with EmbeddedServer(data_dir, encryption_key=right.encode()) as creds:
        seed_account(creds, "frank", "stripe", {"api_key": "sk_wrongkey"})
    assert not (data_dir / "encryption.key").exists()  # a configured key is never written
    with pytest.raises(crypto.WrongKeyError, match=f"key id {right.key_id}"):
        EmbeddedServer(data_dir, encryption_key=wrong.encode()).start()
    with pytest.raises(crypto.WrongKeyError, match="missing"):
        EmbeddedServer(data_dir).start()  # no key at all
    with pytest.raises(crypto.EncryptionKeyError, match="32 bytes"):
        EmbeddedServer(data_dir, encryption_key="too-short").start()
    with EmbeddedServer(data_dir, encryption_key=right.material.hex()) as again:
        listed = (
            http()
            .get(
                f"{again.base_url}/v1/connect/{again.project_id}/accounts",
                params={"include_credentials": "true"},
                headers=api_headers(again),
            )
            .json()
        )
        assert listed["data"][0]["credentials"] == {"api_key": "sk_wrongkey"}


def test_rotate_key_reencrypts_everything(tmp_path: Path) -> None:
    data_dir = tmp_path / "rotate"
    seed(data_dir, users=3, accounts_per_user=4)
    with EmbeddedServer(data_dir) as creds:
        made = seed_account(creds, "gina", "openai", {"api_key": "sk-before-rotation"})
    old = DataKey.parse((data_dir / "encryption.key").read_text())
    rotation = rotate_key(data_dir)
    assert rotation.accounts == 13
    new = DataKey.parse((data_dir / "encryption.key").read_text())
    assert (rotation.old_key_id, rotation.new_key_id) == (old.key_id, new.key_id)
    assert old.key_id.encode() not in _raw_bytes(data_dir)  # no ciphertext under the old id
    assert not (data_dir / "encryption.key.new").exists()
    with EmbeddedServer(data_dir) as creds:
        assert _credentials(creds, made["id"]) == {"api_key": "sk-before-rotation"}
    with pytest.raises(crypto.WrongKeyError):
        EmbeddedServer(data_dir, encryption_key=old.encode()).start()


def test_rotate_key_refuses_while_a_server_runs(tmp_path: Path) -> None:
    data_dir = tmp_path / "busy"
    with EmbeddedServer(data_dir) as creds:
        made = seed_account(creds, "ivan", "stripe", {"api_key": "sk_busy"})
        key_before = (data_dir / "encryption.key").read_text()
        with pytest.raises(DataDirBusyError, match="stop it"):
            rotate_key(data_dir)
        assert (data_dir / "encryption.key").read_text() == key_before
        assert _credentials(creds, made["id"]) == {"api_key": "sk_busy"}
    assert rotate_key(data_dir).accounts == 1


def test_interrupted_rotation_is_finished_on_start(tmp_path: Path) -> None:
    """Crash after the database commit, before the key file was replaced."""
    data_dir = tmp_path / "crash"
    with EmbeddedServer(data_dir) as creds:
        made = seed_account(creds, "hank", "stripe", {"api_key": "sk_crash"})
    from connect_mcp.local.store import Store

    old = DataKey.parse((data_dir / "encryption.key").read_text())
    new = DataKey.generate()
    store = Store(data_dir / "connect.db", old)
    store.rotate_key(new)
    store.close()
    crypto.write_secret_file(data_dir / "encryption.key.new", new.encode())
    with EmbeddedServer(data_dir) as creds:
        assert _credentials(creds, made["id"]) == {"api_key": "sk_crash"}
    assert DataKey.parse((data_dir / "encryption.key").read_text()).key_id == new.key_id


def test_rotation_interrupted_while_vacuuming_keeps_the_new_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """VACUUM after the re-encryption can fail (no disk space for its copy, Ctrl-C). A real
    disk cannot be made to run out on cue, so VACUUM is patched to raise: the data, already
    sealed under the new key, must still open - the new key file may not be lost."""
    from connect_mcp.local.store import Store

    data_dir = tmp_path / "vacuum"
    with EmbeddedServer(data_dir) as creds:
        made = seed_account(creds, "vera", "stripe", {"api_key": "sk_vacuum"})

    def interrupted(self: Store) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Store, "vacuum", interrupted)
    with pytest.raises(KeyboardInterrupt):
        rotate_key(data_dir)
    monkeypatch.undo()
    with EmbeddedServer(data_dir) as creds:
        assert _credentials(creds, made["id"]) == {"api_key": "sk_vacuum"}


def test_rotate_key_command(tmp_path: Path) -> None:
    data_dir = tmp_path / "cli"
    seed(data_dir, users=1, accounts_per_user=2)
    done = subprocess.run(
        [sys.executable, "-m", "connect_mcp", "local", "rotate-key", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "re-encrypted 2 accounts" in done.stdout
    wrong = subprocess.run(
        [sys.executable, "-m", "connect_mcp", "local", "rotate-key", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={
            "PATH": "",
            "CONNECT_MCP_LOCAL_ENCRYPTION_KEY": DataKey.generate().encode(),
            "HOME": str(tmp_path),
        },
    )
    assert wrong.returncode == 2
    assert "cannot decrypt" in wrong.stderr


def test_the_servers_own_keys_are_taught_to_the_redactor(tmp_path: Path) -> None:
    """Configured or generated, the key that seals every credential (and the digest key, the
    client secret, the webhook signing key) never leaves a process embedding the server in a
    log line, an error or a tool result: the process-wide redactor learns them at start. The
    log line goes through the project's real logging pipeline."""
    configured = secrets.token_hex(32)
    material = bytes.fromhex(configured)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    logs = io.StringIO()
    configure_logging("debug", stream=logs)
    try:
        with EmbeddedServer(tmp_path / "configured", encryption_key=configured) as creds:
            spellings = [
                configured,
                configured.upper(),  # DataKey.parse accepts either case
                base64.b64encode(material).decode(),
                base64.urlsafe_b64encode(material).decode().rstrip("="),
                creds.client_secret,
            ]
            get_logger("test").error("oops", detail=" | ".join(spellings))
        with EmbeddedServer(tmp_path / "generated") as creds:
            generated = [
                (tmp_path / "generated" / "encryption.key").read_text().strip(),
                (tmp_path / "generated" / "digest.key").read_text().strip(),
                str(creds.webhook_signing_key),
            ]
            get_logger("test").error("oops", detail=" | ".join(generated))
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    for secret in [*spellings, *generated]:
        assert secret not in REDACTOR.scrub(f"value={secret};")
        assert secret not in logs.getvalue()
    assert logs.getvalue().count("[REDACTED]") >= len(spellings) + len(generated)
