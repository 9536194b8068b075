"""A sanctioned person in the web app: a sanction applied while they are signed in shows among
their notices with what it withholds, until when and why; a refused send says so in their
language; and they appeal it from there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import MakeUser, Server, User
from tests.support import SANCTIONS, applied
from tests.web.conftest import check_screen, say, signed_in

pytestmark = pytest.mark.usefixtures("no_server_errors")


@pytest.mark.parametrize("english", [True, False], ids=["en", "zh-CN"])
async def test_a_sanction_is_shown_with_its_reasons_and_appealed(
    browser: Browser, server: Server, make_user: MakeUser, reviewer: User, english: bool
) -> None:
    dan, friend = await make_user("dan"), await make_user("friend")
    await dan.open_direct(friend.id)
    page = await signed_in(browser, server, dan, english=english)
    ends = datetime.now(UTC) + timedelta(days=7)
    await applied(
        reviewer, "user", dan.id, "suspend_updates", reason="spread a fabricated story",
        ends_at=ends.isoformat(),
    )  # fmt: skip

    await page.get_by_role("button", name="Notices" if english else "通知").click()
    standing = page.locator(".standing")
    await expect(standing).to_contain_text("updates suspended" if english else "暂停更新")
    await expect(standing).to_contain_text("spread a fabricated story")
    await expect(standing).to_contain_text("send messages" if english else "发消息")
    await expect(page.locator(".notice")).to_have_count(1)
    await check_screen(page, f"standing-{'en' if english else 'zh-CN'}")

    # A send is refused, and the refusal reads as the sanction.
    await page.get_by_role("button", name="Chats" if english else "聊天").click()
    await page.locator(".conversation").first.click()
    await say(page, "hello?")
    refusal = page.locator(".message.pending [role=alert]")
    await expect(refusal).to_contain_text("suspended" if english else "暂停更新")
    # …with what the sanction withholds and until when, from the user's standing.
    await expect(refusal).to_contain_text("send messages" if english else "发消息")
    await expect(refusal).to_contain_text("until " if english else "至 ")

    back = page.locator(".chat .back")  # shown on a phone, where the chat covers the tabs
    if await back.is_visible():
        await back.click()
    await page.get_by_role("button", name="Notices" if english else "通知").click()
    await standing.get_by_role("button", name="Appeal" if english else "申诉").click()
    await standing.locator("textarea[name=appeal]").fill("The story was true; here is the source.")
    await standing.get_by_role("button", name="Send appeal" if english else "提交申诉").click()
    await expect(standing.get_by_role("status")).to_contain_text(
        "another reviewer" if english else "另一位审核员"
    )
    (appeal,) = (await dan.request("GET", "/api/v1/appeals"))["appeals"]
    assert appeal["statement"] == "The story was true; here is the source."
    # The sanction now shows its appeal waiting, not a second Appeal button; so it does when
    # the notices are opened again.
    pending = standing.locator(".appeal[data-appeal-state=pending]")
    appeal_button = standing.get_by_role("button", name="Appeal" if english else "申诉")
    await expect(pending).to_contain_text("waiting for a reviewer" if english else "等待审核")
    await expect(appeal_button).to_have_count(0)
    await page.get_by_role("button", name="Chats" if english else "聊天").click()
    await page.get_by_role("button", name="Notices" if english else "通知").click()
    await expect(pending).to_be_visible()
    await expect(appeal_button).to_have_count(0)


@pytest.mark.parametrize("english", [True, False], ids=["en", "zh-CN"])
async def test_what_was_decided_before_logging_in_is_among_the_notices(
    browser: Browser, server: Server, make_user: MakeUser, reviewer: User, english: bool
) -> None:
    eve = await make_user("eve")
    warning = await applied(reviewer, "user", eve.id, "warning", reason="insulted a neighbour")
    await reviewer.request(
        "POST", f"{SANCTIONS}/{warning['id']}/lift", json={"reason": "a second look"}
    )
    page = await signed_in(browser, server, eve, english=english)
    await page.get_by_role("button", name="Notices" if english else "通知").click()
    notices = page.locator(".notices .notice")
    await expect(notices).to_have_count(2)
    await expect(notices.first).to_contain_text("ended" if english else "已结束")
    await expect(notices.last).to_contain_text("insulted a neighbour")
    await check_screen(page, f"notices-{'en' if english else 'zh-CN'}")
