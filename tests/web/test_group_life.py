"""Group life and contacts in the web app: the owner posts an announcement, names an admin and
makes join links shown as QR codes; a person who opens a link joins once signed in, or asks and
is let in by the owner; and a person blocks and unblocks another."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import MakeUser, Server
from tests.support import befriend, group_of
from tests.web.conftest import check_screen, log_in, signed_in, ui

pytestmark = pytest.mark.usefixtures("no_server_errors")
LANGUAGES = pytest.mark.parametrize("english", [True, False], ids=["en", "zh-CN"])


@LANGUAGES
async def test_announcement_admins_and_join_links(
    browser: Browser, server: Server, make_user: MakeUser, english: bool
) -> None:
    olga, max_, newcomer, asker = [await make_user(name) for name in ("olga", "max", "nina", "asa")]
    title = f"合唱团{olga.id}"
    group = await group_of(olga, title, max_)
    page = await signed_in(browser, server, olga, english=english)
    await page.locator(".conversation").filter(has_text=title).click()
    await page.get_by_role("button", name="Group info" if english else "群信息").click()
    info = page.locator(".group-info")

    await info.locator("textarea[name=announcement]").fill("周六下午三点排练。")
    await info.get_by_role("button", name="Save" if english else "保存").click()
    await expect(info.get_by_role("status")).to_have_text("Saved." if english else "已保存。")
    seen = await max_.request("GET", f"/api/v1/conversations/{group['id']}")
    assert seen["group"]["announcement"] == "周六下午三点排练。"

    max_row = info.locator(".members li").filter(has_not_text="olga")
    await max_row.get_by_role("button", name="Make admin" if english else "设为管理员").click()
    await expect(max_row.locator(".badge")).to_have_text("admin" if english else "管理员")
    roles = await olga.request("GET", f"/api/v1/conversations/{group['id']}")
    assert {m["user_id"]: m["role"] for m in roles["members"]}[max_.id] == "admin"

    # A join link, shown as a QR code carrying its address; one who opens it joins.
    await info.get_by_role("button", name="New join link" if english else "生成入群链接").click()
    link = info.locator(".join-link")
    await expect(link.locator("svg.qr")).to_be_visible()
    await check_screen(page, f"group-info-{'en-desktop' if english else 'zh-CN-phone'}")
    address = await link.locator("input").input_value()
    assert address.startswith(f"{server.base_url}/app/join#")

    joining = await (await browser.new_context(locale="en-US" if english else "zh-CN")).new_page()
    await joining.goto(address)
    await log_in(joining, newcomer.handle, english=english)
    await expect(joining.locator(".join-prompt")).to_be_visible()
    await expect(joining.locator(".join-prompt p").first).to_contain_text(f"“{title}”")
    await check_screen(joining, f"join-{'en' if english else 'zh-CN'}")
    await joining.get_by_role("button", name="Join" if english else "加入", exact=True).click()
    await expect(joining.locator(".chat h2")).to_have_text(title)
    token = address.partition("#")[2]
    assert token and token not in server.log()  # the access log never saw it
    assert newcomer.id in {
        m["user_id"]
        for m in (await olga.request("GET", f"/api/v1/conversations/{group['id']}"))["members"]
    }

    # A link that needs approval: the one who opens it asks, the owner sees them by name.
    await info.get_by_role(
        "button", name="New link that needs approval" if english else "生成需审批的入群链接"
    ).click()
    approval_link = info.locator(".join-link").filter(
        has_text="an admin approves" if english else "需管理员审批"
    )
    address = await approval_link.locator("input").input_value()
    asking = await (await browser.new_context(locale="zh-CN")).new_page()
    await asking.goto(address)
    await log_in(asking, asker.handle, english=False)
    await asking.get_by_role("button", name="加入", exact=True).click()
    await expect(asking.locator(".join-prompt [role=status]")).to_contain_text("等待群管理员审批")

    # The owner's open group page shows the request live: neither reopened nor polled.
    asker_name = (await asker.request("GET", "/api/v1/me"))["display_name"]
    request = page.locator(".group-info .person").filter(has_text=asker_name)
    await request.get_by_role("button", name="Accept" if english else "接受").click()
    await expect(asking.locator(".conversation").filter(has_text=title)).to_be_visible()


@LANGUAGES
async def test_block_and_unblock(
    browser: Browser, server: Server, make_user: MakeUser, english: bool
) -> None:
    amy, bo = await make_user("amy"), await make_user("bo")
    await befriend(amy, bo)
    direct = await bo.open_direct(amy.id)
    bo_name = (await bo.request("GET", "/api/v1/me"))["display_name"]
    page = await signed_in(browser, server, amy, english=english)
    await page.get_by_role("button", name="Contacts" if english else "联系人").click()
    block = f"Block {bo_name}" if english else f"拉黑{bo_name}"
    await page.get_by_role("button", name=block).click()
    blocked = page.locator("section[aria-labelledby=blocked-title]")
    await expect(blocked).to_contain_text(bo_name)
    refused = await bo.raw(
        "POST",
        f"/api/v1/conversations/{direct['id']}/messages",
        json={"text": "在吗", "client_id": "blocked-1"},
    )
    assert refused.json()["error"]["code"] == "messages_not_accepted"  # a block is never told

    # Bo can be reported from there too, as a person, with a reason.
    report = ui(english, "report.named", name=bo_name)
    await blocked.get_by_role("button", name=report).click()
    await blocked.locator("select[name=reason]").select_option("fraud")
    await blocked.get_by_role("button", name=ui(english, "report.send")).click()
    await expect(blocked.get_by_role("status")).to_have_text(ui(english, "report.sent"))
    (filed,) = (await amy.request("GET", "/api/v1/reports"))["reports"]
    assert (filed["target"], filed["reason"]) == ({"type": "user", "id": bo.id}, "fraud")

    await blocked.get_by_role("button", name="Unblock" if english else "解除拉黑").click()
    await expect(blocked).to_have_count(0)
    assert (await bo.send(direct["id"], "在吗"))["text"] == "在吗"
