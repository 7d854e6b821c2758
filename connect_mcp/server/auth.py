"""Bearer tokens for streamable HTTP: verify (the SDK's `TokenVerifier` hook) and mint.

A token is a JWT whose verified claims name the end user (claim configurable, default `sub`)
and the permission (`perm`: `read` or `write`; absent means `read`). HS256 with a shared secret,
or RS256/ES256 against a public key; `exp` is required, `nbf`/`aud`/`iss` are checked, and
the algorithm list is fixed by the key type - a token cannot choose its own algorithm (no
`none`, no HS256 signed with a public key).

The principal the SDK binds a session to is (client_id, issuer, subject); `client_id` carries
the permission, so a session opened read-only stays read-only.

Without a configured secret or key, `serve --http` uses a development secret generated once in
the data dir (mode 0600); `connect-mcp token` mints against the same secret.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import jwt

from connect_mcp.log import get_logger
from connect_mcp.redact import REDACTOR

if TYPE_CHECKING:
    from mcp.server.auth.provider import AccessToken

    from connect_mcp.config import Settings

_log = get_logger("connect_mcp.auth")

DEV_SECRET_FILE = "mcp-dev-jwt-secret"  # noqa: S105 - a file name
MIN_SECRET_BYTES = 32
MAX_USER_LENGTH = 250
LEEWAY_SECONDS = 30


class AuthConfigError(ValueError):
    """The configured secret or key cannot be used; the message says what to change."""


@dataclass(frozen=True)
class JWTConfig:
    key: Any  # str secret or a public key object
    algorithms: tuple[str, ...]
    user_claim: str = "sub"
    audience: str | None = None
    issuer: str | None = None
    dev_secret_path: Path | None = None  # set when the secret was generated for development

    @property
    def can_mint(self) -> bool:
        return self.algorithms == ("HS256",)


class JWTVerifier:
    """`TokenVerifier`: a valid token → `AccessToken`; anything else → None (HTTP 401)."""

    def __init__(self, config: JWTConfig) -> None:
        self.config = config

    async def verify_token(self, token: str) -> AccessToken | None:
        from mcp.server.auth.provider import AccessToken

        cfg = self.config
        try:
            claims = jwt.decode(
                token,
                cfg.key,
                algorithms=list(cfg.algorithms),
                audience=cfg.audience,
                issuer=cfg.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp"], "verify_aud": cfg.audience is not None},
            )
        except jwt.PyJWTError as exc:
            _log.info("bearer_rejected", reason=type(exc).__name__)
            return None
        user = claims.get(cfg.user_claim)
        perm = claims.get("perm", "read")
        if not isinstance(user, str) or not 1 <= len(user) <= MAX_USER_LENGTH:
            _log.info("bearer_rejected", reason="user claim missing or invalid")
            return None
        if perm not in ("read", "write"):
            _log.info("bearer_rejected", reason="perm claim invalid")
            return None
        issuer = claims.get("iss")
        return AccessToken(
            token=token,
            client_id=f"connect-mcp:{perm}",
            scopes=[perm],
            expires_at=int(claims["exp"]),
            subject=user,
            claims={"perm": perm, **({"iss": issuer} if isinstance(issuer, str) else {})},
        )


def mint_token(
    config: JWTConfig,
    user: str,
    *,
    perm: Literal["read", "write"] = "read",
    ttl_seconds: int = 3600,
    now: float | None = None,
) -> str:
    """An HS256 token for `user`; only possible with a shared secret."""
    if not config.can_mint:
        raise AuthConfigError("tokens can be minted only with an HS256 secret")
    if not 1 <= len(user) <= MAX_USER_LENGTH:
        raise AuthConfigError(f"the user must be 1-{MAX_USER_LENGTH} characters")
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        config.user_claim: user,
        "perm": perm,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_seconds,
        "jti": secrets.token_hex(8),
    }
    if config.audience:
        claims["aud"] = config.audience
    if config.issuer:
        claims["iss"] = config.issuer
    return jwt.encode(claims, config.key, algorithm="HS256")


def _public_key(text: str) -> tuple[Any, tuple[str, ...]]:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    pem = text if text.lstrip().startswith("-----BEGIN") else Path(text).read_text()
    try:
        key = load_pem_public_key(pem.encode())
    except ValueError as exc:
        raise AuthConfigError("CONNECT_MCP_JWT_PUBLIC_KEY is not a PEM public key") from exc
    if isinstance(key, rsa.RSAPublicKey):
        return key, ("RS256",)
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key, ("ES256",)
    raise AuthConfigError("CONNECT_MCP_JWT_PUBLIC_KEY must be an RSA or P-256 (ES256) key")


def dev_secret(data_dir: Path) -> tuple[str, Path]:
    """The development secret, created once with mode 0600 (never overwritten)."""
    path = data_dir / DEV_SECRET_FILE
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_text().strip()
        if len(secret) < MIN_SECRET_BYTES:
            raise AuthConfigError(f"{path} holds a secret that is too short; delete it") from None
        return secret, path
    secret = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    return secret, path


def jwt_config(settings: Settings, *, allow_dev_secret: bool = True) -> JWTConfig:
    """The verification config from settings; a dev secret only when nothing is configured."""
    common: dict[str, Any] = {
        "user_claim": settings.jwt_user_claim,
        "audience": settings.jwt_audience,
        "issuer": settings.jwt_issuer,
    }
    if settings.jwt_secret is not None and settings.jwt_public_key:
        raise AuthConfigError(
            "set either CONNECT_MCP_JWT_SECRET or CONNECT_MCP_JWT_PUBLIC_KEY, not both"
        )
    if settings.jwt_public_key:
        key, algorithms = _public_key(settings.jwt_public_key)
        return JWTConfig(key=key, algorithms=algorithms, **common)
    if settings.jwt_secret is not None:
        secret = settings.jwt_secret.get_secret_value()
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise AuthConfigError(
                f"CONNECT_MCP_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes of randomness "
                "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        REDACTOR.add(secret)
        return JWTConfig(key=secret, algorithms=("HS256",), **common)
    if not allow_dev_secret:
        raise AuthConfigError(
            "serve --http on a non-loopback address needs CONNECT_MCP_JWT_SECRET or "
            "CONNECT_MCP_JWT_PUBLIC_KEY: the generated development secret is only for 127.0.0.1"
        )
    secret, path = dev_secret(settings.data_dir)
    REDACTOR.add(secret)
    return JWTConfig(key=secret, algorithms=("HS256",), dev_secret_path=path, **common)


def parse_ttl(text: str) -> int:
    """`3600`, `90s`, `30m`, `12h` or `7d` → seconds (positive, at most 30 days)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    raw = text.strip().lower()
    factor = units.get(raw[-1:], 0)
    number = raw[:-1] if factor else raw
    if not factor:
        factor = 1
    try:
        seconds = int(float(number) * factor)
    except ValueError:
        raise AuthConfigError(f"invalid ttl {text!r}: use seconds or 30m, 12h, 7d") from None
    if not 0 < seconds <= 30 * 86400:
        raise AuthConfigError("the ttl must be positive and at most 30 days")
    return seconds
