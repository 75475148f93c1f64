"""Real-browser fixtures: Debian's Chromium driven by Playwright.

Playwright's own browser download does not work here, so we launch the system Chromium
(``/usr/bin/chromium``, or ``$APPEALS_CHROMIUM``) through ``executable_path``. Without it
the browser tests skip, except under CI (``CI=true``), where they fail instead."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

SCREENSHOTS = Path(__file__).parent / "screenshots"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT_WIDTH, VIEWPORT_HEIGHT = 1366, 768
LOCALE = "zh-CN"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def find_chromium() -> str | None:
    """The Chromium executable: ``$APPEALS_CHROMIUM`` if set, else /usr/bin/chromium."""
    wanted = os.environ.get("APPEALS_CHROMIUM") or DEFAULT_CHROMIUM
    found = shutil.which(wanted)
    return found if found and os.access(found, os.X_OK) else None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        wanted = os.environ.get("APPEALS_CHROMIUM") or DEFAULT_CHROMIUM
        reason = (
            f"Chromium not found at {wanted} (install Debian's `chromium` and `fonts-noto-cjk`, "
            "or point APPEALS_CHROMIUM at a Chromium executable)"
        )
        if in_ci():
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    return path


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(
        viewport={"width": VIEWPORT_WIDTH, "height": VIEWPORT_HEIGHT},
        locale=LOCALE,
    )
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot to tests/browser/screenshots/<name>.png (git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
