"""The browser the page tests drive: Debian's /usr/bin/chromium through Playwright, never a
downloaded one (`apt-get install chromium`, which .ci/run does). Without it the tests skip
with a loud reason on a developer machine, and fail in CI (env CI set)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

try:
    from playwright.async_api import async_playwright
except ImportError:  # pragma: no cover - the dev extras install it
    async_playwright = None

CHROMIUM = Path("/usr/bin/chromium")
WAIT_MS = 10_000  # what the page has to show, it shows within this (Playwright polls for it)
#: Screenshots of each journey (ignored by git).
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def _unavailable(reason: str) -> None:
    """Skip on a developer machine without the browser; in CI (env CI set) the test must run."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI installs it (.ci/run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Path:
    if async_playwright is None:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
async def browser(chromium: Path) -> AsyncIterator[Any]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(chromium))
        yield launched
        await launched.close()
