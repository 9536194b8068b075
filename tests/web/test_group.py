"""A group of three in the web app: one creates it and invites two friends, who accept; a
mention reaches the one mentioned, a reply quotes its original, and a recall takes the original
away from everyone, quote included. Two of them use it in one language, the third in the other,
and then the other way round."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import MakeUser, Server
from tests.support import befriend
from tests.web.conftest import check_screen, say, signed_in, ui

pytestmark = pytest.mark.usefixtures("no_server_errors")


def texts(page: Page):  # type: ignore[no-untyped-def]
    return page.locator(".messages .message:not(.pending) > .text")


@pytest.mark.parametrize("english", [True, False], ids=["en", "zh-CN"])
async def test_a_group_with_a_mention_a_reply_and_a_recall(
    browser: Browser, server: Server, make_user: MakeUser, english: bool
) -> None:
    amy, bo, cy = [await make_user(name) for name in ("amy", "bo", "cy")]
    await befriend(amy, bo)
    await befriend(amy, cy)
    # Amy and Cy in one language, Bo in the other.
    amy_page = await signed_in(browser, server, amy, english=english)
    bo_page = await signed_in(browser, server, bo, english=not english)
    cy_page = await signed_in(browser, server, cy, english=english)
    theirs, bos = english, not english
    shots = ("en", "zh-CN") if english else ("zh-CN", "en")

    # Amy makes the group and invites both friends; each accepts.
    await amy_page.get_by_role("button", name=ui(theirs, "group.new")).click()
    await amy_page.locator("input[name=title]").fill("Tea club")
    for friend in (bo, cy):
        await amy_page.locator(f"input[name=member][value='{friend.handle}']").check()
    await check_screen(amy_page, f"new-group-{shots[0]}")
    await amy_page.get_by_role("button", name=ui(theirs, "group.create")).click()
    await expect(amy_page.locator(".chat h2")).to_have_text("Tea club")
    await bo_page.get_by_role("button", name=ui(bos, "contacts.accept")).click()
    await cy_page.get_by_role("button", name=ui(theirs, "contacts.accept")).click()
    for page in (bo_page, cy_page):
        await expect(page.locator(".chat h2")).to_have_text("Tea club")

    # Amy writes; Bo mentions Cy and replies to Amy.
    await say(amy_page, "Hello all")
    for page in (amy_page, bo_page, cy_page):
        await expect(texts(page)).to_have_text(["Hello all"])
    cy_name = await cy.request("GET", "/api/v1/me")
    await bo_page.locator("select[name=mention]").select_option(label=cy_name["display_name"])
    await bo_page.locator("#composer-text").press("End")
    await bo_page.locator("#composer-text").type("来喝茶")
    await bo_page.locator("#composer-text").press("Enter")
    await expect(cy_page.locator(".message.mentions-me")).to_have_count(1)
    await expect(amy_page.locator(".message.mentions-me")).to_have_count(0)
    await (
        bo_page.locator(".message")
        .filter(has_text="Hello all")
        .get_by_role("button", name=ui(bos, "chat.reply"))
        .click()
    )
    await say(bo_page, "好的")
    reply = amy_page.locator(".message").filter(has_text="好的")
    await expect(reply.locator(".quote")).to_contain_text("Hello all")
    await check_screen(cy_page, f"group-{shots[0]}-{'desktop' if english else 'phone'}")
    await check_screen(bo_page, f"group-{shots[1]}-{'phone' if english else 'desktop'}")

    # Amy recalls her message: gone for everyone, and from the quote.
    await (
        amy_page.locator(".message")
        .filter(has_text="Hello all")
        .first.get_by_role("button", name=ui(theirs, "chat.recall"))
        .click()
    )
    for page, language in ((amy_page, theirs), (cy_page, theirs), (bo_page, bos)):
        await expect(texts(page).first).to_have_text(ui(language, "chat.recalled"))
    await expect(reply.locator(".quote")).not_to_contain_text("Hello all")
    bo_reply = bo_page.locator(".message").filter(has_text="好的")
    await expect(bo_reply.locator(".quote")).to_have_text(ui(bos, "chat.quote_gone"))
