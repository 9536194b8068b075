"""Public accounts in the web app: one person subscribes to an approved account, reads a post
and forwards it into a chat, where the other reads it too, and reports it as a rumour; a
reviewer removes it through the API, and both see the post gone and the reviewer's correction,
where they read it and among their notices."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.api.test_corrections import STATEMENT, corrected
from tests.conftest import MakeUser, Server, User
from tests.support import case_of, public_account, tagged
from tests.web.conftest import check_screen, signed_in

pytestmark = pytest.mark.usefixtures("no_server_errors")


async def test_read_forward_report_and_see_the_removal_and_its_correction(
    browser: Browser, server: Server, make_user: MakeUser, reviewer: User
) -> None:
    amy, bo, operator = [await make_user(name) for name in ("amy", "bo", "operator")]
    await amy.open_direct(bo.id)
    account = await public_account(operator, reviewer)
    title = tagged("自来水含毒")
    post = await operator.publish(account["id"], title, "转给家人。")
    amy_page = await signed_in(browser, server, amy, english=True)
    bo_page = await signed_in(browser, server, bo, english=False)

    # Amy finds the account, subscribes, and reads its post.
    await amy_page.get_by_role("button", name="Public accounts").click()
    row = amy_page.locator(".account").filter(has_text=account["name"])
    await row.get_by_role("button", name="Subscribe").click()
    await expect(row.get_by_role("button", name="Unsubscribe")).to_be_visible()
    await amy_page.get_by_role("button", name=re.compile(title)).click()
    await expect(amy_page.locator(".post-body .text")).to_have_text("转给家人。")
    await check_screen(amy_page, "post-en-desktop")

    # She forwards it to Bo, who opens it from the chat.
    bo_name = (await bo.request("GET", "/api/v1/me"))["display_name"]
    await amy_page.locator("select[name=chat]").select_option(label=bo_name)
    await amy_page.get_by_role("button", name="Forward", exact=True).click()
    await expect(amy_page.locator(".forward [role=status]")).to_have_text("Forwarded.")
    await bo_page.locator(".conversation").first.click()
    card = bo_page.locator(".message .attachment")
    await expect(card).to_contain_text(title)
    await card.click()
    await expect(bo_page.locator(".post-body .text")).to_have_text("转给家人。")

    # Amy reports it as a rumour; a reviewer removes it, with a statement.
    await amy_page.get_by_role("button", name="Report").click()
    await amy_page.locator("select[name=reason]").select_option("rumour")
    await amy_page.get_by_role("button", name="Send report").click()
    await expect(amy_page.locator(".report [role=status]")).to_contain_text("Thank you")
    await corrected(reviewer, (await case_of(reviewer, "post", post["id"]))["id"])

    # Both see it gone and corrected where they are, and among their notices.
    for page in (amy_page, bo_page):
        await expect(page.locator(".correction")).to_contain_text(STATEMENT)
        await expect(page.locator(".post-body .text")).to_have_count(0)
    await expect(amy_page.locator(".chat h2")).to_contain_text("was removed")
    await check_screen(bo_page, "correction-zh-CN-phone")
    await bo_page.get_by_role("button", name=re.compile("聊天")).first.click()
    await bo_page.locator(".conversation").first.click()
    await expect(bo_page.locator(".message .attachment")).to_contain_text("已被删除")
    await amy_page.get_by_role("button", name=re.compile("^Notices")).click()
    await expect(amy_page.locator(".notice")).to_contain_text([STATEMENT])
