"""Searching one's chats in the web app: the words typed find one's own messages only, and a
hit opens its chat; in each language."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import MakeUser, Server
from tests.support import befriend, sent
from tests.web.conftest import check_screen, signed_in, ui

pytestmark = pytest.mark.usefixtures("no_server_errors")


@pytest.mark.parametrize("english", [True, False], ids=["en", "zh-CN"])
async def test_a_search_finds_ones_own_messages_and_opens_their_chat(
    browser: Browser, server: Server, make_user: MakeUser, english: bool
) -> None:
    amy, bo, cy = [await make_user(name) for name in ("amy", "bo", "cy")]
    await befriend(amy, bo)
    await befriend(amy, cy)
    ours = (await amy.open_direct(bo.id))["id"]
    theirs = (await amy.open_direct(cy.id))["id"]
    await sent(amy, ours, "周末去爬山吗")
    await sent(bo, ours, "好啊 see you there")
    await sent(amy, theirs, "你也去爬山吗")  # Amy and Cy's: never Bo's to find
    page = await signed_in(browser, server, bo, english=english)

    await page.get_by_role("searchbox", name=ui(english, "search.label")).fill("爬山")
    await page.get_by_role("button", name=ui(english, "search.submit"), exact=True).click()
    hits = page.get_by_role("list", name=ui(english, "search.results"))
    await expect(hits.locator(".preview")).to_have_text(["周末去爬山吗"])
    await check_screen(page, f"search-{'en' if english else 'zh-CN'}")

    await page.get_by_role("searchbox", name=ui(english, "search.label")).fill("nowhere")
    await page.get_by_role("button", name=ui(english, "search.submit"), exact=True).click()
    await expect(page.get_by_text(ui(english, "search.none"))).to_be_visible()

    await page.get_by_role("searchbox", name=ui(english, "search.label")).fill("SEE")
    await page.get_by_role("button", name=ui(english, "search.submit"), exact=True).click()
    await hits.locator(".conversation").first.click()
    await expect(page.locator(".messages .message > .text")).to_contain_text(
        ["周末去爬山吗", "好啊 see you there"]
    )
