"""Logging: structlog, JSON lines on stderr, every event through the redactor.

stdout belongs to the stdio transport, so nothing here ever writes to it. The redaction
processor runs last before rendering, so no processor added later can smuggle a secret out.
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


def configure_logging(
    level: str = "info", *, stream: TextIO | None = None, redactor: Redactor = REDACTOR
) -> None:
    """Route structlog and the stdlib `logging` (uvicorn, mcp, httpx2) to redacted JSON."""
    out = stream if stream is not None else sys.stderr
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _redact_processor(redactor),
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)
