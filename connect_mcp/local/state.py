"""What every route handler shares: the store, the digest key, the limiters, the clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from connect_mcp.local import crypto
from connect_mcp.local.limits import FixedWindowLimiter
from connect_mcp.local.store import Store


@dataclass
class LocalState:
    store: Store
    digest_key: bytes
    base_url: str
    token_limiter: FixedWindowLimiter
    account_limiter: FixedWindowLimiter
    clock: Callable[[], float] = field(default=time.time)
    webhook_signing_key: str = ""  # signs connection webhooks (see `webhooks`)

    def digest(self, secret: str) -> str:
        return crypto.digest(self.digest_key, secret)
