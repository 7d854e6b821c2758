"""How an HTTP answer becomes a value or a typed error.

Error messages are built from trusted fields only: our own words, the status, and the
server's short ``error`` string after the redactor has scrubbed it. A raw body is never
quoted, and a body that fails validation is described by the *locations* of the problems,
never their values (a malformed account may still hold a credential).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

import httpx2
from pydantic import BaseModel, ValidationError

from connect_mcp.connect.errors import (
    BadRequestError,
    ConnectError,
    ConnectTimeoutError,
    ForbiddenError,
    NotFoundError,
    RateLimitedError,
    UnauthorizedError,
    UpstreamError,
)
from connect_mcp.redact import Redactor, is_secret_name

M = TypeVar("M", bound=BaseModel)

MESSAGE_LIMIT = 500


#: JSON leaves: nothing below them to learn from (checked by exact type - `json.loads` makes
#: no subclasses - because this walk runs over every response, app catalog entries included).
_LEAVES = frozenset({str, int, float, bool, type(None)})


def learn_secrets(data: Any, redactor: Redactor) -> None:
    """Remember every credential value and every secret-named field of a response, before
    anything else sees it - so no later string can carry it."""
    kind = type(data)
    if kind is dict or (kind is not list and isinstance(data, Mapping)):
        for key, value in data.items():
            name = key if type(key) is str else str(key)
            if name == "credentials" and isinstance(value, Mapping):
                redactor.add_mapping(value)
                continue
            secret = is_secret_name(name)
            if secret and isinstance(value, str):
                redactor.add(value)
            elif secret and isinstance(value, Mapping | list):
                redactor.add_mapping({"value": value})
            elif type(value) not in _LEAVES:
                learn_secrets(value, redactor)
    elif kind is list or isinstance(data, list):
        for item in data:
            if type(item) not in _LEAVES:
                learn_secrets(item, redactor)


def parse_json(
    response: httpx2.Response, method: str, shown: str, redactor: Redactor, *, learn: bool
) -> Any:
    """The JSON of a 2xx answer (None when empty); a non-JSON body is an `UpstreamError`."""
    if response.status_code == 204 or not response.content:
        return None
    try:
        data = json.loads(response.content)
    except ValueError:
        raise UpstreamError(
            "the server answered with a body that is not JSON",
            status=response.status_code,
            method=method,
            path=shown,
        ) from None
    if learn:
        learn_secrets(data, redactor)
    return data


def parse_model(model: type[M], data: Any, method: str, shown: str) -> M:
    """Validate `data` as `model`; a mismatch is an `UpstreamError` naming only where."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(body)'}: {err['type']}"
            for err in exc.errors()[:5]
        )
        raise UpstreamError(
            f"the server's answer does not have the documented shape ({problems})",
            status=200,
            method=method,
            path=shown,
        ) from None


def server_message(response: httpx2.Response, redactor: Redactor) -> str:
    """The server's own short explanation (its `error` field), redacted and cut; else the
    status's reason phrase."""
    message: str | None = None
    try:
        data = json.loads(response.content)
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            error = error.get("message")
        if not isinstance(error, str):
            error = data.get("message")
        if isinstance(error, str) and error.strip():
            message = error.strip()
            code = data.get("code")
            if isinstance(code, str) and code:
                message = f"{message} ({code})"
    if message is None:
        message = response.reason_phrase or f"HTTP {response.status_code}"
    message = redactor.scrub(message)
    if len(message) > MESSAGE_LIMIT:
        message = message[:MESSAGE_LIMIT] + "..."
    return message


def status_error(
    response: httpx2.Response,
    method: str,
    shown: str,
    redactor: Redactor,
    *,
    retry_after: float | None = None,
) -> ConnectError:
    """The typed error for a non-2xx API answer. A 3xx is an `UpstreamError`: the API does
    not redirect, and following one would carry our token to wherever it points."""
    status = response.status_code
    if 300 <= status < 400:
        return UpstreamError(
            "unexpected redirect from the API; not followed (it would carry our token)",
            status=status,
            method=method,
            path=shown,
        )
    message = server_message(response, redactor)
    if status == 429:
        return RateLimitedError(message, method=method, path=shown, retry_after=retry_after)
    kind: type[ConnectError] = {
        401: UnauthorizedError,
        403: ForbiddenError,
        404: NotFoundError,
    }.get(status, BadRequestError if 400 <= status < 500 else UpstreamError)
    return kind(message, status=status, method=method, path=shown)


def transport_error(exc: Exception, method: str, shown: str) -> ConnectError:
    """The typed error for a request that got no usable answer."""
    if isinstance(exc, httpx2.TimeoutException):
        return ConnectTimeoutError(
            f"no answer in time ({type(exc).__name__})", method=method, path=shown
        )
    return UpstreamError(
        f"the connection to the server failed ({type(exc).__name__})", method=method, path=shown
    )
