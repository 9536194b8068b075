"""The web app in a real browser: Playwright driving Debian's chromium (`make browser` installs
it with a CJK font; never `playwright install`, which cannot download here)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, async_playwright

from tests.support import unavailable_here
from townhall.web.pages import APP

CHROMIUM = Path(os.environ.get("TOWNHALL_TEST_CHROMIUM", "/usr/bin/chromium"))
# `make screenshots` sets it: the tests then save the screens they reach for the docs.
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
AXE = Axe()


async def check_screen(page: Page, name: str) -> None:
    """The screen has no serious or critical accessibility violation (axe-core), and is saved
    as docs/screenshots/NAME.png when screenshots are asked for."""
    found = (await AXE.run(page)).response["violations"]
    grave = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]
    assert grave == [], f"{name}: {grave}"
    if os.environ.get("TOWNHALL_SCREENSHOTS"):
        SCREENSHOTS.mkdir(exist_ok=True)
        await page.screenshot(path=SCREENSHOTS / f"{name}.png")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not (APP / "index.html").is_file():
        unavailable_here("the web app is not built: make web")
    if not CHROMIUM.is_file():
        unavailable_here(f"no chromium at {CHROMIUM}: make browser installs Debian's")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        await launched.close()
