"""Logging never touches stdout and never carries a known secret."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from connect_mcp.log import _REDACTED_BY, configure_logging, get_logger
from connect_mcp.redact import REDACTED, REDACTOR, Redactor


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


class _CountingRedactor(Redactor):
    """A real redactor that counts its tree walks (instrumentation, not a mock: every scrub
    is the real one)."""

    def __init__(self) -> None:
        super().__init__()
        self.walks = 0
        self._depth = 0

    def scrub_obj(self, value: Any) -> Any:
        self.walks += self._depth == 0  # the walk recurses through this method
        self._depth += 1
        try:
            return super().scrub_obj(value)
        finally:
            self._depth -= 1


def _capture(redactor: Redactor, emit: Callable[[], None]) -> list[dict[str, Any]]:
    buffer = io.StringIO()
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    configure_logging("debug", stream=buffer, redactor=redactor)
    try:
        emit()
    finally:
        configure_logging("info", stream=io.StringIO())  # structlog back on REDACTOR
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_each_line_is_redacted_exactly_once() -> None:
    secret = "sk-once-0123456789abcdef"
    redactor = _CountingRedactor()
    redactor.add(secret)

    def emit() -> None:
        get_logger("once").info("ev", echoed=f"token={secret}")
        assert redactor.walks == 1  # the chain, not the formatter again
        logging.getLogger("foreign.once").warning("foreign says %s", secret)
        assert redactor.walks == 2  # a foreign record: the formatter

    lines = _capture(redactor, emit)
    assert [line["event"] for line in lines] == ["ev", f"foreign says {REDACTED}"]
    assert lines[0]["echoed"] == f"token={REDACTED}"
    for line in lines:
        assert not {"_record", "_from_structlog"} & line.keys()


def test_an_event_scrubbed_by_another_redactor_is_scrubbed_again() -> None:
    """The formatter skips only events its own redactor scrubbed: a record marked by any
    other redactor goes through it (a hand-made record: no logger call produces one)."""
    secret = "sk-other-0123456789abcdef"
    formatter_redactor = _CountingRedactor()
    formatter_redactor.add(secret)

    def emit() -> None:
        other = Redactor()  # knows no secret
        record = logging.LogRecord("x", logging.INFO, __file__, 1, {"event": secret}, (), None)
        record.__dict__.update({"_logger": object(), "_name": "info", _REDACTED_BY: other})
        logging.getLogger("x").handle(record)

    lines = _capture(formatter_redactor, emit)
    assert len(lines) == 1
    assert lines[0]["event"] == REDACTED
    assert formatter_redactor.walks == 1
