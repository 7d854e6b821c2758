"""Fixtures of the security suite: reuse the MCP server tests' log capture."""

from tests.server.conftest import captured_logs

__all__ = ["captured_logs"]
