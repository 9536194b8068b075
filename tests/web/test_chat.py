"""Two people meet in the web app: each registers with the real-name form and logs in (one in
English, one in Chinese, then the other way round), one finds the other by handle and asks to be
friends, the other accepts, and they chat live both ways; one's network drops, the other writes
meanwhile, and the first catches up on reconnecting with nothing lost or doubled."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import PASSWORD, Server, fresh_identity, unique_handle
from tests.relay import Relay
from tests.web.conftest import DESKTOP, PHONE, WAIT_MS, check_screen, log_in, say, ui

pytestmark = pytest.mark.usefixtures("no_server_errors")


@pytest.fixture
def relay(server: Server) -> Iterator[Relay]:
    """A network between one browser and the server that the test can cut and restore."""
    port = int(server.base_url.rsplit(":", 1)[1])
    relay = Relay(("127.0.0.1", port))
    yield relay
    relay.cut()


async def register(page: Page, app_url: str, handle: str, *, english: bool) -> None:
    identity = fresh_identity()
    language = "en" if english else "zh-CN"
    await page.goto(app_url)
    await check_screen(page, f"login-{language}")
    await page.get_by_role("button", name=re.compile("Register$" if english else "注册$")).click()
    form = {
        "handle": handle,
        # No digits: a run of them reads as a phone number, which no name may hold.
        "display_name": f"{handle.split('-')[0].rstrip('0123456789').title()} Web",
        "password": PASSWORD,
        "legal_name": identity["legal_name"],
        "id_number": identity["id_number"],
        "phone": identity["phone"].removeprefix("+86"),
    }
    for name, value in form.items():
        await page.locator(f"input[name={name}]").fill(value)
    await check_screen(page, f"register-{language}")
    await page.locator("input[name=accept]").check()
    await page.get_by_role("button", name="Register" if english else "注册", exact=True).click()
    done = page.get_by_role("status")
    await expect(done).to_contain_text("Registered" if english else "注册成功")
    # The document is shown masked, as the server has it; the number typed is gone.
    assert identity["id_number"] not in await page.content()
    await expect(done).to_contain_text(identity["id_number"][-4:])
    await page.get_by_role("button", name="Back to log in" if english else "返回登录").click()


@pytest.mark.parametrize("english", [True, False], ids=["en", "zh-CN"])
async def test_two_people_befriend_chat_live_and_one_catches_up_after_a_drop(
    browser: Browser, server: Server, relay: Relay, english: bool
) -> None:
    amys, bos = english, not english  # Amy on a desktop, Bo on a phone
    amy_handle, bo_handle = unique_handle("amy"), unique_handle("bo")
    amy_context = await browser.new_context(locale="en-US" if amys else "zh-CN", viewport=DESKTOP)
    bo_context = await browser.new_context(
        locale="en-US" if bos else "zh-CN", viewport=PHONE, has_touch=True
    )
    amy, bo = await amy_context.new_page(), await bo_context.new_page()
    amy_url = f"http://127.0.0.1:{relay.port}/app/"  # Amy's network is the relay
    await register(amy, amy_url, amy_handle, english=amys)
    await register(bo, f"{server.base_url}/app/", bo_handle, english=bos)
    await log_in(amy, amy_handle, english=amys)
    await log_in(bo, bo_handle, english=bos)
    shot = {True: "en", False: "zh-CN"}

    # Amy finds Bo by handle and asks to be friends; Bo accepts from his contacts.
    await amy.get_by_role("button", name=ui(amys, "contacts.title")).click()
    await amy.locator("input[name=handle]").fill(bo_handle)
    await amy.get_by_role("button", name=ui(amys, "contacts.search")).click()
    await check_screen(amy, f"contacts-{shot[amys]}")
    await amy.get_by_role("button", name=ui(amys, "contacts.add")).click()
    await expect(amy.locator(".contacts [role=status]")).to_have_text(
        ui(amys, "contacts.requested")
    )
    found = amy.locator(".contacts .person").filter(has_text=f"@{bo_handle}")
    sent = found.get_by_role("button", name=ui(amys, "contacts.request_sent"))
    await expect(sent).to_be_disabled()
    await expect(found.get_by_role("button", name=ui(amys, "contacts.add"))).to_have_count(0)
    await bo.get_by_role("button", name=ui(bos, "contacts.title")).click()
    request = bo.locator(".person").filter(has_text="Amy")
    await request.get_by_role("button", name=ui(bos, "contacts.accept")).click()
    friends = bo.locator("section[aria-labelledby=friends-title]")
    await expect(friends).to_contain_text("Amy")
    await expect(amy.locator("section[aria-labelledby=friends-title]")).to_contain_text("Bo")
    # Searched again, Bo shows as a friend: nothing left to ask.
    await amy.get_by_role("button", name=ui(amys, "contacts.search")).click()
    await expect(found).to_contain_text(ui(amys, "contacts.friend"))
    await expect(found.get_by_role("button", name=ui(amys, "contacts.add"))).to_have_count(0)

    # Amy writes; Bo sees the chat arrive, unread, and answers.
    await (
        amy.locator("section[aria-labelledby=friends-title]")
        .get_by_role("button", name=ui(amys, "contacts.message"))
        .click()
    )
    await say(amy, "Hello Bo")
    amy_messages = amy.locator(".messages .message:not(.pending) .text")
    await expect(amy_messages).to_have_text(["Hello Bo"])
    await bo.get_by_role("button", name=ui(bos, "chats.title")).click()
    chat_row = bo.locator(".conversation").filter(has_text="Amy")
    await expect(chat_row.locator(".unread")).to_have_text("1")
    await check_screen(bo, f"chats-{shot[bos]}-phone")
    await chat_row.click()
    bo_messages = bo.locator(".messages .message:not(.pending) .text")
    await expect(bo_messages).to_have_text(["Hello Bo"])
    await expect(bo.locator(".message").first.locator(".sender")).to_contain_text("Web")
    receipt = amy.locator(".message .receipt")  # on her last message Bo has read
    await expect(receipt).to_have_text([ui(amys, "chat.read")])
    await say(bo, "你好 Amy")
    await expect(amy_messages).to_have_text(["Hello Bo", "你好 Amy"])
    await check_screen(bo, f"chat-{shot[bos]}-phone")

    # Amy's network drops; Bo writes twice meanwhile; Amy's app says so, then catches up.
    relay.cut()
    amy_state = amy.locator(".connection")
    await expect(amy_state).to_have_attribute("data-state", re.compile("offline|connecting"))
    await say(bo, "你在吗")
    await say(bo, "网络断了吧")
    meanwhile = ["Hello Bo", "你好 Amy", "你在吗", "网络断了吧"]
    await expect(bo_messages).to_have_text(meanwhile)
    relay.restore()
    await expect(amy_state).to_have_attribute("data-state", "online", timeout=WAIT_MS)
    await expect(amy_messages).to_have_text(meanwhile)  # each once, in order
    await say(amy, "Back again")
    await expect(bo_messages).to_have_text([*meanwhile, "Back again"])
    await expect(amy_messages).to_have_text([*meanwhile, "Back again"])
    await expect(amy.locator(".message:has(.receipt) .text")).to_have_text("Back again")
    await check_screen(amy, f"chat-{shot[amys]}-desktop")
