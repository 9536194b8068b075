"""The Verification section of Me: the identity's state in plain words with the next step, a
rejection's reason, and confirming the phone with the code sent by SMS."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import MakeStaff, MakeUser, Server
from tests.support import latest_sms_code
from tests.web.conftest import check_screen, signed_in, ui
from tests.web.test_me import LANGUAGES, open_me

pytestmark = pytest.mark.usefixtures("no_server_errors")


@LANGUAGES
async def test_confirm_the_phone_with_the_code_sent_by_sms(
    browser: Browser, server: Server, make_user: MakeUser, english: bool
) -> None:
    dee = await make_user("dee", confirm_phone=False)
    page = await signed_in(browser, server, dee, english=english)
    await open_me(page, english=english)
    section = page.locator("section[aria-labelledby=verification-title]")
    await expect(section).to_contain_text(ui(english, "me.verify.state.provider_verified"))
    phone = section.locator(".phone-state")
    await expect(phone).to_have_attribute("data-confirmed", "false")

    await section.get_by_role(
        "button", name=ui(english, "me.verify.phone.send"), exact=True
    ).click()
    code_input = section.locator("input[name=phone_code]")
    await expect(code_input).to_be_visible()
    await check_screen(page, f"verification-{'en-desktop' if english else 'zh-CN-phone'}")
    code = latest_sms_code(server.data_dir, dee.id)

    # A wrong code is refused in words, and counts as a try; the right one confirms the phone.
    wrong = "0" * len(code) if code != "0" * len(code) else "1" * len(code)
    await code_input.fill(wrong)
    confirm = section.get_by_role("button", name=ui(english, "me.verify.phone.confirm"), exact=True)
    await confirm.click()
    await expect(section.get_by_role("status")).to_have_text(ui(english, "error.code_invalid"))
    await code_input.fill(code)
    await confirm.click()
    await expect(phone).to_have_attribute("data-confirmed", "true")
    identity = (await dee.me())["identity"]
    assert identity["phone_confirmed"] is True
    await expect(phone).to_contain_text(
        ui(english, "me.verify.phone.confirmed", phone=identity["phone"])
    )


@LANGUAGES
async def test_a_rejected_identity_shows_its_reason_and_what_to_do(
    browser: Browser,
    review_server: Server,
    make_user: MakeUser,
    make_staff: MakeStaff,
    english: bool,
) -> None:
    eve = await make_user("eve", on=review_server)
    reviewer = await make_staff("reviewer", on=review_server)
    page = await signed_in(browser, review_server, eve, english=english)
    await open_me(page, english=english)
    section = page.locator("section[aria-labelledby=verification-title]")
    await expect(section.locator(".identity-state")).to_have_text(
        ui(english, "me.verify.state.pending_review")
    )
    await expect(section).to_contain_text(ui(english, "me.verify.next.wait"))

    reason = "the name does not match the document photo"
    rejected = await reviewer.raw(
        "POST",
        f"/api/v1/admin/identities/{eve.id}/decision",
        json={"decision": "reject", "reason": reason},
    )
    assert rejected.status_code == 200, rejected.text
    page = await signed_in(browser, review_server, eve, english=english)
    await open_me(page, english=english)
    section = page.locator("section[aria-labelledby=verification-title]")
    await expect(section.locator(".identity-state")).to_have_text(
        ui(english, "me.verify.state.rejected")
    )
    await expect(section.locator(".identity-reason")).to_have_text(
        ui(english, "me.verify.reason", reason=reason)
    )
    await expect(section.locator(".identity-next")).to_have_text(
        ui(english, "me.verify.next.rejected")
    )
