"""Encryption at rest and token digests for the local Connect server.

Account credentials are sealed with AES-256-GCM: a fresh 96-bit nonce per value, and the
key id written into every ciphertext, so a wrong or rotated key is detected by its id before
any decryption is attempted (a clear refusal instead of silent garbage). Associated data
binds a ciphertext to the row it belongs to, so ciphertexts cannot be swapped between
accounts.

Bearer secrets the server hands out (OAuth access tokens, connect tokens, the client
secret) are never stored as themselves, only as HMAC-SHA256 digests under a separate
digest key: a copy of the database alone lets nobody authenticate.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
_NONCE_BYTES = 12
_FORMAT = "v1"


class EncryptionKeyError(Exception):
    """The configured encryption key is malformed or cannot decrypt the stored data."""


class WrongKeyError(EncryptionKeyError):
    """Data was sealed under a different key than the one configured."""


@dataclass(frozen=True)
class DataKey:
    """One AES-256 key and its id (the first 16 hex digits of the SHA-256 of the key)."""

    material: bytes

    @cached_property
    def key_id(self) -> str:
        return hashlib.sha256(b"connect-mcp key id:" + self.material).hexdigest()[:16]

    @cached_property
    def aead(self) -> AESGCM:
        """The cipher, built once per key (not once per seal or open)."""
        return AESGCM(self.material)

    @classmethod
    def generate(cls) -> DataKey:
        return cls(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def parse(cls, text: str) -> DataKey:
        """Accept a key as 64 hex digits or as (url-safe) base64 of 32 bytes."""
        raw = text.strip()
        material: bytes | None = None
        if len(raw) == 2 * KEY_BYTES:
            try:
                material = bytes.fromhex(raw)
            except ValueError:
                material = None
        if material is None:
            try:
                padded = raw + "=" * (-len(raw) % 4)
                material = base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
            except (binascii.Error, ValueError):
                material = None
        if material is None or len(material) != KEY_BYTES:
            raise EncryptionKeyError(
                "the encryption key must be 32 bytes, written as 64 hex digits or as base64"
            )
        return cls(material)

    def encode(self) -> str:
        return base64.urlsafe_b64encode(self.material).decode("ascii").rstrip("=")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal(key: DataKey, plaintext: bytes, *, aad: bytes) -> str:
    """Encrypt to `v1.<key id>.<nonce>.<ciphertext+tag>` (base64url parts)."""
    nonce = os.urandom(_NONCE_BYTES)
    body = key.aead.encrypt(nonce, plaintext, aad)
    return ".".join((_FORMAT, key.key_id, _b64(nonce), _b64(body)))


def key_id_of(sealed: str) -> str:
    parts = sealed.split(".")
    if len(parts) != 4 or parts[0] != _FORMAT:
        raise EncryptionKeyError("a stored ciphertext is not in a format this version understands")
    return parts[1]


def open_sealed(key: DataKey, sealed: str, *, aad: bytes) -> bytes:
    """Decrypt what `seal` produced; a foreign key id or a failed tag raises WrongKeyError."""
    kid = key_id_of(sealed)
    if kid != key.key_id:
        raise WrongKeyError(
            f"data was encrypted with key id {kid}, but the configured key has id {key.key_id}"
        )
    _, _, nonce, body = sealed.split(".")
    try:
        return key.aead.decrypt(_unb64(nonce), _unb64(body), aad)
    except (InvalidTag, binascii.Error, ValueError) as exc:
        raise WrongKeyError(f"a ciphertext under key id {kid} failed authentication") from exc


def digest(digest_key: bytes, secret: str) -> str:
    """HMAC-SHA256 hex digest: what the database keeps instead of a bearer secret."""
    return hmac.new(digest_key, secret.encode("utf-8"), hashlib.sha256).hexdigest()


def write_secret_file(path: Path, content: str) -> None:
    """Create or replace a file readable by its owner only (0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, content.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
