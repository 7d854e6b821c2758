"""Request bodies are limited while they arrive, never after: a declared `Content-Length` over
the limit is answered 413 before a byte of the body is read, and a body without one (chunked)
is counted as it streams in and cut off with 413 once past the limit.

The oversized requests are real: raw HTTP/1.1 over a socket to the local server on loopback
(an HTTP client library would not send a body that never ends). Each socket has a timeout, so
a server that waits for the whole body fails the test instead of hanging it.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit
from uuid import uuid4

import pytest

from connect_mcp.local.connect_page.handlers import MAX_FORM
from connect_mcp.local.embedded import LocalCredentials
from connect_mcp.local.http import MAX_BODY
from connect_mcp.local.workflows import ECHO
from tests.support import access_token, http

SOCKET_TIMEOUT = 5.0
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def _raw(
    creds: LocalCredentials,
    path: str,
    headers: dict[str, str],
    body_parts: Iterable[bytes] = (),
) -> tuple[int, dict[str, str], bytes]:
    """Send the request head and `body_parts` as they are (no terminator added), then read
    one response: (status, headers, body)."""
    parts = urlsplit(creds.base_url)
    assert parts.hostname is not None
    assert parts.port is not None
    head = f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    with socket.create_connection((parts.hostname, parts.port), timeout=SOCKET_TIMEOUT) as sock:
        sock.sendall(head.encode("latin-1"))
        for part in body_parts:
            try:
                sock.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                break  # the server answered and stopped reading: read its answer
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65_536)
            assert chunk, f"connection closed without an answer: {data!r}"
            data += chunk
        raw_head, _, body = data.partition(b"\r\n\r\n")
        lines = raw_head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        answer = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
        length = int(answer.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65_536)
            assert chunk, "connection closed mid-answer"
            body += chunk
    return status, answer, body


def _chunked(total: int, size: int = 16_384) -> list[bytes]:
    """`total` bytes as HTTP/1.1 chunks - without the final zero-length chunk, so the body
    never ends: only a server that counts while reading can answer."""
    out: list[bytes] = []
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        out.append(f"{n:x}\r\n".encode() + b"x" * n + b"\r\n")
        sent += n
    return out


def _routes(creds: LocalCredentials) -> list[tuple[str, dict[str, str], int]]:
    """(path, headers, limit) of every route that reads a body; auth where the route checks
    it before reading, so what is tested is the body limit."""
    bearer = {"Authorization": f"Bearer {access_token(creds)}"}
    project = f"/v1/connect/{creds.project_id}"
    return [
        ("/v1/oauth/token", {"Content-Type": JSON}, MAX_BODY),
        ("/v1/oauth/token", {"Content-Type": FORM}, MAX_BODY),
        (f"{project}/tokens", {**bearer, "x-pd-environment": "development"}, MAX_BODY),
        (
            f"{project}/accounts",
            {"Content-Type": JSON, "x-pd-environment": "development"},
            MAX_BODY,
        ),
        (f"/{ECHO}", {**bearer, "x-pd-external-user-id": "limits"}, MAX_BODY),
        ("/_static/connect/keys", {"Content-Type": FORM}, MAX_FORM),
        ("/_static/connect/oauth", {"Content-Type": FORM}, MAX_FORM),
    ]


def test_a_declared_oversized_body_is_refused_before_it_is_read(
    local_server: LocalCredentials,
) -> None:
    """Only the head is sent, declaring 1 GB: the answer comes at once (a server that waited
    for the body would time the socket out)."""
    for path, headers, _limit in _routes(local_server):
        status, answer, body = _raw(local_server, path, {**headers, "Content-Length": str(1 << 30)})
        assert status == 413, (path, status, body[:200])
        if answer.get("content-type", "").startswith(JSON):
            assert "larger than" in json.loads(body)["error"], path


def test_a_streamed_body_is_cut_off_once_past_the_limit(local_server: LocalCredentials) -> None:
    """A chunked body with no Content-Length and no end: the server counts it as it arrives
    and answers 413 just past the limit, with the body still open."""
    for path, headers, limit in _routes(local_server):
        status, _answer, body = _raw(
            local_server,
            path,
            {**headers, "Transfer-Encoding": "chunked"},
            _chunked(limit + 32_768),
        )
        assert status == 413, (path, status, body[:200])


@pytest.mark.parametrize("kind", [JSON, FORM])
def test_an_ordinary_oversized_request_gets_413(local_server: LocalCredentials, kind: str) -> None:
    """The same through an ordinary HTTP client that sends the whole body."""
    pad = "x" * (MAX_BODY + 1)
    content = (
        json.dumps({"grant_type": "client_credentials", "pad": pad}).encode()
        if kind == JSON
        else f"grant_type=client_credentials&pad={pad}".encode()
    )
    response = http().post(
        f"{local_server.base_url}/v1/oauth/token", content=content, headers={"Content-Type": kind}
    )
    assert response.status_code == 413
    assert "larger than" in response.json()["error"]


def test_bodies_within_the_limits_still_work(local_server: LocalCredentials) -> None:
    """The counted reads change nothing below the limits: a form grant, a chunked JSON body,
    and a repeated OAuth form parameter (refused, as RFC 6749 asks)."""
    form = {
        "grant_type": "client_credentials",
        "client_id": local_server.client_id,
        "client_secret": local_server.client_secret,
    }
    granted = http().post(f"{local_server.base_url}/v1/oauth/token", data=form)
    assert granted.status_code == 200, granted.text
    body = json.dumps({"external_user_id": f"user-{uuid4().hex}"}).encode()
    status, _answer, answer_body = _raw(
        local_server,
        f"/v1/connect/{local_server.project_id}/tokens",
        {
            "Authorization": f"Bearer {granted.json()['access_token']}",
            "x-pd-environment": "development",
            "Content-Type": JSON,
            "Transfer-Encoding": "chunked",
        },
        [*_chunked(0), f"{len(body):x}\r\n".encode() + body + b"\r\n", b"0\r\n\r\n"],
    )
    assert status == 200, answer_body
    assert json.loads(answer_body)["token"].startswith("ctok_")
    repeated = http().post(
        f"{local_server.base_url}/v1/oauth/token",
        content=b"grant_type=client_credentials&client_id=a&client_id=b&client_secret=c",
        headers={"Content-Type": FORM},
    )
    assert repeated.status_code == 400
    assert "repeated" in repeated.json()["error"]
