"""Public accounts in the web app: one person subscribes to an approved account, reads a post
and forwards it into a chat, where the other reads it too, and reports it as a rumour; a
reviewer removes it through the API, and both see the post gone and the reviewer's correction,
where they read it and among their notices. The one in one language, the other in the other, and
then the other way round."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.api.test_corrections import STATEMENT, corrected
from tests.conftest import MakeUser, Server, User
from tests.support import case_of, public_account, tagged
from tests.web.conftest import check_screen, signed_in, ui

pytestmark = pytest.mark.usefixtures("no_server_errors")


@pytest.mark.parametrize("english", [True, False], ids=["en", "zh-CN"])
async def test_read_forward_report_and_see_the_removal_and_its_correction(
    browser: Browser, server: Server, make_user: MakeUser, reviewer: User, english: bool
) -> None:
    amy, bo, operator = [await make_user(name) for name in ("amy", "bo", "operator")]
    await amy.open_direct(bo.id)
    account = await public_account(operator, reviewer)
    title = tagged("自来水含毒")
    post = await operator.publish(account["id"], title, "转给家人。")
    amys, bos = english, not english
    amy_page = await signed_in(browser, server, amy, english=amys)
    bo_page = await signed_in(browser, server, bo, english=bos)

    # Amy finds the account, subscribes, and reads its post.
    await amy_page.get_by_role("button", name=ui(amys, "accounts.title")).click()
    row = amy_page.locator(".account").filter(has_text=account["name"])
    await row.get_by_role("button", name=ui(amys, "accounts.subscribe"), exact=True).click()
    await expect(row.get_by_role("button", name=ui(amys, "accounts.unsubscribe"))).to_be_visible()
    await check_screen(amy_page, f"accounts-{'en-desktop' if english else 'zh-CN-phone'}")
    await amy_page.get_by_role("button", name=re.compile(title)).click()
    await expect(amy_page.locator(".post-body .text")).to_have_text("转给家人。")
    await check_screen(amy_page, f"post-{'en-desktop' if english else 'zh-CN-phone'}")

    # She forwards it to Bo, who opens it from the chat.
    bo_name = (await bo.request("GET", "/api/v1/me"))["display_name"]
    await amy_page.locator("select[name=chat]").select_option(label=bo_name)
    await amy_page.get_by_role("button", name=ui(amys, "post.forward"), exact=True).click()
    await expect(amy_page.locator(".forward [role=status]")).to_have_text(
        ui(amys, "post.forwarded")
    )
    await bo_page.locator(".conversation").first.click()
    card = bo_page.locator(".message .attachment")
    await expect(card).to_contain_text(title)
    await card.click()
    await expect(bo_page.locator(".post-body .text")).to_have_text("转给家人。")

    # Amy reports it as a rumour; a reviewer removes it, with a statement.
    await amy_page.get_by_role("button", name=ui(amys, "report.open"), exact=True).click()
    await amy_page.locator("select[name=reason]").select_option("rumour")
    await amy_page.get_by_role("button", name=ui(amys, "report.send")).click()
    await expect(amy_page.locator(".report [role=status]")).to_have_text(ui(amys, "report.sent"))
    await corrected(reviewer, (await case_of(reviewer, "post", post["id"]))["id"])

    # Both see it gone and corrected where they are, and among their notices.
    for page in (amy_page, bo_page):
        await expect(page.locator(".correction")).to_contain_text(STATEMENT)
        await expect(page.locator(".post-body .text")).to_have_count(0)
    removed = ui(amys, "post.removed", account=account["name"])
    await expect(amy_page.locator(".chat h2")).to_have_text(removed)
    await check_screen(bo_page, f"correction-{'zh-CN-phone' if english else 'en-desktop'}")
    back_to_chat = bo_page.locator(".post-view .back")
    if await back_to_chat.is_visible():  # a phone: back to the chat the post was opened in
        await back_to_chat.click()
    else:
        await bo_page.get_by_role("button", name=ui(bos, "chats.title")).click()
        await bo_page.locator(".conversation").first.click()
    gone = ui(bos, "post.removed", account=account["name"])
    await expect(bo_page.locator(".message .attachment")).to_have_text(gone)
    back = amy_page.locator(".post-view .back")  # on a phone the post covers the tabs
    if await back.is_visible():
        await back.click()
    await amy_page.get_by_role("button", name=re.compile("^" + ui(amys, "notices.title"))).click()
    notices = amy_page.locator(".notices .notice")
    await expect(notices.filter(has_text=STATEMENT)).to_have_count(1)
