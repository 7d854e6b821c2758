"""Logging: structlog, JSON lines on stderr, every event through the redactor.

stdout belongs to the stdio transport, so nothing here ever writes to it - not even before
`configure_logging` runs: structlog's own default prints to stdout, so this module routes
structlog into the stdlib `logging` tree at import time (whose last-resort handler writes
to stderr). The redaction processor runs inside structlog's chain *and* in the formatter,
so neither a structlog event nor a foreign stdlib record (uvicorn, mcp, httpx2) can carry
a secret out, whatever handler ends up printing it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog

from connect_mcp.redact import REDACTOR, Redactor


def _redact_processor(redactor: Redactor) -> structlog.types.Processor:
    def process(_logger: Any, _method: str, event_dict: Any) -> Any:
        return redactor.scrub_obj(event_dict)

    return process


_SHARED: list[structlog.types.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.format_exc_info,
]

#: The handler `configure_logging` installed, so a second call replaces only its own.
_handler: logging.Handler | None = None


def _route_structlog_to_stdlib(redactor: Redactor) -> None:
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED,
            _redact_processor(redactor),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def configure_logging(
    level: str = "info", *, stream: TextIO | None = None, redactor: Redactor = REDACTOR
) -> None:
    """Route structlog and the stdlib `logging` (uvicorn, mcp, httpx2) to redacted JSON."""
    global _handler
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    _route_structlog_to_stdlib(redactor)
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _redact_processor(redactor),
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    root.addHandler(handler)
    root.setLevel(numeric)
    # The HTTP stack logs every request's full URL at INFO/DEBUG: connect tokens (meant for
    # one end user, so not in the redactor), user ids in query strings, model-chosen workflow
    # URLs. Only its warnings are worth a line.
    for noisy in _URL_LOGGERS:
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))
    _handler = handler


_URL_LOGGERS = ("httpx2", "httpcore2", "httpx", "httpcore")


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)


if not structlog.is_configured():
    _route_structlog_to_stdlib(REDACTOR)
