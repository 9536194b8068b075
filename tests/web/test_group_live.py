"""Group changes reach every open app without a reload: a dissolved group leaves its members'
lists (the owner asked first), a group one leaves leaves one's own list, an invitation to a
dissolved group says it is gone, and a group renamed or grown shows so at once."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import MakeUser, Server
from tests.support import befriend, group_of
from tests.web.conftest import signed_in, ui

pytestmark = pytest.mark.usefixtures("no_server_errors")
LANGUAGES = pytest.mark.parametrize("english", [True, False], ids=["en", "zh-CN"])


@LANGUAGES
async def test_dissolving_asks_first_and_reaches_members_and_invitees(
    browser: Browser, server: Server, make_user: MakeUser, english: bool
) -> None:
    olga, max_, ivy = [await make_user(name) for name in ("olga", "max", "ivy")]
    title = f"合唱团{olga.id}"
    group = await olga.create_group(title, [max_.id, ivy.id])  # a new group invites them all
    await max_.accept_invitation(group["id"])
    owner = await signed_in(browser, server, olga, english=english)
    member = await signed_in(browser, server, max_, english=english)
    invitee = await signed_in(browser, server, ivy, english=english)
    await expect(member.locator(".conversation").filter(has_text=title)).to_be_visible()
    await expect(invitee.locator(".invitations")).to_contain_text(title)

    await owner.locator(".conversation").filter(has_text=title).click()
    await owner.get_by_role("button", name=ui(english, "groupinfo.title")).click()
    await owner.get_by_role("button", name=ui(english, "groupinfo.dissolve")).click()
    # Nothing happened yet: the owner is asked, and may think better of it.
    confirm = owner.locator(".confirm-leave")
    await expect(confirm).to_contain_text(title)
    assert (await olga.request("GET", f"/api/v1/conversations/{group['id']}"))["members"]
    await confirm.get_by_role("button", name=ui(english, "group.cancel")).click()
    await expect(confirm).to_have_count(0)
    await owner.get_by_role("button", name=ui(english, "groupinfo.dissolve")).click()
    await owner.get_by_role("button", name=ui(english, "groupinfo.dissolve_yes")).click()

    await expect(owner.locator(".conversation").filter(has_text=title)).to_have_count(0)
    await expect(member.locator(".conversation").filter(has_text=title)).to_have_count(0)
    # The invitee is sent nothing when the group goes: answering says the invitation is gone.
    invitation = invitee.locator(".invitations .person").filter(has_text=title)
    await invitation.get_by_role("button", name=ui(english, "contacts.accept")).click()
    await expect(invitee.locator(".invitations [role=alert]")).to_have_text(
        ui(english, "error.invitation_not_found")
    )
    await expect(invitation).to_have_count(0)


@LANGUAGES
async def test_a_group_left_leaves_the_list(
    browser: Browser, server: Server, make_user: MakeUser, english: bool
) -> None:
    olga, max_ = await make_user("olga"), await make_user("max")
    title = f"读书会{olga.id}"
    await group_of(olga, title, max_)
    owner = await signed_in(browser, server, olga, english=english)
    member = await signed_in(browser, server, max_, english=english)
    await member.locator(".conversation").filter(has_text=title).click()
    await member.get_by_role("button", name=ui(english, "groupinfo.title")).click()
    await member.get_by_role("button", name=ui(english, "groupinfo.leave")).click()
    await expect(member.locator(".confirm-leave")).to_contain_text(title)
    await member.get_by_role("button", name=ui(english, "groupinfo.leave_yes")).click()
    await expect(member.locator(".conversation").filter(has_text=title)).to_have_count(0)
    await expect(member.locator(".chat")).to_have_count(0)

    # The owner, with the group's page open, sees them gone at once.
    await owner.locator(".conversation").filter(has_text=title).click()
    await owner.get_by_role("button", name=ui(english, "groupinfo.title")).click()
    await expect(owner.locator("#members-title")).to_have_text(
        ui(english, "groupinfo.members", count="1")
    )


@LANGUAGES
async def test_owner_renames_and_invites(
    browser: Browser, server: Server, make_user: MakeUser, english: bool
) -> None:
    olga, max_, fay = [await make_user(name) for name in ("olga", "max", "fay")]
    await befriend(olga, fay)
    title = f"合唱团{olga.id}"
    group = await group_of(olga, title, max_)
    owner = await signed_in(browser, server, olga, english=english)
    member = await signed_in(browser, server, max_, english=english)
    friend = await signed_in(browser, server, fay, english=english)

    await owner.locator(".conversation").filter(has_text=title).click()
    await owner.get_by_role("button", name=ui(english, "groupinfo.title")).click()
    info = owner.locator(".group-info")
    renamed = f"新合唱团{olga.id}"
    await info.locator("input[name=group-title]").fill(renamed)
    await info.get_by_role("button", name=ui(english, "groupinfo.rename")).click()
    await expect(info.get_by_role("status")).to_have_text(ui(english, "me.saved"))
    await expect(member.locator(".conversation").filter(has_text=renamed)).to_be_visible()

    # A member may not rename it; they may invite only while the group lets members invite.
    await member.locator(".conversation").filter(has_text=renamed).click()
    await member.get_by_role("button", name=ui(english, "groupinfo.title")).click()
    await expect(member.locator(".group-info input[name=group-title]")).to_have_count(0)
    await expect(member.locator(".group-info form.invite")).to_have_count(1)
    await olga.request(
        "PATCH", f"/api/v1/conversations/{group['id']}", json={"members_invite": False}
    )
    await expect(member.locator(".group-info form.invite")).to_have_count(0)

    fay_name = (await fay.request("GET", "/api/v1/me"))["display_name"]
    await info.locator("form.invite label").filter(has_text=fay_name).locator("input").check()
    await info.get_by_role("button", name=ui(english, "groupinfo.invite_send")).click()
    await expect(info.get_by_role("status")).to_have_text(ui(english, "groupinfo.invited"))
    members = (await olga.request("GET", f"/api/v1/conversations/{group['id']}"))["members"]
    invited = (await fay.request("GET", "/api/v1/invitations"))["invitations"]
    assert fay.id in {m["user_id"] for m in members} or [i["conversation_id"] for i in invited] == [
        group["id"]
    ]
    shown = friend.locator(".conversation").filter(has_text=renamed)
    await expect(shown.or_(friend.locator(".invitations").filter(has_text=renamed))).to_be_visible()
