"""Transport and auth over streamable HTTP, on the app `serve --http` builds (the same
transport-security settings): bad bearer tokens of every kind, a session used by another
principal, oversized bodies, wrong content types, Host/Origin checks. Every refusal is a clear
4xx - never a 500 - on both protocol eras."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from connect_mcp.config import Settings
from connect_mcp.local.embedded import LocalCredentials
from connect_mcp.server.auth import JWTConfig, JWTVerifier
from connect_mcp.server.serve import transport_security
from tests.server.helpers import make_server, new_user, serving
from tests.support import INITIALIZE as INIT
from tests.support import MCP_HTTP_HEADERS as HEADERS

SECRET = secrets.token_urlsafe(48)
AUD, ISS = "connect-mcp-security", "https://issuer.example"
CONFIG = JWTConfig(key=SECRET, algorithms=("HS256",), audience=AUD, issuer=ISS)
MODERN = {"mcp-protocol-version": "2026-07-28"}
LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}


def claims(user: str = "alice", **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    body = {"sub": user, "perm": "write", "exp": now + 600, "aud": AUD, "iss": ISS, **extra}
    return {k: v for k, v in body.items() if v is not None}


def sign(body: dict[str, Any], key: str = SECRET, alg: str = "HS256", **headers: Any) -> str:
    return jwt.encode(body, key, algorithm=alg, headers=headers or None)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def bad_tokens() -> dict[str, str]:
    now = int(time.time())
    good = sign(claims())
    header, payload, signature = good.split(".")
    ec_key = ec.generate_private_key(ec.SECP256R1())
    return {
        "garbage": "not-a-jwt",
        "empty-parts": "..",
        "expired": sign(claims(exp=now - 120)),
        "not-yet-valid": sign(claims(nbf=now + 3600)),
        "issued-in-the-future-and-expired": sign(claims(iat=now + 3600, exp=now - 60)),
        "no-exp": sign(claims(exp=None)),
        "exp-not-a-number": sign(claims(exp="tomorrow")),
        "alg-none": jwt.encode(claims(), None, algorithm="none"),  # type: ignore[arg-type]
        "alg-none-with-signature": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.{signature}",
        "alg-HS512-same-secret": sign(claims(), alg="HS512"),
        "alg-ES256-other-key": jwt.encode(claims(), ec_key, algorithm="ES256"),
        "wrong-key": sign(claims(), key=secrets.token_urlsafe(48)),
        "tampered-payload": f"{header}.{_b64(claims(user='mallory'))}.{signature}",
        "wrong-audience": sign(claims(aud="someone-else")),
        "no-audience": sign(claims(aud=None)),
        "wrong-issuer": sign(claims(iss="https://evil.example")),
        "no-issuer": sign(claims(iss=None)),
        "unknown-perm": sign(claims(perm="admin")),
        "perm-list": sign(claims(perm=["write"])),
        "no-user": sign(claims(user="")),
        "user-not-a-string": sign({**claims(), "sub": 12345}),
        "user-too-long": sign(claims(user="u" * 251)),
        # Key-selection headers pointing at the attacker's key material: never followed.
        "kid-path-traversal": sign(claims(), key="x" * 40, kid="../../../../dev/null"),
        "jku-attacker-key": jwt.encode(
            claims(), ec_key, algorithm="ES256", headers={"jku": "https://evil.example/jwks"}
        ),
    }


@asynccontextmanager
async def mcp_http(creds: LocalCredentials) -> AsyncIterator[str]:
    mcp = make_server(creds, None, verifier=JWTVerifier(CONFIG))
    security = transport_security("127.0.0.1", Settings(allowed_hosts=""))
    async with serving(
        mcp.streamable_http_app(host="127.0.0.1", transport_security=security)
    ) as url:
        yield url


def clear_refusal(
    response: httpx2.Response, expected: set[int] | None = None, case: str = ""
) -> None:
    what = (case, response.status_code, response.text[:300])
    assert 400 <= response.status_code < 500, what
    if expected is not None:
        assert response.status_code in expected, what
    assert response.text.strip() or response.headers.get("www-authenticate"), response.status_code


async def test_bad_bearer_tokens_get_401_on_both_eras(local_server: LocalCredentials) -> None:
    seen: dict[str, tuple[int, int]] = {}
    schemes = {
        "missing": None,
        "basic-scheme": f"Basic {base64.b64encode(b'alice:pw').decode()}",
        "bearer-empty": "Bearer",
        "bearer-two-tokens": f"Bearer {sign(claims())} {sign(claims())}",
        **{name: f"Bearer {token}" for name, token in bad_tokens().items()},
    }
    async with mcp_http(local_server) as url, httpx2.AsyncClient(timeout=10) as http:
        good = await http.post(
            url, json=INIT, headers={**HEADERS, "authorization": f"Bearer {sign(claims())}"}
        )
        assert good.status_code == 200, good.text
        for name, header in schemes.items():
            headers = dict(HEADERS)
            if header is not None:
                headers["authorization"] = header
            legacy = await http.post(url, json=INIT, headers=headers)
            modern = await http.post(url, json=LIST, headers={**headers, **MODERN})
            for response in (legacy, modern):
                clear_refusal(response, {401}, name)
                assert "www-authenticate" in response.headers
            seen[name] = (legacy.status_code, modern.status_code)
    print(f"\n[transport/auth] {len(seen)} bad credentials x 2 eras: all 401 with WWW-Authenticate")


async def test_requests_the_transport_must_refuse(local_server: LocalCredentials) -> None:
    alice, mallory = sign(claims(new_user())), sign(claims(new_user()))
    auth = {**HEADERS, "authorization": f"Bearer {alice}"}
    results: dict[str, int] = {}
    async with mcp_http(local_server) as url, httpx2.AsyncClient(timeout=20) as http:
        opened = await http.post(url, json=INIT, headers=auth)
        session = opened.headers["mcp-session-id"]
        bound = {**auth, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25"}
        await http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                        headers=bound)  # fmt: skip
        cases: dict[str, tuple[str, dict[str, str], Any, set[int]]] = {
            "session-of-another-principal": (
                "POST", {**bound, "authorization": f"Bearer {mallory}"}, LIST, {404}),
            "delete-session-as-another-principal": (
                "DELETE", {**bound, "authorization": f"Bearer {mallory}"}, None, {404}),
            "unknown-session": ("POST", {**bound, "mcp-session-id": "f" * 32}, LIST, {404}),
            "oversized-body": ("POST", auth, {**INIT, "pad": "x" * (8 * 1024 * 1024)}, {413}),
            "oversized-modern": ("POST", {**auth, **MODERN}, {**LIST, "pad": "x" * 8_388_608},
                                 {413}),
            "content-type-text": ("POST", {**auth, "content-type": "text/plain"}, INIT, {400, 415}),
            "content-type-form": (
                "POST", {**auth, "content-type": "application/x-www-form-urlencoded"}, INIT,
                {400, 415}),
            "no-accept": ("POST", {**auth, "accept": "text/html"}, INIT, {406}),
            "malformed-json": ("POST", auth, b'{"jsonrpc": "2.0", "id": 1, "method": ', {400}),
            "json-not-an-object": ("POST", auth, b'"hello"', {400}),
            "deep-nesting": ("POST", auth, b"[" * 100_000 + b"]" * 100_000, {400, 413}),
            "evil-host": ("POST", {**auth, "host": "evil.example"}, INIT, {421}),
            "evil-host-with-port": ("POST", {**auth, "host": "evil.example:80"}, INIT, {421}),
            "rebinding-lookalike": ("POST", {**auth, "host": "127.0.0.1.evil.example"}, INIT,
                                    {421}),
            "evil-origin": ("POST", {**auth, "origin": "https://evil.example"}, INIT, {403}),
            "null-origin": ("POST", {**auth, "origin": "null"}, INIT, {403}),
            "bad-protocol-version": (
                "POST", {**bound, "mcp-protocol-version": "1999-01-01"}, LIST, {400}),
            "put": ("PUT", auth, INIT, {405}),
        }  # fmt: skip
        for name, (method, headers, body, expected) in cases.items():
            content = (
                body if isinstance(body, bytes) else None if body is None else json.dumps(body)
            )
            response = await http.request(method, url, headers=headers, content=content)
            results[name] = response.status_code
            clear_refusal(response, expected, name)
        still = await http.post(url, json=LIST, headers=bound)  # still serving its owner
        assert still.status_code == 200, still.text
    print(f"\n[transport/refusals] {len(results)} malformed or hostile requests: {results}")
