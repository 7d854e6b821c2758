"""Fixtures of the MCP server tests."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from connect_mcp.log import configure_logging


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Everything logged during the test, through the project's own (redacting) pipeline."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    buffer = io.StringIO()
    configure_logging("debug", stream=buffer)
    try:
        yield buffer
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
