"""Token verification and minting, without a network: key types, algorithm pinning, the
development secret file."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from connect_mcp.config import Settings
from connect_mcp.server.auth import (
    AuthConfigError,
    JWTConfig,
    JWTVerifier,
    dev_secret,
    jwt_config,
    mint_token,
    parse_ttl,
)


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _claims(**extra: object) -> dict[str, object]:
    return {"sub": "alice", "perm": "write", "exp": int(time.time()) + 60, **extra}


@pytest.mark.parametrize(
    ("key", "alg"),
    [
        (rsa.generate_private_key(65537, 2048), "RS256"),
        (ec.generate_private_key(ec.SECP256R1()), "ES256"),
    ],
)
async def test_public_key_tokens(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, alg: str, tmp_path: Path
) -> None:
    settings = Settings(jwt_public_key=_pem(key), data_dir=tmp_path)
    config = jwt_config(settings)
    assert config.algorithms == (alg,)
    assert not config.can_mint
    verifier = JWTVerifier(config)
    good = await verifier.verify_token(jwt.encode(_claims(), key, algorithm=alg))
    assert good is not None
    assert (good.subject, good.scopes) == ("alice", ["write"])
    # Algorithm confusion: an HS256 token "signed" with the public key text is refused.
    forged = jwt.encode(_claims(), "x" * 64, algorithm="HS256")
    assert await verifier.verify_token(forged) is None
    # The key may also be given as a file path.
    path = tmp_path / "key.pem"
    path.write_text(_pem(key))
    assert jwt_config(Settings(jwt_public_key=str(path), data_dir=tmp_path)).algorithms == (alg,)


async def test_permission_defaults_to_read_and_user_claim_is_configurable(tmp_path: Path) -> None:
    config = JWTConfig(key="k" * 40, algorithms=("HS256",), user_claim="uid")
    verifier = JWTVerifier(config)
    token = jwt.encode({"uid": "bob", "exp": int(time.time()) + 60}, "k" * 40, algorithm="HS256")
    access = await verifier.verify_token(token)
    assert access is not None
    assert (access.subject, access.scopes) == ("bob", ["read"])
    minted = await verifier.verify_token(mint_token(config, "carol", perm="write"))
    assert minted is not None
    assert minted.subject == "carol"
    assert minted.client_id == "connect-mcp:write"


def test_dev_secret_is_private_and_stable(tmp_path: Path) -> None:
    secret, path = dev_secret(tmp_path / "data")
    assert len(secret) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert dev_secret(tmp_path / "data") == (secret, path)


def test_short_or_conflicting_configuration_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AuthConfigError, match="at least 32 bytes"):
        jwt_config(Settings(jwt_secret="short", data_dir=tmp_path))
    with pytest.raises(AuthConfigError, match="not both"):
        jwt_config(Settings(jwt_secret="s" * 40, jwt_public_key="x", data_dir=tmp_path))
    with pytest.raises(AuthConfigError, match="PEM"):
        jwt_config(Settings(jwt_public_key="-----BEGIN PUBLIC KEY-----\nnope", data_dir=tmp_path))


def test_parse_ttl() -> None:
    assert parse_ttl("90") == 90
    assert parse_ttl("30m") == 1800
    assert parse_ttl("12h") == 43200
    assert parse_ttl("7d") == 7 * 86400
    for bad in ("0", "-5", "abc", "365d"):
        with pytest.raises(AuthConfigError):
            parse_ttl(bad)
