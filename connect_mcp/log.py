"""Logging: structlog, JSON lines on stderr, every event through the redactor.

stdout belongs to the stdio transport, so nothing here ever writes to it - not even before
`configure_logging` runs: structlog's own default prints to stdout, so this module routes
structlog into the stdlib `logging` tree at import time (whose last-resort handler writes
to stderr). The redaction processor runs inside structlog's chain *and* in the formatter,
so neither a structlog event nor a foreign stdlib record (uvicorn, mcp, httpx2) can carry
a secret out, whatever handler ends up printing it. Each line is redacted once: the chain's
last step redacts a structlog event and marks its record with the redactor it used, and the
formatter redacts every record that does not carry that mark for its own redactor (every
foreign record, and any event redacted by another redactor).
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog

from connect_mcp.redact import REDACTOR, Redactor

#: The attribute of a `LogRecord` naming the redactor its structlog event went through.
_REDACTED_BY = "_connect_mcp_redacted_by"


def _redact_and_wrap(redactor: Redactor) -> structlog.types.Processor:
    """The chain's last step: redact the event, then hand it to stdlib `logging` as
    `ProcessorFormatter.wrap_for_formatter` does, with the record marked as redacted by
    `redactor`. One function, so no record is marked that this redactor did not scrub."""

    def process(logger: Any, method: str, event_dict: Any) -> Any:
        args, kwargs = structlog.stdlib.ProcessorFormatter.wrap_for_formatter(
            logger, method, redactor.scrub_obj(event_dict)
        )
        kwargs["extra"][_REDACTED_BY] = redactor
        return args, kwargs

    return process


def _redact_unless_done(redactor: Redactor) -> structlog.types.Processor:
    """The formatter's step (replaces `remove_processors_meta`): drop structlog's meta keys
    and redact, unless the record is a structlog event this very redactor already scrubbed
    in the chain - a foreign record never carries the mark."""

    def process(_logger: Any, _method: str, event_dict: Any) -> Any:
        record = event_dict.pop("_record", None)
        from_structlog = event_dict.pop("_from_structlog", False)
        if from_structlog and getattr(record, _REDACTED_BY, None) is redactor:
            return event_dict
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
            _redact_and_wrap(redactor),
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
        processors=[_redact_unless_done(redactor), structlog.processors.JSONRenderer()],
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
