"""A double click sends a form once: the second click lands while the first request is in flight
and does nothing (web/src/outcome.ts)."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import MakeUser, Server
from tests.support import befriend
from tests.web.conftest import signed_in, ui

pytestmark = pytest.mark.usefixtures("no_server_errors")


async def test_a_double_click_on_create_makes_one_group(
    browser: Browser, server: Server, make_user: MakeUser
) -> None:
    amy, bo = [await make_user(name) for name in ("amy", "bo")]
    await befriend(amy, bo)
    page = await signed_in(browser, server, amy, english=True)

    await page.get_by_role("button", name=ui(True, "group.new")).click()
    await page.locator("input[name=title]").fill("Tea club")
    await page.locator(f"input[name=member][value='{bo.handle}']").check()
    await page.get_by_role("button", name=ui(True, "group.create")).dblclick()
    await expect(page.locator(".chat h2")).to_have_text("Tea club")

    chats = (await amy.request("GET", "/api/v1/conversations"))["conversations"]
    assert [chat.get("title") for chat in chats].count("Tea club") == 1
