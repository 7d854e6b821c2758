"""Headless Chromium for the Connect Link page: Debian's `chromium`, driven by Playwright.

No browser is downloaded (`playwright install` is never run): the tests use the system
binary and skip, saying why, when it is absent (a failure with `CONNECT_MCP_REQUIRE_ALL=1`).
`.ci/run` installs it and sets that.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support import missing_part

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def artifact(name: str) -> str:
    """Where a test saves a screenshot for people to look at (gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return str(ARTIFACTS / name)


def chromium_path() -> str | None:
    """The system Chromium (`CONNECT_MCP_CHROMIUM` overrides), or None."""
    configured = os.environ.get("CONNECT_MCP_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> str:
    path = chromium_path()
    if path is None:
        missing_part("headless Chromium is not installed (apt-get install chromium; .ci/run does)")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context per test: no cookies or cache carried between tests."""
    context = browser.new_context(viewport={"width": 800, "height": 900})
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()
