"""Rumour corrections: a post or message a reviewer removes as a rumour, or marks false, is
corrected for everyone who read it or was forwarded it — one `correction` event each, in sync
and on the WebSocket, with the reviewer's statement and a refuting post of a news account."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.conftest import MakeStaff, MakeUser, Server, ServerPool, User
from tests.support import (
    CASES,
    assert_error,
    case_of,
    full_history,
    full_sync,
    group_of,
    notices_of,
    public_account,
    report,
    sent,
    tagged,
)

WAIT = 10  # seconds: generous, only reached when something is wrong
STATEMENT = "经核实该文所述“自来水含毒”一事纯属谣言。请勿转发。"


async def correcting(
    staff: User,
    case_id: int,
    decision: str = "remove",
    *,
    category: str | None = "rumour",
    statement: str | None = STATEMENT,
    refuting_post_id: int | None = None,
) -> httpx.Response:
    """POST a decision that finds the item false; the answer as it is."""
    body: dict[str, Any] = {"decision": decision, "reason": "a fabricated story"}
    if category is not None:
        body["category"] = category
    if statement is not None:
        body["correction"] = {"statement": statement, "refuting_post_id": refuting_post_id}
    return await staff.raw("POST", f"{CASES}/{case_id}/decision", json=body)


async def corrected(staff: User, case_id: int, decision: str = "remove", **options: Any) -> Any:
    """Decide, then wait until the correction has reached everyone; returns the case."""
    answer = await correcting(staff, case_id, decision, **options)
    assert answer.status_code == 200, answer.text
    deadline = time.monotonic() + WAIT
    while True:
        case = await staff.request("GET", f"{CASES}/{case_id}")
        if case["corrections"] and all(c["done_at"] for c in case["corrections"]):
            return case
        assert time.monotonic() < deadline, case
        await asyncio.sleep(0.05)


async def corrections_of(user: User, since: int = 0) -> list[dict[str, Any]]:
    events, _ = await full_sync(user, since)
    return [event["correction"] for event in events if event["type"] == "correction"]


async def rumour(make_user: MakeUser, reviewer: User, **on: Server) -> tuple[User, dict]:
    """An operator and a post of theirs that is a rumour."""
    operator = await make_user("operator", **on)
    account = await public_account(operator, reviewer)
    return operator, await operator.publish(account["id"], tagged("自来水含毒"), "转给家人。")


async def refutation(make_user: MakeUser, reviewer: User, **on: Server) -> dict[str, Any]:
    """A post of a news organisation entitled to originate news."""
    newsroom = await make_user("newsroom", **on)
    account = await public_account(
        newsroom, reviewer, category="news_organisation", entitlement="originate"
    )
    return await newsroom.publish(account["id"], tagged("自来水安全"), "检测合格。", "news")


async def reported_case(reporter: User, staff: User, target_type: str, target_id: int) -> int:
    filed = await report(reporter, target_type, target_id, "rumour")
    assert filed.status_code == 201, filed.text
    return (await case_of(staff, target_type, target_id))["id"]


# Who is told ------------------------------------------------------------------------------------


async def test_readers_and_forward_recipients_each_get_one_correction(
    make_user: MakeUser, reviewer: User
) -> None:
    operator, post = await rumour(make_user, reviewer)
    alice, bob, carol, dave, erin, frank = [
        await make_user(name) for name in ("alice", "bob", "carol", "dave", "erin", "frank")
    ]
    for reader in (alice, bob):
        await reader.read_post(post["id"])
    # Alice forwards it to a group: bob has it twice over, dave only from the group.
    family = (await group_of(alice, "家人群", bob, dave))["id"]
    await alice.forward(post["id"], family)
    # Another account re-publishes it; frank reads the re-post.
    reposter = await make_user("reposter")
    repost_account = await public_account(reposter, reviewer)
    repost = await reposter.publish(
        repost_account["id"], post["title"], post["body"], source_post_id=post["id"]
    )
    await frank.read_post(repost["id"])
    news = await refutation(make_user, reviewer)
    cursors = {user.id: (await full_sync(user))[1] for user in (operator, carol, erin)}

    async with bob.websocket() as live:
        case_id = await reported_case(carol, reviewer, "post", post["id"])
        decided = await corrected(reviewer, case_id, refuting_post_id=news["id"])
        pushed = await asyncio.wait_for(live.receive_until("correction"), WAIT)

    told = {
        "target": {"type": "post", "id": post["id"], "title": post["title"]},
        "category": "rumour",
        "decision": "remove",
        "statement": STATEMENT,
        "refuting_post": {
            "id": news["id"],
            "public_account_id": news["public_account_id"],
            "account_name": news["account_name"],
            "title": news["title"],
        },
        "decided_at": decided["decided_at"],
    }
    for user in (alice, bob, dave, frank):
        assert await corrections_of(user) == [told], user.handle
    assert pushed["correction"] == told
    # Carol reported it but never read it; erin had nothing to do with it.
    for user in (carol, erin):
        assert await corrections_of(user, cursors[user.id]) == []
    # The author is told by the removal notice, not corrected.
    events, _ = await full_sync(operator, cursors[operator.id])
    assert [e for e in events if e["type"] == "correction"] == []
    (removed,) = notices_of(events, "content_removed")
    assert removed["categories"] == ["rumour"]
    assert decided["categories"] == ["rumour"]
    (correction,) = decided["corrections"]
    assert correction["noticed"] == 4
    assert (correction["statement"], correction["refuting_post_id"]) == (STATEMENT, news["id"])


async def test_a_message_marked_false_stays_and_its_recipients_are_corrected(
    make_user: MakeUser, reviewer: User
) -> None:
    alice, bob, carol, dave = [await make_user(name) for name in ("alice", "bob", "carol", "dave")]
    group = (await group_of(alice, "小区业主群", bob, carol))["id"]
    text = tagged("明天全市停水三天")
    message = await sent(alice, group, text)
    case_id = await reported_case(bob, reviewer, "message", message["id"])

    decided = await corrected(reviewer, case_id, "mark_false")
    assert decided["state"] == "marked_false"
    # It stays where it was, for everyone.
    assert [m["text"] for m in await full_history(carol, group)] == [text]
    told = {"type": "message", "id": message["id"], "conversation_id": group}
    for user in (bob, carol):
        (correction,) = await corrections_of(user)
        assert (correction["target"], correction["decision"]) == (told, "mark_false")
        assert correction["refuting_post"] is None
    assert await corrections_of(dave) == []
    events, _ = await full_sync(alice)
    assert [e for e in events if e["type"] == "correction"] == []
    (marked,) = notices_of(events, "content_marked_false")
    assert marked["target"] == {"type": "message", "id": message["id"]}
    reports = (await bob.request("GET", "/api/v1/reports"))["reports"]
    assert [r["outcome"] for r in reports if r["target"]["id"] == message["id"]] == ["action_taken"]


async def test_a_second_decision_on_the_item_tells_nobody_twice(
    servers: ServerPool, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    """Removed as a rumour, restored on appeal, escalated by its reach and removed again: only
    the reader who came in between is told the second time."""
    server = servers.shared(policy_pack=servers.pack(serious_views=3))
    on = {"on": server}
    reviewer = await make_staff("reviewer", **on)
    other_reviewer = await make_staff("reviewer", new=True, **on)
    operator, post = await rumour(make_user, reviewer, **on)
    alice, bob, carol = [await make_user(name, **on) for name in ("alice", "bob", "carol")]
    for reader in (alice, bob):
        await reader.read_post(post["id"])
    case_id = await reported_case(carol, reviewer, "post", post["id"])
    await corrected(reviewer, case_id)

    appeal = await operator.request(
        "POST", "/api/v1/appeals", json={"case_id": case_id, "statement": "it is true"}
    )
    await other_reviewer.request(
        "POST",
        f"/api/v1/admin/appeals/{appeal['id']}/decision",
        json={"verdict": "reverse", "reason": "a second look"},
    )
    await carol.read_post(post["id"])  # the third reader: a reach escalation re-opens the case
    assert (await case_of(reviewer, "post", post["id"]))["id"] == case_id
    decided = await corrected(reviewer, case_id)

    assert [c["noticed"] for c in decided["corrections"]] == [2, 1]
    for user in (alice, bob, carol):
        assert len(await corrections_of(user)) == 1, user.handle


# What is refused --------------------------------------------------------------------------------


async def test_the_refuting_post_must_be_a_news_accounts(
    make_user: MakeUser, alice: User, reviewer: User
) -> None:
    _, post = await rumour(make_user, reviewer)
    await alice.read_post(post["id"])
    case_id = await reported_case(alice, reviewer, "post", post["id"])
    _, unlicensed = await rumour(make_user, reviewer)

    refused = await correcting(reviewer, case_id, refuting_post_id=unlicensed["id"])
    assert_error(refused, 422, "refuting_post_not_entitled")
    assert_error(
        await correcting(reviewer, case_id, refuting_post_id=10**9), 404, "refuting_post_not_found"
    )
    # Nothing was decided, removed or told.
    assert (await case_of(reviewer, "post", post["id"]))["state"] == "open"
    assert (await alice.read_post(post["id"]))["title"] == post["title"]
    assert await corrections_of(alice) == []

    news = await refutation(make_user, reviewer)
    decided = await corrected(reviewer, case_id, refuting_post_id=news["id"])
    assert decided["corrections"][0]["refuting_post_id"] == news["id"]


@pytest.mark.parametrize(
    ("decision", "options", "status", "code"),
    [
        ("remove", {"statement": None}, 400, "correction_required"),
        ("mark_false", {"statement": None}, 400, "correction_required"),
        ("mark_false", {"category": None}, 400, "category_required"),
        ("remove", {"category": "fraud"}, 400, "correction_not_applicable"),
        ("approve", {}, 400, "category_not_applicable"),
        ("remove", {"category": "gossip"}, 400, "category_invalid"),
        ("remove", {"statement": " "}, 400, "statement_invalid"),
    ],
)
async def test_a_correction_goes_with_a_false_item_only(
    make_user: MakeUser,
    reviewer: User,
    decision: str,
    options: dict[str, Any],
    status: int,
    code: str,
) -> None:
    _, post = await rumour(make_user, reviewer)
    reporter = await make_user("reporter")
    case_id = await reported_case(reporter, reviewer, "post", post["id"])
    assert_error(await correcting(reviewer, case_id, decision, **options), status, code)
    assert (await case_of(reviewer, "post", post["id"]))["state"] == "open"


async def test_only_content_that_reached_someone_is_marked_false(
    make_user: MakeUser, alice: User, reviewer: User
) -> None:
    user_case = await reported_case(alice, reviewer, "user", (await make_user("gossip")).id)
    assert_error(await correcting(reviewer, user_case, "mark_false"), 422, "not_removable")
