"""Logging never touches stdout and never carries a known secret."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys

from connect_mcp.log import configure_logging, get_logger
from connect_mcp.redact import REDACTED, REDACTOR


def test_an_unconfigured_logger_writes_nothing_to_stdout() -> None:
    code = (
        "from connect_mcp.log import get_logger\n"
        "get_logger('t').warning('early_event', detail='x')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout == ""
    assert "early_event" in done.stderr


def test_events_and_foreign_records_are_redacted_json() -> None:
    secret = "sk-test-0123456789abcdef"
    REDACTOR.add(secret)
    buffer = io.StringIO()
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    configure_logging("debug", stream=buffer)
    try:
        get_logger("t").info("ev", echoed=f"token={secret}", api_key="plain")
        logging.getLogger("foreign").warning("foreign says %s", secret)
        logging.getLogger("httpx2").info("HTTP Request: GET /v1/connect/tokens/ctok_abc/validate")
        try:
            raise RuntimeError(f"boom {secret}")
        except RuntimeError:
            get_logger("t").exception("failed")
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    text = buffer.getvalue()
    assert secret not in text
    assert "ctok_abc" not in text  # the HTTP stack's URL log stays below WARNING
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["echoed"] == f"token={REDACTED}"
    assert lines[0]["api_key"] == REDACTED
    assert lines[1]["event"] == f"foreign says {REDACTED}"
    assert "RuntimeError" in lines[2]["exception"]
