"""The user's own page in the web app: the profile, the password, the sessions, deregistering
with its consequences spelled out, and running a public account from the application through
its review to a post and a re-post."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import PASSWORD, MakeUser, Server, User
from tests.support import public_account
from tests.web.conftest import check_screen, signed_in

pytestmark = pytest.mark.usefixtures("no_server_errors")
LANGUAGES = pytest.mark.parametrize("english", [True, False], ids=["en", "zh-CN"])


async def open_me(page: Page, *, english: bool) -> None:
    await page.get_by_role("button", name="Me" if english else "我", exact=True).click()


async def logs_in(server: Server, handle: str, password: str) -> bool:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answer = await http.post("/api/v1/sessions", json={"handle": handle, "password": password})
    return answer.status_code == 201


@LANGUAGES
async def test_profile_password_and_sessions(
    browser: Browser, server: Server, make_user: MakeUser, english: bool
) -> None:
    ann = await make_user("ann")
    page = await signed_in(browser, server, ann, english=english)
    await open_me(page, english=english)
    profile = page.locator("section[aria-labelledby=profile-title]")
    await profile.locator("input[name=display_name]").fill("安妮 Ann")
    await profile.locator("textarea[name=bio]").fill("读书、散步。")
    await profile.get_by_role("button", name="Save" if english else "保存").click()
    await expect(profile.get_by_role("status")).to_have_text("Saved." if english else "已保存。")
    me = await ann.request("GET", "/api/v1/me")
    assert (me["display_name"], me["bio"]) == ("安妮 Ann", "读书、散步。")

    # Two sessions: this browser's and the test's own; the other can be logged out from here.
    sessions = page.locator(".sessions li")
    await expect(sessions).to_have_count(2)
    await expect(sessions.filter(has_text="this one" if english else "本设备")).to_have_count(1)
    await check_screen(page, f"me-{'en-desktop' if english else 'zh-CN-phone'}")

    password = page.locator("section[aria-labelledby=password-title]")
    await password.locator("input[name=current_password]").fill("not my password")
    await password.locator("input[name=new_password]").fill("a new long password")
    await password.get_by_role("button", name="Change password" if english else "修改密码").click()
    await expect(password.get_by_role("status")).to_have_text(
        "The current password is wrong." if english else "当前密码不正确。"
    )
    await password.locator("input[name=current_password]").fill(PASSWORD)
    await password.get_by_role("button", name="Change password" if english else "修改密码").click()
    await expect(password.get_by_role("status")).to_contain_text(
        "other sessions have ended" if english else "其他设备"
    )
    assert await logs_in(server, ann.handle, "a new long password")
    assert not await logs_in(server, ann.handle, PASSWORD)
    assert (await ann.raw("GET", "/api/v1/me")).status_code == 401  # the test's session ended


@LANGUAGES
async def test_deregistering_says_what_it_means_and_asks_for_the_handle(
    browser: Browser, server: Server, make_user: MakeUser, english: bool
) -> None:
    ben = await make_user("ben")
    page = await signed_in(browser, server, ben, english=english)
    await open_me(page, english=english)
    leaving = page.locator("section.danger")
    await expect(leaving).to_contain_text("cannot be undone" if english else "无法撤销")
    await expect(leaving).to_contain_text("public accounts" if english else "公众账号")
    submit = leaving.get_by_role(
        "button", name="Deregister my account" if english else "注销我的账号"
    )
    await expect(submit).to_be_disabled()
    await leaving.locator("input[name=confirm_handle]").fill(ben.handle + "x")
    await expect(submit).to_be_disabled()
    await leaving.locator("input[name=confirm_handle]").fill(ben.handle)
    await submit.click()
    await expect(
        page.get_by_role("button", name="Log in" if english else "登录", exact=True)
    ).to_be_visible()
    assert not await logs_in(server, ben.handle, PASSWORD)


@LANGUAGES
async def test_apply_for_a_public_account_follow_its_review_publish_and_repost(
    browser: Browser,
    server: Server,
    make_user: MakeUser,
    reviewer: User,
    english: bool,
) -> None:
    cy, other = await make_user("cy"), await make_user("other")
    source_account = await public_account(other, reviewer)
    source = await other.publish(source_account["id"], "春天的书单", "十本好书。")
    await cy.subscribe(source_account["id"])
    page = await signed_in(browser, server, cy, english=english)
    await open_me(page, english=english)
    mine = page.locator("section[aria-labelledby=my-accounts-title]")
    await mine.get_by_role(
        "button", name="Apply for a public account" if english else "申请公众账号"
    ).click()
    name = f"山居笔记{cy.id}"
    form = mine.locator("form.apply")
    await form.locator("input[name=name]").fill(name)
    await form.locator("select[name=category]").select_option("individual")
    await form.locator("select[name=account_type]").select_option("service")
    await form.locator("textarea[name=description]").fill("山里的日常。")
    await check_screen(page, f"apply-{'en-desktop' if english else 'zh-CN-phone'}")
    await form.get_by_role("button", name="Send application" if english else "提交申请").click()
    applied = mine.locator(".own-account").filter(has_text=name)
    await expect(applied).to_contain_text("waiting for review" if english else "审核中")

    (application,) = (await cy.request("GET", "/api/v1/me/public-accounts"))["public_accounts"]
    await reviewer.request(
        "POST",
        f"/api/v1/admin/public-accounts/{application['id']}/decision",
        json={"decision": "approve", "news_entitlement": "none"},
    )
    await page.get_by_role("button", name="Notices" if english else "通知").click()
    await expect(page.locator(".notice").filter(has_text=name)).to_contain_text(
        "approved" if english else "已通过"
    )

    # Approved: a post of its own, then a re-post of another account's post.
    await open_me(page, english=english)
    await applied.get_by_role("button", name="Write a post" if english else "写文章").click()
    compose = applied.locator("form.compose")
    await compose.locator("input[name=title]").fill("第一篇")
    await compose.locator("textarea[name=body]").fill("山里下雪了。")
    await compose.get_by_role("button", name="Publish" if english else "发布").click()
    await expect(compose.get_by_role("status")).to_have_text(
        "Published." if english else "已发布。"
    )

    await page.get_by_role("button", name="Public accounts" if english else "公众号").click()
    await page.get_by_role("button", name=re.compile("春天的书单")).click()
    repost_as = "Re-post as " if english else "以"
    await page.get_by_role("button", name=re.compile(re.escape(repost_as) + ".*" + name)).click()
    repost = page.locator(".post-view form.compose")
    await expect(repost.locator("input[name=title]")).to_have_value("春天的书单")
    await repost.get_by_role("button", name="Re-post" if english else "转载").click()
    await expect(repost.get_by_role("status")).to_have_text("Published." if english else "已发布。")
    posts = await cy.request("GET", f"/api/v1/public-accounts/{application['id']}/posts")
    assert [(p["title"], p["source_post_id"]) for p in posts["posts"]] == [
        ("春天的书单", source["id"]),
        ("第一篇", None),
    ]
