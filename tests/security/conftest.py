"""Fixtures of the security suite: reuse the MCP server tests' log capture, and start every
test with a bare root logger.

The SDK's `MCPServer()` installs a rich console handler on the root logger when it has none
(`logging.basicConfig`), so whatever test first builds a server without configuring logging
leaves it there for every later test in the process. Under it, the generated-secret leak test
ran about four times slower, depending only on which tests ran before it. Each test here starts
from no root handlers (a test that wants logs configures them, as `captured_logs` does), and the
previous state comes back afterwards.
"""

import logging
from collections.abc import Iterator

import pytest

from tests.server.conftest import captured_logs

__all__ = ["captured_logs"]


@pytest.fixture(autouse=True)
def _bare_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
