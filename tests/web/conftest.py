"""The web app in a real browser: Playwright driving Debian's chromium (`make browser` installs
it with a CJK font; never `playwright install`, which cannot download here)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from functools import cache
from pathlib import Path

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.conftest import PASSWORD, Server, User
from tests.support import unavailable_here
from townhall.web.pages import APP, CONSOLE

CHROMIUM = Path(os.environ.get("TOWNHALL_TEST_CHROMIUM", "/usr/bin/chromium"))
# `make screenshots` sets it: the tests then save the screens they reach for the docs.
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
AXE = Axe()
CATALOGS = Path(__file__).parents[2] / "web" / "src" / "i18n"
CONSOLE_CATALOGS = Path(__file__).parents[2] / "web" / "src" / "console" / "i18n"
ENTRY = re.compile(r'"([\w.]+)":\s*("(?:[^"\\]|\\.)*")')
WAIT_MS = 15_000  # a reconnect waits 1, 2, 4 … s: the third try is within this


@cache
def catalog(english: bool, folder: Path = CATALOGS) -> dict[str, str]:
    """The app's own strings (or the console's) in one language, by key."""
    text = (folder / ("en.ts" if english else "zh-CN.ts")).read_text(encoding="utf-8")
    return {key: json.loads(value) for key, value in ENTRY.findall(text)}


def ui(english: bool, key: str, *, folder: Path = CATALOGS, **values: str) -> str:
    """What the app shows for `key` in that language, `{name}` filled from `values`."""
    text = catalog(english, folder)[key]
    for name, value in values.items():
        text = text.replace(f"{{{name}}}", value)
    return text


def console_ui(english: bool, key: str, **values: str) -> str:
    """What the staff console shows for `key` in that language."""
    return ui(english, key, folder=CONSOLE_CATALOGS, **values)


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


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    """One chromium per test process: launching it and Playwright's driver cost over a second of
    CPU, which each test paid when it had its own. Tests share it the way people share a browser,
    each in contexts of its own (`browser`)."""
    if not (APP / "index.html").is_file() or not (CONSOLE / "index.html").is_file():
        unavailable_here("the web app and the console are not built: make web")
    if not CHROMIUM.is_file():
        unavailable_here(f"no chromium at {CHROMIUM}: make browser installs Debian's")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        await launched.close()


@pytest.fixture
async def browser(chromium: Browser) -> AsyncIterator[Browser]:
    """The test process's chromium; the contexts (cookies, storage, pages) a test opened are
    closed after it, so that none sees another's."""
    yield chromium
    for context in chromium.contexts:
        await context.close()


async def log_in(page: Page, handle: str, *, english: bool) -> None:
    await page.locator("input[name=handle]").fill(handle)
    await page.locator("input[name=password]").fill(PASSWORD)
    await page.get_by_role("button", name="Log in" if english else "登录", exact=True).click()
    await expect(page.locator(".connection")).to_have_attribute("data-state", "online")


async def say(page: Page, text: str) -> None:
    await page.locator("#composer-text").fill(text)
    await page.locator("#composer-text").press("Enter")


async def signed_in(browser: Browser, server: Server, user: User, *, english: bool) -> Page:
    context = await browser.new_context(
        locale="en-US" if english else "zh-CN", viewport=DESKTOP if english else PHONE
    )
    page = await context.new_page()
    await page.goto(f"{server.base_url}/app/")
    await log_in(page, user.handle, english=english)
    return page


async def console_signed_in(
    browser: Browser, server: Server, staff: User, *, english: bool
) -> Page:
    """The staff console, signed in as `staff`, on a desktop-sized window in that language."""
    context = await browser.new_context(locale="en-US" if english else "zh-CN", viewport=DESKTOP)
    page = await context.new_page()
    await page.goto(f"{server.base_url}/console/")
    await page.locator("input[name=handle]").fill(staff.handle)
    await page.locator("input[name=password]").fill(PASSWORD)
    await page.get_by_role("button", name=console_ui(english, "login.submit"), exact=True).click()
    await expect(page.locator(".console .who")).to_contain_text(staff.handle)
    return page
