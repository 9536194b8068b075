"""`GET /api/v1/notices`: what the platform told the caller (sanctions, their end, report
outcomes, appeal decisions…), newest first and a page at a time, as the stream carried them,
for a client that connects later; never messages, never another's."""

from __future__ import annotations

import pytest

from tests.conftest import MakeUser, User
from tests.support import applied, assert_error, every_item, lifted, sent

pytestmark = pytest.mark.usefixtures("no_server_errors")


async def test_notices_are_listed_newest_first_a_page_at_a_time(
    make_user: MakeUser, reviewer: User
) -> None:
    dan, friend = await make_user("dan"), await make_user("friend")
    chat = (await friend.open_direct(dan.id))["id"]
    warning = await applied(reviewer, "user", dan.id, "warning", reason="first warning")
    await sent(friend, chat, "在吗")  # a message between notices: not a notice
    suspension = await applied(reviewer, "user", dan.id, "suspend_updates", reason="again", days=1)
    await lifted(reviewer, suspension["id"])

    page = await dan.request("GET", "/api/v1/notices", params={"limit": 2})
    kinds = [
        (event["notice"]["kind"], event["notice"]["sanction"]["id"]) for event in page["notices"]
    ]
    assert kinds == [("sanction_ended", suspension["id"]), ("sanction_applied", suspension["id"])]
    cursors = [event["cursor"] for event in page["notices"]]
    assert cursors == sorted(cursors, reverse=True)
    assert page["next_cursor"] is not None

    everything = await every_item(dan, "/api/v1/notices", "notices", limit=2)
    assert [e["notice"]["kind"] for e in everything] == [
        "sanction_ended",
        "sanction_applied",
        "sanction_applied",
    ]
    assert everything[-1]["notice"]["sanction"]["id"] == warning["id"]
    assert (await friend.request("GET", "/api/v1/notices"))["notices"] == []


async def test_the_page_is_bounded(make_user: MakeUser) -> None:
    dan = await make_user("dan")
    assert_error(await dan.raw("GET", "/api/v1/notices", params={"limit": 101}), 400)
    assert_error(await dan.raw("GET", "/api/v1/notices", params={"cursor": "nonsense"}), 400)


async def test_a_closed_account_still_reads_what_it_was_told(
    make_user: MakeUser, admin: User
) -> None:
    """A closed account may read its notices (docs/enforcement.md), its closing among them."""
    cal = await make_user("cal")
    closed = await applied(admin, "user", cal.id, "close", reason="fraud ring")
    (latest, *_) = (await cal.request("GET", "/api/v1/notices"))["notices"]
    assert latest["notice"]["kind"] == "sanction_applied"
    assert latest["notice"]["sanction"]["id"] == closed["id"]
