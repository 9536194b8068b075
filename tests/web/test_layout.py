"""The web app's layout holds on a phone and a desktop, whatever the names it shows: no screen is
wider than the window (a 64-character display name without a space, the longest the server
takes, wraps or is cut short with an ellipsis), the Log out button is always in view, the tabs
stay clickable beside an open chat, and the browser's Back leaves a chat or a post for the list
it was opened from, within the app."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import MakeUser, Server, User
from tests.support import public_account, tagged
from tests.web.conftest import DESKTOP, check_screen, log_in, ui

pytestmark = pytest.mark.usefixtures("no_server_errors")
SMALL_PHONE = {"width": 375, "height": 740}
LONGEST_NAME = "M" * 64  # a wide letter, as long as a display name may be, no space in it
UNBROKEN = "M" * 300
CLICK_MS = 5_000  # a covered button never takes the click: fail soon rather than at 30 s

# Every element that scrolls or lays out a screen's parts: none may be wider than it shows.
FRAMES = ".app, .bar, .main, .tabs, .list, .chat, .chat header, .messages, .post-body"


async def opened(
    browser: Browser, server: Server, user: User, *, english: bool, viewport: dict[str, int]
) -> Page:
    context = await browser.new_context(locale="en-US" if english else "zh-CN", viewport=viewport)
    page = await context.new_page()
    await page.goto(f"{server.base_url}/app/")
    await log_in(page, user.handle, english=english)
    return page


async def assert_fits(page: Page, screen: str, english: bool) -> None:
    """Nothing runs past the window's right edge, nothing scrolls sideways, and Log out is
    wholly in view."""
    widths = await page.evaluate(
        """(frames) => ({
            page: document.documentElement.scrollWidth,
            window: window.innerWidth,
            wider: [...document.querySelectorAll(frames)]
                .filter((e) => e.getClientRects().length && e.scrollWidth > e.clientWidth + 1)
                .map((e) => `${e.className || e.tagName}: ${e.scrollWidth} > ${e.clientWidth}`),
        })""",
        FRAMES,
    )
    assert widths["page"] <= widths["window"], (screen, widths)
    assert widths["wider"] == [], (screen, widths)
    logout = page.get_by_role("button", name=ui(english, "logout"), exact=True)
    box = await logout.bounding_box()
    assert box is not None, screen
    assert box["x"] >= 0 and box["x"] + box["width"] <= widths["window"], (screen, box)


@pytest.mark.parametrize("english", [True, False], ids=["en", "zh-CN"])
async def test_a_small_phone_shows_every_screen_within_its_width(
    browser: Browser,
    server: Server,
    make_user: MakeUser,
    reviewer: User,
    english: bool,
) -> None:
    amy, wide, operator = [await make_user(name) for name in ("amy", "wide", "operator")]
    await wide.request("PATCH", "/api/v1/me", json={"display_name": LONGEST_NAME})
    chat = await wide.open_direct(amy.id)
    await wide.send(chat["id"], UNBROKEN)
    account = await public_account(operator, reviewer)
    await amy.subscribe(account["id"])
    title = tagged("M" * 40)
    await operator.publish(account["id"], title, UNBROKEN)
    page = await opened(browser, server, amy, english=english, viewport=SMALL_PHONE)

    await expect(page.locator(".conversation")).to_contain_text(LONGEST_NAME)
    await assert_fits(page, "chats", english)

    await page.locator(".conversation").first.click()
    await expect(page.locator(".chat header h2")).to_have_text(LONGEST_NAME)
    await expect(page.locator(".messages .message .text")).to_have_text(UNBROKEN)
    await assert_fits(page, "chat", english)
    back = page.locator(".chat .back")
    assert (await back.bounding_box() or {"height": 999})["height"] < 60  # one line, not a column
    await back.click()

    await page.get_by_role("button", name=ui(english, "me.title"), exact=True).click()
    await expect(page.locator(".me")).to_be_visible()
    await assert_fits(page, "me", english)

    await page.get_by_role("button", name=ui(english, "accounts.title"), exact=True).click()
    await expect(page.locator(".post-link").filter(has_text=title)).to_be_visible()
    await assert_fits(page, "accounts", english)
    await page.locator(".post-link").filter(has_text=title).click()
    await expect(page.locator(".post-body .text")).to_have_text(UNBROKEN)
    await assert_fits(page, "post", english)
    # The way back names where it leads: the public accounts the post was opened from.
    await expect(page.locator(".back")).to_have_text(
        re.compile(re.escape(ui(english, "accounts.title")))
    )
    await check_screen(page, f"layout-post-{'en' if english else 'zh-CN'}-phone")


async def test_the_tabs_stay_clickable_beside_an_open_chat_on_a_desktop(
    browser: Browser, server: Server, make_user: MakeUser
) -> None:
    amy, wide = await make_user("amy"), await make_user("wide")
    await wide.request("PATCH", "/api/v1/me", json={"display_name": LONGEST_NAME})
    chat = await wide.open_direct(amy.id)
    await wide.send(chat["id"], UNBROKEN)
    page = await opened(browser, server, amy, english=True, viewport=DESKTOP)
    await page.locator(".conversation").first.click()
    await expect(page.locator(".chat header h2")).to_have_text(LONGEST_NAME)
    await assert_fits(page, "desktop chat", True)

    await page.get_by_role("button", name=ui(True, "me.title"), exact=True).click(timeout=CLICK_MS)
    await expect(page.locator(".me")).to_be_visible()


@pytest.mark.parametrize("english", [True, False], ids=["en", "zh-CN"])
async def test_back_leaves_a_chat_or_a_post_for_the_list_within_the_app(
    browser: Browser,
    server: Server,
    make_user: MakeUser,
    reviewer: User,
    english: bool,
) -> None:
    amy, bo, operator = [await make_user(name) for name in ("amy", "bo", "operator")]
    chat = await bo.open_direct(amy.id)
    await bo.send(chat["id"], "你好 Amy")
    account = await public_account(operator, reviewer)
    await amy.subscribe(account["id"])
    title = tagged("今日新闻")
    await operator.publish(account["id"], title, "正文")
    page = await opened(browser, server, amy, english=english, viewport=SMALL_PHONE)
    home = page.url

    # A chat opened from the list: Back returns to the list, in the app, at the same address.
    await page.locator(".conversation").first.click()
    await expect(page.locator(".messages .message .text")).to_have_text("你好 Amy")
    await page.go_back()
    await expect(page.locator(".conversation")).to_be_visible()
    await expect(page.locator(".chat")).to_have_count(0)
    assert page.url == home
    await expect(page.locator(".connection")).to_have_attribute("data-state", "online")

    # Opened again and left by the app's own way back, a second Back does not reopen it.
    await page.locator(".conversation").first.click()
    await page.locator(".chat .back").click()
    await expect(page.locator(".chat")).to_have_count(0)

    # A post opened from the public accounts: Back returns to them.
    await page.get_by_role("button", name=ui(english, "accounts.title"), exact=True).click()
    await page.locator(".post-link").filter(has_text=title).click()
    await expect(page.locator(".post-body .text")).to_have_text("正文")
    await page.go_back()
    await expect(page.locator(".post-link").filter(has_text=title)).to_be_visible()
    await expect(page.locator(".post-body")).to_have_count(0)
    assert page.url == home
