"""Connection webhooks of the local Connect server: payloads, signing, background delivery.

When a connect token carries a `webhook_uri`, the end of every Connect Link attempt is
POSTed there as the documented `CONNECTION_SUCCESS` / `CONNECTION_ERROR` payload. The
payload never holds credentials (the account is rendered without them).

Signing: the platform's payload has no signature of its own, so a receiver could not tell
our POST from anybody's. Each delivery therefore carries

    X-Connect-MCP-Timestamp: <unix seconds>
    X-Connect-MCP-Signature: v1=<hex HMAC-SHA256(key, "<timestamp>." + raw body)>

under a per-project key kept in the data directory (`webhook.key`, 0600) and printed by
`connect-mcp local` as `PIPEDREAM_WEBHOOK_SIGNING_KEY`. The timestamp is signed too, so a
captured delivery cannot be replayed later; `verify` is the reference check.

Delivery never blocks or breaks the person's flow: it runs as a task on the server's event
loop after the page has answered, with a per-attempt timeout and a few retries with
exponential backoff (connection failures, timeouts, 408/429/5xx). Redirects are not
followed: a webhook receiver that moved must be reconfigured, not chased.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

from connect_mcp.local import crypto
from connect_mcp.log import get_logger

KEY_FILE = "webhook.key"
SIGNATURE_HEADER = "X-Connect-MCP-Signature"
TIMESTAMP_HEADER = "X-Connect-MCP-Timestamp"
EVENT_HEADER = "X-Connect-MCP-Event"
DELIVERY_HEADER = "X-Connect-MCP-Delivery"
SIGNATURE_VERSION = "v1"

#: Seconds per attempt, attempts in all, and the first backoff (doubled each retry, jittered).
TIMEOUT = 5.0
ATTEMPTS = 4
BACKOFF = 0.5
_RETRY_STATUSES = frozenset({408, 425, 429})

_log = get_logger("connect_mcp.local.webhooks")
#: Strong references to deliveries in flight (the event loop only keeps weak ones).
_PENDING: set[asyncio.Task[bool]] = set()


def load_signing_key(data_dir: Path) -> str:
    """The project's webhook signing key from the data dir, created (0600) on first use."""
    path = data_dir / KEY_FILE
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key
    key = "whsec_" + secrets.token_hex(32)
    crypto.write_secret_file(path, key + "\n")
    return key


def sign(key: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp`."""
    message = str(timestamp).encode("ascii") + b"." + body
    mac = hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={mac}"


def verify(
    key: str,
    body: bytes,
    timestamp: str,
    signature: str,
    *,
    tolerance: float = 300.0,
    now: float | None = None,
) -> bool:
    """What a receiver does: recompute, compare in constant time, reject stale timestamps."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - sent) > tolerance:
        return False
    return hmac.compare_digest(sign(key, sent, body), signature.strip())


def success_payload(
    *, connect_token: str, environment: str, session_id: str, account: dict[str, Any]
) -> dict[str, Any]:
    """`CONNECTION_SUCCESS`; `account` must already be the credential-free Account JSON."""
    safe = {k: v for k, v in account.items() if k != "credentials"}
    return {
        "event": "CONNECTION_SUCCESS",
        "connect_token": connect_token,
        "environment": environment,
        "connect_session_id": session_id,
        "account": safe,
    }


def error_payload(
    *, connect_token: str, environment: str, session_id: str, error: str
) -> dict[str, Any]:
    return {
        "event": "CONNECTION_ERROR",
        "connect_token": connect_token,
        "environment": environment,
        "connect_session_id": session_id,
        "error": error,
    }


def send_in_background(url: str, payload: dict[str, Any], key: str) -> asyncio.Task[bool]:
    """Start delivering `payload` to `url` on the running loop and return at once."""
    task = asyncio.get_running_loop().create_task(deliver(url, payload, key))
    _PENDING.add(task)
    task.add_done_callback(_PENDING.discard)
    return task


async def deliver(
    url: str,
    payload: dict[str, Any],
    key: str,
    *,
    attempts: int = ATTEMPTS,
    attempt_timeout: float = TIMEOUT,
    backoff: float = BACKOFF,
) -> bool:
    """POST the signed payload, retrying transient failures; True once a 2xx answered.

    Never raises (a failing receiver is logged, not propagated): the caller is a page a
    person is looking at.
    """
    import httpx2  # the server's cold start does not pay for the HTTP client

    body = json.dumps(payload, separators=(",", ":")).encode()
    delivery = str(uuid.uuid4())  # the same on every retry, so receivers can de-duplicate
    event = str(payload.get("event", ""))
    async with httpx2.AsyncClient(timeout=attempt_timeout, follow_redirects=False) as http:
        for attempt in range(1, attempts + 1):
            stamp = int(time.time())
            headers = {
                "content-type": "application/json",
                "user-agent": "connect-mcp-local-webhooks/1",
                EVENT_HEADER: event,
                DELIVERY_HEADER: delivery,
                TIMESTAMP_HEADER: str(stamp),
                SIGNATURE_HEADER: sign(key, stamp, body),
            }
            outcome: str
            try:
                response = await http.post(url, content=body, headers=headers)
            except httpx2.HTTPError as exc:
                outcome = type(exc).__name__
            else:
                if 200 <= response.status_code < 300:
                    _log.info("webhook_delivered", webhook_event=event, attempt=attempt)
                    return True
                outcome = f"HTTP {response.status_code}"
                if response.status_code < 500 and response.status_code not in _RETRY_STATUSES:
                    _log.warning("webhook_refused", webhook_event=event, outcome=outcome)
                    return False
            if attempt < attempts:
                pause = backoff * 2 ** (attempt - 1) * (0.8 + 0.4 * random.random())  # noqa: S311
                _log.info("webhook_retry", webhook_event=event, attempt=attempt, outcome=outcome)
                await asyncio.sleep(pause)
            else:
                _log.warning(
                    "webhook_failed", webhook_event=event, attempts=attempts, outcome=outcome
                )
    return False
