"""The client's transport builds TLS only when an https request is sent, and never relaxes it.

Real sockets on loopback: a plain-http server (the embedded local server) and a TLS server with
a self-signed certificate, which a verifying client must refuse.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from connect_mcp.connect import ConnectClient
from connect_mcp.connect._transport import LazyTLSTransport
from connect_mcp.local.embedded import LocalCredentials

pytestmark = pytest.mark.timeout(30)


def _self_signed(tmp_path: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


@contextmanager
def tls_listener(tmp_path: Path) -> Iterator[tuple[int, list[str]]]:
    """A loopback TLS server that answers 200 to whoever completes a handshake; yields its
    port and a log of what happened to each connection."""
    context = _self_signed(tmp_path)
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    log: list[str] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(65536)
                    tls.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    log.append("served")
            except (ssl.SSLError, OSError) as exc:
                log.append(f"refused: {type(exc).__name__}")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], log
    finally:
        stop.set()
        thread.join(5)
        server.close()


async def test_plain_http_never_builds_tls(local_server: LocalCredentials) -> None:
    transport = LazyTLSTransport()
    async with httpx2.AsyncClient(transport=transport) as http:
        response = await http.get(f"{local_server.base_url}/v1/does-not-exist")
    assert response.status_code == 404
    assert transport._tls is None  # no CA bundle was loaded for plain http


async def test_https_is_verified(tmp_path: Path) -> None:
    """A self-signed certificate is refused: the https side uses default verification."""
    with tls_listener(tmp_path) as (port, log):
        transport = LazyTLSTransport()
        async with httpx2.AsyncClient(transport=transport) as http:
            with pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await http.get(f"https://127.0.0.1:{port}/")
        assert transport._tls is not None
        assert "served" not in log


async def test_connect_client_uses_it(local_server: LocalCredentials) -> None:
    """Against the embedded server (plain http) the client works and loads no CA bundle;
    workflow invocations share this client, so https stays available and verified."""
    async with ConnectClient(
        client_id=local_server.client_id,
        client_secret=local_server.client_secret,
        project_id=local_server.project_id,
        base_url=local_server.base_url,
        max_retries=0,
    ) as client:
        await client.list_apps(limit=1)
        transport = client._http._transport
        assert isinstance(transport, LazyTLSTransport)
        assert transport._tls is None
