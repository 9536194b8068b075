"""Display names and bios: checked by the same naming rules and lexicon as every other name, at
registration and at every change; a suspended account cannot change its profile."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import AGREEMENT_VERSION, PASSWORD, Server, User, fresh_identity, unique_handle
from tests.support import applied, assert_error, public_account
from townhall.client import ApiError

pytestmark = pytest.mark.usefixtures("no_server_errors")

REFUSED_NAMES = {
    "人民日报": "name_restricted",
    "新华社官方": "name_restricted",
    "People's Daily": "name_restricted",
    "XINHUA news": "name_restricted",
    "新 華 社": "name_restricted",
    "习近平": "name_restricted",
    "visit www.example.com": "name_url",
    "加微信 wx123456": "name_contact_details",
    "裸聊": "content_blocked",
}
ACCEPTED_NAMES = ["Gavin Newsom", "Alice", "读书的小张", "Newsletter fan"]


async def registration(server: Server, display_name: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        return await anonymous.post(
            "/api/v1/accounts",
            json={
                "handle": unique_handle("named"),
                "password": PASSWORD,
                "display_name": display_name,
                "identity": fresh_identity(),
                "agreement_version": AGREEMENT_VERSION,
            },
        )


@pytest.mark.parametrize(("display_name", "code"), REFUSED_NAMES.items())
async def test_a_display_name_that_impersonates_or_advertises_is_refused_at_registration(
    server: Server, display_name: str, code: str
) -> None:
    assert_error(await registration(server, display_name), 422, code)


@pytest.mark.parametrize("display_name", ACCEPTED_NAMES)
async def test_ordinary_display_names_register(server: Server, display_name: str) -> None:
    assert (await registration(server, display_name)).status_code == 201


async def test_the_profile_changes_through_the_same_checks(alice: User) -> None:
    changed = await alice.request(
        "PATCH", "/api/v1/me", json={"display_name": "  爱丽丝 ", "bio": "喜欢读书和喝茶"}
    )
    assert (changed["display_name"], changed["bio"]) == ("爱丽丝", "喜欢读书和喝茶")
    assert (await alice.me())["bio"] == "喜欢读书和喝茶"

    for display_name, code in REFUSED_NAMES.items():
        answer = await alice.raw("PATCH", "/api/v1/me", json={"display_name": display_name})
        assert_error(answer, 422, code)
    for bio, code in {
        "加我微信 wx: alice2024 详聊": "name_contact_details",
        "主页 http://example.com": "name_url",
        "一起裸聊": "content_blocked",
    }.items():
        assert_error(await alice.raw("PATCH", "/api/v1/me", json={"bio": bio}), 422, code)
    assert_error(await alice.raw("PATCH", "/api/v1/me", json={}), 400, "profile_unchanged")
    too_long = await alice.raw("PATCH", "/api/v1/me", json={"bio": "书" * 501})
    assert_error(too_long, 400, "bio_too_long")
    me = await alice.me()
    assert (me["display_name"], me["bio"]) == ("爱丽丝", "喜欢读书和喝茶")


async def test_a_suspended_user_cannot_change_the_profile(alice: User, reviewer: User) -> None:
    await applied(reviewer, "user", alice.id, "suspend_updates", days=3)
    answer = await alice.raw("PATCH", "/api/v1/me", json={"bio": "我是好人"})
    assert_error(answer, 403, "updates_suspended")


async def test_a_public_account_description_may_not_route_people_off_site(alice: User) -> None:
    for description, code in {
        "订阅请加微信 wx: books2024": "name_contact_details",
        "更多内容见 www.example.com": "name_url",
    }.items():
        with pytest.raises(ApiError) as refused:
            await public_account(alice, description=description)
        assert (refused.value.status, refused.value.code) == (422, code)
    # Naming an outlet in passing is no impersonation.
    applied_for = await public_account(alice, description="每天推荐人民日报的好文章")
    assert applied_for["status"] == "pending_review"
