"""A long chat in the web app: the list draws only the messages in view, opens at the newest,
and scrolling up loads the history page by page, in order, back to the first message."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import MakeUser, Server, User
from tests.web.conftest import check_screen, signed_in

pytestmark = pytest.mark.usefixtures("no_server_errors")
MESSAGES = 600  # twelve pages of history
MOST_DRAWN = 60  # what a tall window shows, and the rows drawn around it


async def sent_many(sender: User, conversation_id: int, count: int) -> None:
    """`count` messages over one socket, sent back to back and each acknowledged."""
    async with sender.websocket() as socket:
        for index in range(count):
            await socket.send_message(conversation_id, f"第{index}条 line {index}")
        for _ in range(count):
            await socket.receive_until("ack")


async def test_a_long_chat_draws_only_what_is_in_view_and_scrolls_back_to_its_start(
    browser: Browser, server: Server, make_user: MakeUser
) -> None:
    amy, bo = await make_user("amy"), await make_user("bo")
    chat = await bo.open_direct(amy.id)
    await sent_many(bo, chat["id"], MESSAGES)
    page = await signed_in(browser, server, amy, english=True)
    await page.locator(".conversation").first.click()
    texts = page.locator(".messages .message .text")
    await expect(texts.last).to_have_text(f"第{MESSAGES - 1}条 line {MESSAGES - 1}")

    history = page.locator(".messages")
    first = texts.filter(has_text="第0条 line 0")
    for _ in range(4 * MESSAGES // 50):
        if await first.count():
            break
        await history.evaluate("element => element.scrollTo(0, 0)")
        await page.wait_for_timeout(150)  # the next page's answer, and its rows measured
    await expect(first).to_be_visible()
    await check_screen(page, "long-chat-en")
    drawn = await texts.all_inner_texts()
    assert len(drawn) <= MOST_DRAWN, len(drawn)
    numbers = [int(text.split(" line ")[1]) for text in drawn]
    assert numbers == list(range(len(numbers))), numbers  # the start, in order, nothing twice
    loaded = await page.evaluate("() => document.querySelector('.messages ol').offsetHeight")
    assert loaded > MESSAGES * 40  # the list is as tall as all of them: each has its place
