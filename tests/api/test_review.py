"""The review queues: holds invisible until approved, removals that tombstone every copy and
bank the text, claims, escalations to an administrator, overdue cases, reach escalations, and
bulk decisions that are all or nothing."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime
from typing import Any

import pytest

from tests.conftest import BASE_PACK_TEXT, MakeStaff, MakeUser, Server, ServerPool, User, moved
from tests.support import (
    FLAGGED,
    REVIEW_PACK_REPORT_HOURS,
    assert_error,
    case_of,
    decide_case,
    decided_case,
    every_item,
    full_history,
    full_sync,
    group_of,
    messages_of,
    notices_of,
    public_account,
    report,
    review_case,
    review_pack,
    send,
    sent,
    subscribed_account,
    tagged,
)
from townhall.client import LiveSocket

WAIT = 10  # seconds: generous, only reached when something is wrong
CASES = "/api/v1/admin/review/cases"
SUMMARY = "/api/v1/admin/review/summary"
DECISIONS = "/api/v1/admin/review/decisions"
REPORT_HOURS = REVIEW_PACK_REPORT_HOURS


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def hours_between(case: dict[str, Any]) -> float:
    opened, due = (datetime.fromisoformat(case[key]) for key in ("opened_at", "due_at"))
    return (due - opened).total_seconds() / 3600


@pytest.fixture
def review_server(servers: ServerPool) -> Server:
    """A shared server whose pack holds a medium match in a direct chat until it is approved,
    and gives a report case 1.8 s (tests/support.py `review_pack`)."""
    return servers.shared(policy_pack=review_pack(servers.root, BASE_PACK_TEXT))


async def bulk(staff: User, case_ids: list[int], decision: str, reason: str = "bulk") -> Any:
    return await staff.raw(
        "POST", DECISIONS, json={"case_ids": case_ids, "decision": decision, "reason": reason}
    )


async def flagged_case(
    author: User, other: User, reviewer: User
) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """A direct chat of the author's with `other`, a flagged (medium) message of the author's
    in it, and the message's pending case."""
    chat = (await author.open_direct(other.id))["id"]
    flagged = await sent(author, chat, tagged(FLAGGED))
    return chat, flagged, await case_of(reviewer, "message", flagged["id"])


async def on_review_server(
    review_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> tuple[User, User, User, int]:
    """A reviewer, alice and bob on the review server, and alice's direct chat with bob."""
    reviewer = await make_staff("reviewer", on=review_server)
    alice, bob = (
        await make_user("alice", on=review_server),
        await make_user("bob", on=review_server),
    )
    chat = (await alice.open_direct(bob.id))["id"]
    return reviewer, alice, bob, chat


async def assert_nothing_pending(socket: LiveSocket) -> None:
    """A ping is answered in order, so a pong next means no other frame was waiting."""
    await socket.send_frame({"type": "ping"})
    frame = await asyncio.wait_for(socket.receive(), WAIT)
    assert frame["type"] == "pong", frame


async def frames_until(socket: LiveSocket, done: Any) -> list[dict[str, Any]]:
    """Frames received until `done(frames)` holds."""
    frames: list[dict[str, Any]] = []
    while not done(frames):
        frames.append(await asyncio.wait_for(socket.receive(), WAIT))
    return frames


def tombstones(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [event["target"] for event in events if event["type"] == "tombstone"]


# Who may look and decide ------------------------------------------------------------------------


async def test_users_and_the_auditor_are_kept_out_of_the_queue(
    alice: User, bob: User, reviewer: User, make_staff: MakeStaff
) -> None:
    """Cases hold what was said: the auditor reads /api/v1/audit/cases, without it."""
    _, _, case = await flagged_case(alice, bob, reviewer)
    auditor = await make_staff("auditor")
    for path in (CASES, SUMMARY, f"{CASES}/{case['id']}"):
        for outsider in (alice, auditor):
            assert_error(await outsider.raw("GET", path), 403, "role_required")
    for outsider, code in ((alice, "role_required"), (auditor, "read_only_role")):
        assert_error(await outsider.raw("PUT", f"{CASES}/{case['id']}/claim"), 403, code)
        assert_error(await decide_case(outsider, case["id"], "approve"), 403, code)
        assert_error(await bulk(outsider, [case["id"]], "approve"), 403, code)
    assert (await reviewer.request("GET", f"{CASES}/{case['id']}"))["state"] == "open"
    assert_error(await reviewer.raw("GET", CASES, params={"state": "new"}), 400, "state_invalid")
    bad_source = await reviewer.raw("GET", CASES, params={"source": "rumour"})
    assert_error(bad_source, 400, "source_invalid")
    assert_error(await reviewer.raw("GET", f"{CASES}/{10**9}"), 404, "case_not_found")


async def test_the_queue_puts_the_most_urgent_first_and_pages(
    alice: User, bob: User, reviewer: User
) -> None:
    chat = (await alice.open_direct(bob.id))["id"]
    flagged = await sent(alice, chat, tagged(FLAGGED))
    assert (await report(bob, "user", alice.id)).status_code == 201
    urgent = await case_of(reviewer, "message", flagged["id"])
    reported = await case_of(reviewer, "user", alice.id)
    assert urgent["priority"] > reported["priority"]

    queue = await every_item(reviewer, CASES, "cases", limit=7)
    assert len({case["id"] for case in queue}) == len(queue)
    order = [(-case["priority"], case["due_at"]) for case in queue]
    assert order == sorted(order)
    ids = [case["id"] for case in queue]
    assert ids.index(urgent["id"]) < ids.index(reported["id"])
    assert {case["state"] for case in queue} <= {"open", "escalated"}
    only_reports = await reviewer.request("GET", CASES, params={"source": "report", "limit": 500})
    assert all("report" in case["sources"] for case in only_reports["cases"])


# Holds ------------------------------------------------------------------------------------------


async def test_a_held_post_reaches_subscribers_only_once_approved(
    make_user: MakeUser, bob: User, reviewer: User
) -> None:
    operator, account = await subscribed_account(make_user, reviewer, bob)
    title = tagged("百家乐攻略")
    async with bob.websocket() as socket:
        held = await operator.publish(account["id"], title, "正文")
        assert held["moderation"] == "held"
        await assert_nothing_pending(socket)
        assert (await bob.timeline())["posts"] == []
        assert_error(await bob.raw("GET", f"/api/v1/posts/{held['id']}"), 404, "post_not_found")
        page = f"/api/v1/public-accounts/{account['id']}/posts"
        assert (await bob.request("GET", page))["posts"] == []
        # Its operator alone sees it, held.
        own = await operator.request("GET", f"/api/v1/posts/{held['id']}")
        assert (own["title"], own["moderation"]) == (title, "held")
        shown = (await operator.request("GET", page))["posts"]
        assert [(post["id"], post["moderation"]) for post in shown] == [(held["id"], "held")]

        case = await case_of(reviewer, "post", held["id"])
        assert case["sources"] == ["hold"]
        assert (case["severity"], case["categories"]) == ("medium", ["gambling"])
        assert (case["state"], case["author_id"], case["report_count"]) == ("open", operator.id, 0)
        assert case["content"]["text"] == f"{title}\n正文"
        assert (case["overdue"], case["claimed_by"], case["decision"]) == (False, None, None)
        assert hours_between(case) == 1  # the pack's service hours for a hold

        approved = await decided_case(reviewer, case["id"], "approve", "a game review, not an ad")
        assert (approved["state"], approved["decision"]) == ("approved", "approve")
        assert (approved["decided_by"], approved["reason"]) == (
            reviewer.id,
            "a game review, not an ad",
        )
        pushed = await asyncio.wait_for(socket.receive_until("post"), WAIT)
        assert pushed["post"]["id"] == held["id"]
        assert "moderation" not in pushed["post"]
    assert [post["id"] for post in (await bob.timeline())["posts"]] == [held["id"]]
    assert (await bob.read_post(held["id"]))["title"] == title
    assert await review_case(reviewer, "post", held["id"]) is None
    assert (await review_case(reviewer, "post", held["id"], "approved"))["id"] == case["id"]


async def test_a_held_post_approved_after_a_newer_one_is_new_to_a_reader_who_polls(
    make_user: MakeUser, bob: User, reviewer: User
) -> None:
    """The timeline's `since` counts publications, not post ids: the held post's id is below
    the `latest` bob holds, and still it is what is new once approved."""
    operator, account = await subscribed_account(make_user, reviewer, bob)
    held = await operator.publish(account["id"], tagged("百家乐攻略"), "正文")
    assert held["moderation"] == "held"
    later = await operator.publish(account["id"], tagged("春茶上市"), "新茶到了。")
    polled = await bob.timeline()
    assert [post["id"] for post in polled["posts"]] == [later["id"]]

    case = await case_of(reviewer, "post", held["id"])
    await decided_case(reviewer, case["id"], "approve", "a game review, not an ad")
    news = await bob.timeline(since=polled["latest"])
    assert [post["id"] for post in news["posts"]] == [held["id"]]
    assert (await bob.timeline(since=news["latest"]))["posts"] == []
    # Newest published first: the post approved last comes first.
    shown = (await bob.timeline())["posts"]
    assert [post["id"] for post in shown] == [held["id"], later["id"]]


async def test_a_held_message_reaches_the_others_only_once_approved(
    review_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    reviewer, alice, bob, chat = await on_review_server(review_server, make_user, make_staff)
    _, bob_cursor = await full_sync(bob)
    text = tagged(FLAGGED)
    async with bob.websocket() as socket:
        held = await sent(alice, chat, text)
        assert held["moderation"] == "held"
        await assert_nothing_pending(socket)
        assert await full_history(bob, chat) == []
        assert messages_of((await full_sync(bob, bob_cursor))[0]) == []
        assert [(m["text"], m["moderation"]) for m in await full_history(alice, chat)] == [
            (text, "held")
        ]
        assert_error(await report(bob, "message", held["id"]), 404, "target_not_found")

        case = await case_of(reviewer, "message", held["id"])
        assert case["sources"] == ["hold"]
        assert case["content"] == {"text": text, "conversation_id": chat}
        await decided_case(reviewer, case["id"], "approve")
        frame = await asyncio.wait_for(socket.receive_until("message"), WAIT)
    assert (frame["message"]["id"], frame["message"]["text"]) == (held["id"], text)
    assert "moderation" not in frame["message"]
    assert [m["text"] for m in await full_history(bob, chat)] == [text]
    assert messages_of((await full_sync(bob, bob_cursor))[0]) == [frame["message"]]
    assert "moderation" not in (await full_history(alice, chat))[0]


async def test_a_held_message_removed_is_never_seen_by_the_others(
    review_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    reviewer, alice, bob, chat = await on_review_server(review_server, make_user, make_staff)
    _, bob_cursor = await full_sync(bob)
    _, alice_cursor = await full_sync(alice)
    held = await sent(alice, chat, tagged("六合彩内部资料"))
    case = await case_of(reviewer, "message", held["id"])
    await decided_case(reviewer, case["id"], "remove", "gambling ad")

    alice_events, _ = await full_sync(alice, alice_cursor)
    target = {"type": "message", "id": held["id"], "conversation_id": chat}
    assert tombstones(alice_events) == [target]
    bob_events, _ = await full_sync(bob, bob_cursor)
    assert bob_events == []


async def test_a_removed_hold_is_not_in_the_others_history(
    review_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    reviewer, alice, bob, chat = await on_review_server(review_server, make_user, make_staff)
    held = await sent(alice, chat, tagged("六合彩内部资料"))
    case = await case_of(reviewer, "message", held["id"])
    await decided_case(reviewer, case["id"], "remove", "gambling ad")
    assert [m["moderation"] for m in await full_history(alice, chat)] == ["withheld"]
    assert await full_history(bob, chat) == []
    assert_error(await report(bob, "message", held["id"]), 404, "target_not_found")


async def test_a_removed_hold_is_not_in_subscribers_timelines(
    make_user: MakeUser, bob: User, reviewer: User
) -> None:
    operator, account = await subscribed_account(make_user, reviewer, bob)
    held = await operator.publish(account["id"], tagged("百家乐攻略"), "正文")
    case = await case_of(reviewer, "post", held["id"])
    await decided_case(reviewer, case["id"], "remove", "gambling ad")
    # Never seen, so not even a tombstone: to subscribers it never existed.
    assert_error(await bob.raw("GET", f"/api/v1/posts/{held['id']}"), 404, "post_not_found")
    assert (await bob.timeline())["posts"] == []


# Removals ---------------------------------------------------------------------------------------


async def test_a_removed_message_is_tombstoned_for_every_member_and_its_text_banned(
    alice: User, bob: User, carol: User, reviewer: User
) -> None:
    group = (await group_of(alice, "茶话会", bob, carol))["id"]
    cursors = {user.id: (await full_sync(user))[1] for user in (alice, bob, carol)}
    text = tagged(FLAGGED)
    flagged = await sent(alice, group, text)
    assert "moderation" not in flagged  # a flag is delivered at once
    assert [m["text"] for m in await full_history(carol, group)] == [text]
    case = await case_of(reviewer, "message", flagged["id"])
    assert (case["sources"], case["severity"], case["categories"]) == (
        ["flag"],
        "medium",
        ["gambling"],
    )
    assert hours_between(case) == 24

    target = {"type": "message", "id": flagged["id"], "conversation_id": group}
    async with bob.websocket() as socket:
        removed = await decided_case(reviewer, case["id"], "remove", "gambling ad")
        frame = await asyncio.wait_for(socket.receive_until("tombstone"), WAIT)
    assert (removed["state"], removed["decision"]) == ("removed", "remove")
    assert frame["target"] == target
    for member in (alice, bob, carol):
        (shown,) = await full_history(member, group)
        assert (shown["id"], shown["text"], shown["moderation"]) == (flagged["id"], "", "removed")
        events, _ = await full_sync(member, cursors[member.id])
        assert tombstones(events) == [target]
        assert [(m["text"], m["moderation"]) for m in messages_of(events)] == [("", "removed")]
    alice_events, _ = await full_sync(alice, cursors[alice.id])
    (notice,) = notices_of(alice_events, "content_removed")
    assert notice["target"] == {"type": "message", "id": flagged["id"]}
    assert notice["reason"] == "gambling ad"
    assert notice["categories"] == ["gambling"]
    assert notices_of((await full_sync(bob, cursors[bob.id]))[0], "content_removed") == []

    # The removed text is refused from now on, from anyone, anywhere, however disguised.
    chat = (await carol.open_direct(bob.id))["id"]
    for disguise in (text, full_width(text), " ".join(text)):
        assert_error(await send(carol, chat, disguise), 422, "content_blocked")
        assert_error(await send(bob, group, disguise), 422, "content_blocked")
    assert await full_history(bob, chat) == []


async def test_only_texts_long_enough_to_be_uncommon_are_banked(
    alice: User, bob: User, carol: User, reviewer: User
) -> None:
    """16 Latin letters or digits, a Chinese character counting two (domain/moderation.py)."""
    group = (await group_of(alice, "茶话会", bob, carol))["id"]
    tag = uuid.uuid4().hex
    short, long = f"百家乐{tag[:9]}", f"百家乐{tag[9:19]}"  # widths 6 + 9 = 15 and 6 + 10 = 16
    for text in (short, long):
        message = await sent(alice, group, text)
        case = await case_of(reviewer, "message", message["id"])
        await decided_case(reviewer, case["id"], "remove", "gambling")
    assert (await send(bob, group, short)).status_code == 201
    assert_error(await send(bob, group, long), 422, "content_blocked")


async def test_a_near_copy_of_a_removed_message_is_refused_like_the_copy_also_after_a_restart(
    servers: ServerPool, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    first = servers.start()
    try:
        reviewer = await make_staff("reviewer", on=first)
        alice, bob, carol = [await make_user(name, on=first) for name in ("alice", "bob", "carol")]
        group = (await alice.create_group("茶话会", [bob.id, carol.id]))["id"]
        text = f"{FLAGGED}, 周末老地方见, 带够现金, 赢了请客吃饭, 输了别哭{uuid.uuid4().hex[:8]}"
        flagged = await sent(alice, group, text)
        case = await case_of(reviewer, "message", flagged["id"])
        await decided_case(reviewer, case["id"], "remove", "gambling ad")

        chat = (await carol.open_direct(bob.id))["id"]
        near_copy = text.replace("现金", "现钱")  # one character changed
        for copy in (text, near_copy, f"转发: {near_copy}"):
            assert_error(await send(carol, chat, copy), 422, "content_blocked")
        # Sharing a part is not copying: it is checked like any text (a flag, delivered).
        shared_part = text[:12] + ", 今天就算了, 下次再约吧, 大家早点休息"
        assert (await send(carol, chat, shared_part)).status_code == 201
        statements = await reviewer.request(
            "GET", "/api/v1/admin/moderation/statements", params={"limit": 500}
        )
        by_carol = [s for s in statements["statements"] if s["author_id"] == carol.id]
        assert [(s["decision"], s["reasons"][0]["how"]) for s in by_carol] == [
            ("block", "hash"),
            ("block", "near_duplicate"),
            ("block", "near_duplicate"),
            ("flag", "text"),
        ]
        assert by_carol[1]["reasons"][0]["category"] == "gambling"
    finally:
        first.stop()

    second = servers.start(data_dir=first.data_dir)
    carol = moved(carol, second)
    try:
        assert_error(await send(carol, chat, near_copy), 422, "content_blocked")
    finally:
        await carol.aclose()
        second.stop()


async def test_a_removed_post_takes_its_reposts_and_every_forward_with_it(
    make_user: MakeUser, alice: User, bob: User, carol: User, reviewer: User
) -> None:
    operators = [await make_user(name) for name in ("origin", "relay", "relay2")]
    origin, relay, relay2 = [
        await public_account(operator, reviewer, account_type="service") for operator in operators
    ]
    for account in (origin, relay):
        await bob.subscribe(account["id"])
    title, body = tagged("独家消息"), "某地发生大事。速看。"
    post = await operators[0].publish(origin["id"], title, body, "commentary")
    repost = await operators[1].publish(relay["id"], "转发", "转发正文", "commentary", post["id"])
    repost2 = await operators[2].publish(
        relay2["id"], "再转", "再转正文", "commentary", repost["id"]
    )
    unrelated = await operators[0].publish(origin["id"], "春茶", "春茶上市")
    alice_bob = (await alice.open_direct(bob.id))["id"]
    bob_carol = (await bob.open_direct(carol.id))["id"]
    first = (await alice.forward(post["id"], alice_bob))["message"]
    second = (await bob.forward(repost2["id"], bob_carol))["message"]
    kept = (await alice.forward(unrelated["id"], alice_bob))["message"]

    filed = await report(carol, "post", post["id"], "defamation")
    assert filed.status_code == 201, filed.text
    case = await case_of(reviewer, "post", post["id"])
    assert (case["sources"], case["categories"], case["report_count"]) == (
        ["report"],
        ["defamation"],
        1,
    )
    assert (case["content"]["title"], case["content"]["body"]) == (title, body)
    cursors = {user.id: (await full_sync(user))[1] for user in (alice, bob, carol, operators[0])}

    first_target = {"type": "message", "id": first["id"], "conversation_id": alice_bob}
    second_target = {"type": "message", "id": second["id"], "conversation_id": bob_carol}
    async with bob.websocket() as socket:
        await decided_case(reviewer, case["id"], "remove", "a fabricated story")
        frames = await frames_until(
            socket,
            lambda got: (
                len(tombstones(got)) == 2
                and {f["post"]["id"] for f in got if f["type"] == "post"} >= {post["id"]}
            ),
        )
    assert sorted(tombstones(frames), key=lambda t: t["id"]) == [first_target, second_target]

    timeline = (await bob.timeline())["posts"]
    assert [item["id"] for item in timeline] == [unrelated["id"], repost["id"], post["id"]]
    assert timeline[0]["title"] == "春茶"
    for shown, original, account in ((timeline[1], repost, relay), (timeline[2], post, origin)):
        assert shown == {
            "id": original["id"],
            "public_account_id": account["id"],
            "account_name": account["name"],
            "created_at": original["created_at"],
            "moderation": "removed",
        }
    for removed in (post, repost, repost2):
        assert_error(await bob.raw("GET", f"/api/v1/posts/{removed['id']}"), 404, "post_removed")
    assert (await bob.read_post(unrelated["id"]))["title"] == "春茶"

    history = {m["id"]: m for m in await full_history(bob, alice_bob)}
    assert (history[first["id"]]["moderation"], history[first["id"]]["text"]) == ("removed", "")
    assert "attachment" not in history[first["id"]]
    assert history[kept["id"]]["attachment"]["post_id"] == unrelated["id"]
    assert (await full_history(carol, bob_carol))[0]["moderation"] == "removed"
    expected = {alice.id: [first_target], bob.id: [first_target, second_target]}
    expected[carol.id] = [second_target]
    for user in (alice, bob, carol):
        events, _ = await full_sync(user, cursors[user.id])
        assert sorted(tombstones(events), key=lambda t: t["id"]) == expected[user.id]

    carol_events, _ = await full_sync(carol, cursors[carol.id])
    assert notices_of(carol_events, "report_outcome") == [
        {
            "kind": "report_outcome",
            "report_id": filed.json()["id"],
            "target": {"type": "post", "id": post["id"]},
            "outcome": "action_taken",
        }
    ]
    author_events, _ = await full_sync(operators[0], cursors[operators[0].id])
    (notice,) = notices_of(author_events, "content_removed")
    assert notice["target"] == {"type": "post", "id": post["id"]}
    # The post's text is banked: it cannot come back as a message either.
    assert_error(await send(alice, alice_bob, f"{title}\n{body}"), 422, "content_blocked")


async def audit_row_of(admin: User, action: str, case_id: int) -> dict[str, Any]:
    rows = await every_item(admin, "/api/v1/audit/log", "rows", limit=500)
    (row,) = [r for r in rows if (r["action"], r["subject_id"]) == (action, case_id)]
    return row


async def test_a_removal_s_audit_row_names_every_case_it_closed_and_all_it_took_down(
    make_user: MakeUser, alice: User, bob: User, carol: User, reviewer: User, admin: User
) -> None:
    origin_operator, relay_operator = await make_user("origin"), await make_user("relay")
    origin = await public_account(origin_operator, reviewer, account_type="service")
    relay = await public_account(relay_operator, reviewer, account_type="service")
    post = await origin_operator.publish(
        origin["id"], tagged("独家"), "某地发生大事。", "commentary"
    )
    repost = await relay_operator.publish(relay["id"], "转发", "转发正文", "commentary", post["id"])
    alice_bob = (await alice.open_direct(bob.id))["id"]
    bob_carol = (await bob.open_direct(carol.id))["id"]
    forwarded = (await alice.forward(post["id"], alice_bob))["message"]
    reforwarded = (await bob.forward(repost["id"], bob_carol))["message"]
    for target_type, target_id in (("post", repost["id"]), ("message", reforwarded["id"])):
        filed = await report(carol, target_type, target_id, "defamation")
        assert filed.status_code == 201, filed.text
    assert (await report(bob, "post", post["id"], "defamation")).status_code == 201
    case = await case_of(reviewer, "post", post["id"])
    with_it = [
        await case_of(reviewer, "post", repost["id"]),
        await case_of(reviewer, "message", reforwarded["id"]),
    ]

    await decided_case(reviewer, case["id"], "remove", "a fabricated story")

    row = await audit_row_of(admin, "case.remove", case["id"])
    assert row["details"] == {
        "case_ids": [case["id"]],
        "closed_case_ids": sorted(closed["id"] for closed in with_it),
        "taken_down": {
            "messages": [],
            "posts": [post["id"]],
            "reposts": [repost["id"]],
            "forwards": sorted([forwarded["id"], reforwarded["id"]]),
        },
    }
    for closed in with_it:
        decided = await reviewer.request("GET", f"{CASES}/{closed['id']}")
        assert (decided["state"], decided["reason"]) == (
            "removed",
            f"removed with case {case['id']}",
        )


# Claims and escalations -------------------------------------------------------------------------


async def test_a_claim_keeps_other_reviewers_off_until_it_is_given_back(
    alice: User, bob: User, reviewer: User, second_reviewer: User
) -> None:
    chat, flagged, case = await flagged_case(alice, bob, reviewer)
    claim = f"{CASES}/{case['id']}/claim"
    other = second_reviewer

    assert (await reviewer.request("PUT", claim))["claimed_by"] == reviewer.id
    assert (await case_of(other, "message", flagged["id"]))["claimed_by"] == reviewer.id
    assert_error(await other.raw("PUT", claim), 409, "case_claimed")
    assert_error(await other.raw("DELETE", claim), 409, "case_claimed")
    assert_error(await decide_case(other, case["id"], "approve"), 409, "case_claimed")
    assert (await reviewer.request("PUT", claim))["claimed_by"] == reviewer.id  # renewed
    assert (await reviewer.request("DELETE", claim))["claimed_by"] is None

    assert (await other.request("PUT", claim))["claimed_by"] == other.id
    approved = await decided_case(other, case["id"], "approve")
    assert (approved["state"], approved["decided_by"], approved["claimed_by"]) == (
        "approved",
        other.id,
        None,
    )
    assert_error(await reviewer.raw("PUT", claim), 409, "case_decided")
    assert_error(await decide_case(reviewer, case["id"], "remove"), 409, "case_decided")
    assert_error(await reviewer.raw("PUT", f"{CASES}/{10**9}/claim"), 404, "case_not_found")
    assert_error(await decide_case(reviewer, 10**9, "approve"), 404, "case_not_found")
    assert [m["text"] for m in await full_history(bob, chat)] == [flagged["text"]]


async def test_an_escalated_case_waits_for_an_administrator(
    alice: User, bob: User, reviewer: User, make_staff: MakeStaff
) -> None:
    chat, flagged, case = await flagged_case(alice, bob, reviewer)
    escalated = await decided_case(reviewer, case["id"], "escalate", "needs a legal view")
    assert (escalated["state"], escalated["decision"]) == ("escalated", None)
    assert (await review_case(reviewer, "message", flagged["id"], "escalated"))["id"] == case["id"]
    assert await review_case(reviewer, "message", flagged["id"], "open") is None
    assert (await reviewer.request("GET", SUMMARY))["escalated"] >= 1

    assert_error(await decide_case(reviewer, case["id"], "remove"), 403, "case_escalated")
    assert_error(await decide_case(reviewer, case["id"], "approve"), 403, "case_escalated")
    admin = await make_staff("admin")
    assert_error(await decide_case(admin, case["id"], "escalate"), 409, "case_already_escalated")
    removed = await decided_case(admin, case["id"], "remove", "illegal gambling ad")
    assert (removed["state"], removed["decided_by"]) == ("removed", admin.id)
    assert (await full_history(bob, chat))[0]["moderation"] == "removed"


# Bulk decisions ---------------------------------------------------------------------------------


async def test_a_bulk_decision_decides_every_case_or_none(
    make_user: MakeUser,
    alice: User,
    bob: User,
    reviewer: User,
    second_reviewer: User,
    make_staff: MakeStaff,
) -> None:
    chat = (await alice.open_direct(bob.id))["id"]
    texts = [tagged(f"{FLAGGED}{n}") for n in range(3)]
    messages = [await sent(alice, chat, text) for text in texts]
    message_cases = [(await case_of(reviewer, "message", m["id"]))["id"] for m in messages]
    operator, account = await subscribed_account(make_user, reviewer, bob)
    held = await operator.publish(account["id"], tagged("百家乐攻略"), "正文")
    held_case = (await case_of(reviewer, "post", held["id"]))["id"]
    assert (await report(bob, "user", alice.id)).status_code == 201
    user_case = (await case_of(reviewer, "user", alice.id))["id"]
    cases = [*message_cases[:2], held_case]

    async def refused(case_ids: list[int], decision: str, status: int, code: str) -> None:
        assert_error(await bulk(reviewer, case_ids, decision), status, code)

    await refused([*cases, user_case], "remove", 422, "not_removable")
    await refused([*cases, 10**9], "approve", 404, "case_not_found")
    await decided_case(reviewer, message_cases[2], "approve")
    await refused([*cases, message_cases[2]], "remove", 409, "case_decided")
    await second_reviewer.request("PUT", f"{CASES}/{cases[1]}/claim")
    await refused(cases, "remove", 409, "case_claimed")
    await second_reviewer.request("DELETE", f"{CASES}/{cases[1]}/claim")
    await decided_case(reviewer, user_case, "escalate")
    await refused([*cases, user_case], "approve", 403, "case_escalated")
    await refused(cases, "ban", 400, "decision_invalid")
    assert_error(await bulk(reviewer, cases, "remove", "  "), 400, "reason_invalid")
    await refused([cases[0], cases[0]], "remove", 400, "case_ids_invalid")
    await refused([], "remove", 400, "case_ids_invalid")

    # Nothing above changed anything.
    for case_id in cases:
        case = await reviewer.request("GET", f"{CASES}/{case_id}")
        assert (case["state"], case["decision"]) == ("open", None)
    assert [m["text"] for m in await full_history(bob, chat)] == texts
    assert (await bob.timeline())["posts"] == []
    assert_error(await bob.raw("GET", f"/api/v1/posts/{held['id']}"), 404, "post_not_found")
    assert (await reviewer.request("GET", f"{CASES}/{user_case}"))["state"] == "escalated"

    answer = await bulk(reviewer, cases, "remove", "a gambling ring")
    assert answer.status_code == 200, answer.text
    assert [(c["id"], c["state"]) for c in answer.json()["cases"]] == [
        (case_id, "removed") for case_id in cases
    ]
    history = await full_history(bob, chat)
    assert [m.get("moderation") for m in history] == ["removed", "removed", None]
    # The post was removed while held: to its subscribers it never existed.
    assert_error(await bob.raw("GET", f"/api/v1/posts/{held['id']}"), 404, "post_not_found")
    assert (await bob.timeline())["posts"] == []
    admin = await make_staff("admin")
    assert (await bulk(admin, [user_case], "approve")).status_code == 200


# Overdue ----------------------------------------------------------------------------------------


async def test_overdue_cases_are_marked_filtered_and_counted(
    review_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    reviewer = await make_staff("reviewer", on=review_server)
    alice = await make_user("alice", on=review_server)
    bob = await make_user("bob", on=review_server)
    chat = (await group_of(alice, "茶话会", bob))["id"]  # flagged, not held
    before = await reviewer.request("GET", SUMMARY)
    flagged = await sent(alice, chat, tagged(FLAGGED))
    reported = await sent(alice, chat, tagged("今晚六合彩走起"))
    # Flagged (due in 24 h), then reported: the case is due by the earlier time.
    reporting = time.monotonic()
    assert (await report(bob, "message", reported["id"], "gambling")).status_code == 201
    reported_by = time.monotonic()
    late = await case_of(reviewer, "message", reported["id"])
    on_time = await case_of(reviewer, "message", flagged["id"])
    assert sorted(late["sources"]) == ["flag", "report"]
    assert hours_between(late) == pytest.approx(REPORT_HOURS, abs=0.0001)
    assert time.monotonic() - reporting < REPORT_HOURS * 3600 and late["overdue"] is False

    await asyncio.sleep(max(0.0, REPORT_HOURS * 3600 + 0.2 - (time.monotonic() - reported_by)))
    assert (await case_of(reviewer, "message", reported["id"]))["overdue"] is True
    assert (await case_of(reviewer, "message", flagged["id"]))["overdue"] is False
    overdue = await reviewer.request("GET", CASES, params={"overdue": "true", "limit": 500})
    ids = {case["id"] for case in overdue["cases"]}
    assert late["id"] in ids and on_time["id"] not in ids
    assert all(case["overdue"] for case in overdue["cases"])
    by_report = await reviewer.request(
        "GET", CASES, params={"overdue": "true", "source": "report", "limit": 500}
    )
    assert late["id"] in {case["id"] for case in by_report["cases"]}

    now = await reviewer.request("GET", SUMMARY)
    assert now["overdue"] == before["overdue"] + 1
    assert now["open"] == before["open"] + 2
    sources = now["by_source"]
    assert sources["report"]["overdue"] == before["by_source"]["report"]["overdue"] + 1
    assert sources["flag"]["overdue"] == before["by_source"]["flag"]["overdue"] + 1
    assert sources["flag"]["pending"] == before["by_source"]["flag"]["pending"] + 2
    assert sources["hold"] == before["by_source"]["hold"]

    approved = await decided_case(reviewer, late["id"], "approve")
    assert approved["overdue"] is False
    assert (await reviewer.request("GET", SUMMARY))["overdue"] == before["overdue"]


# Reach escalations ------------------------------------------------------------------------------


@pytest.fixture
def reach_server(servers: ServerPool) -> Server:
    """The shared server of test_reach.py: a post is serious at 3 views or 2 forwards."""
    return servers.shared(policy_pack=servers.pack(serious_views=3, serious_forwards=2))


async def test_a_post_passing_a_reach_threshold_is_escalated_and_reopened_after_approval(
    reach_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    reviewer = await make_staff("reviewer", on=reach_server)
    operator = await make_user("operator", on=reach_server)
    readers = [await make_user(f"reader{n}", on=reach_server) for n in range(3)]
    account = await public_account(operator, reviewer, account_type="service")
    post = await operator.publish(account["id"], "据说", "据说。正文。")
    for reader in readers:
        await reader.read_post(post["id"])

    case = await case_of(reviewer, "post", post["id"])
    assert case["sources"] == ["escalation"]
    assert case["reach"] == {"views": 3, "forwards": 0}
    assert (case["author_id"], case["severity"], case["report_count"]) == (operator.id, None, 0)
    assert case["content"]["text"] == "据说\n据说。正文。"
    assert hours_between(case) == 1
    await decided_case(reviewer, case["id"], "approve", "true and harmless")
    assert await review_case(reviewer, "post", post["id"]) is None

    chat = (await readers[0].open_direct(readers[1].id))["id"]
    first = await readers[0].forward(post["id"], chat)
    await readers[1].forward(post["id"], chat, first["message"]["id"])
    reopened = await case_of(reviewer, "post", post["id"])
    assert reopened["id"] == case["id"]
    assert (reopened["state"], reopened["overdue"]) == ("open", False)
    assert reopened["reach"] == {"views": 3, "forwards": 2}
    assert reopened["priority"] >= case["priority"]


# Verdicts by target -----------------------------------------------------------------------------


async def test_content_is_removed_not_upheld_and_a_user_upheld_not_removed(
    make_user: MakeUser, alice: User, bob: User, reviewer: User
) -> None:
    chat, flagged, message_case = await flagged_case(alice, bob, reviewer)
    operator = await make_user("operator")
    account = await public_account(operator, reviewer, account_type="service")
    held = await operator.publish(account["id"], tagged("百家乐攻略"), "正文")
    post_case = await case_of(reviewer, "post", held["id"])
    assert (await report(bob, "user", alice.id)).status_code == 201
    user_case = await case_of(reviewer, "user", alice.id)

    for case in (message_case, post_case):
        assert_error(await decide_case(reviewer, case["id"], "uphold"), 422, "not_upholdable")
        assert_error(await bulk(reviewer, [case["id"]], "uphold"), 422, "not_upholdable")
    assert_error(await decide_case(reviewer, user_case["id"], "remove"), 422, "not_removable")
    for case in (message_case, post_case, user_case):
        shown = await reviewer.request("GET", f"{CASES}/{case['id']}")
        assert (shown["state"], shown["decision"], shown["reason"]) == ("open", None, None)
    assert [m["text"] for m in await full_history(bob, chat)] == [flagged["text"]]
    assert_error(await bob.raw("GET", f"/api/v1/posts/{held['id']}"), 404, "post_not_found")

    upheld = await decided_case(reviewer, user_case["id"], "uphold", "a scammer")
    assert (upheld["state"], upheld["decision"], upheld["decided_by"], upheld["reason"]) == (
        "upheld",
        "uphold",
        reviewer.id,
        "a scammer",
    )
    assert await review_case(reviewer, "user", alice.id) is None
    assert (await review_case(reviewer, "user", alice.id, "upheld"))["id"] == user_case["id"]
    # What a reviewer cannot uphold is still decided the usual way.
    assert (await decided_case(reviewer, message_case["id"], "approve"))["state"] == "approved"
    assert (await decided_case(reviewer, post_case["id"], "approve"))["state"] == "approved"


# Escalations and take-overs ---------------------------------------------------------------------


async def test_an_escalation_keeps_its_reason_and_only_an_administrator_claims_it(
    alice: User, bob: User, reviewer: User, make_staff: MakeStaff
) -> None:
    _, flagged, case = await flagged_case(alice, bob, reviewer)
    escalated = await decided_case(reviewer, case["id"], "escalate", "needs legal")
    assert (escalated["state"], escalated["reason"], escalated["decision"]) == (
        "escalated",
        "needs legal",
        None,
    )
    shown = await reviewer.request("GET", f"{CASES}/{case['id']}")
    assert (shown["state"], shown["reason"], shown["claimed_by"]) == (
        "escalated",
        "needs legal",
        None,
    )
    queued = await review_case(reviewer, "message", flagged["id"], "escalated")
    assert (queued["id"], queued["reason"]) == (case["id"], "needs legal")

    claim = f"{CASES}/{case['id']}/claim"
    assert_error(await reviewer.raw("PUT", claim), 403, "case_escalated")
    assert (await reviewer.request("GET", f"{CASES}/{case['id']}"))["claimed_by"] is None
    admin = await make_staff("admin")
    assert (await admin.request("PUT", claim))["claimed_by"] == admin.id
    removed = await decided_case(admin, case["id"], "remove", "illegal gambling ad")
    assert (removed["state"], removed["decided_by"], removed["reason"]) == (
        "removed",
        admin.id,
        "illegal gambling ad",
    )


async def test_an_administrator_may_take_over_a_case_a_reviewer_just_claimed(
    alice: User, bob: User, reviewer: User, second_reviewer: User, make_staff: MakeStaff
) -> None:
    chat = (await alice.open_direct(bob.id))["id"]
    first, second = [await sent(alice, chat, tagged(f"{FLAGGED}{n}")) for n in range(2)]
    cases = [(await case_of(reviewer, "message", m["id"]))["id"] for m in (first, second)]
    for case_id in cases:
        claimed = await reviewer.request("PUT", f"{CASES}/{case_id}/claim")
        assert claimed["claimed_by"] == reviewer.id
        assert_error(
            await second_reviewer.raw("PUT", f"{CASES}/{case_id}/claim"), 409, "case_claimed"
        )
        assert_error(await decide_case(second_reviewer, case_id, "approve"), 409, "case_claimed")

    admin = await make_staff("admin")
    taken = await admin.request("PUT", f"{CASES}/{cases[0]}/claim")
    assert taken["claimed_by"] == admin.id
    assert_error(await reviewer.raw("PUT", f"{CASES}/{cases[0]}/claim"), 409, "case_claimed")
    removed = await decided_case(admin, cases[0], "remove", "gambling ad")
    assert (removed["state"], removed["decided_by"], removed["claimed_by"]) == (
        "removed",
        admin.id,
        None,
    )
    approved = await decided_case(admin, cases[1], "approve", "a joke among friends")
    assert (approved["state"], approved["decided_by"], approved["claimed_by"]) == (
        "approved",
        admin.id,
        None,
    )
    history = await full_history(bob, chat)
    assert [(m["id"], m.get("moderation")) for m in history] == [
        (first["id"], "removed"),
        (second["id"], None),
    ]


# Cascades ---------------------------------------------------------------------------------------


async def test_a_removed_post_decides_the_pending_cases_of_its_forwards_and_reposts(
    make_user: MakeUser, alice: User, bob: User, carol: User, reviewer: User
) -> None:
    operators = [await make_user(name) for name in ("origin", "relay")]
    origin, relay = [
        await public_account(operator, reviewer, account_type="service") for operator in operators
    ]
    post = await operators[0].publish(
        origin["id"], tagged("独家消息"), "某地发生大事。速看。", "commentary"
    )
    repost = await operators[1].publish(relay["id"], "转发", "转发正文", "commentary", post["id"])
    chat = (await alice.open_direct(bob.id))["id"]
    forward = (await alice.forward(post["id"], chat))["message"]
    dave = await make_user("dave")
    cursors = {user.id: (await full_sync(user))[1] for user in (bob, carol)}

    forward_report = await report(bob, "message", forward["id"], "defamation")
    assert forward_report.status_code == 201, forward_report.text
    repost_report = await report(carol, "post", repost["id"], "defamation")
    assert repost_report.status_code == 201, repost_report.text
    assert (await report(dave, "post", post["id"], "defamation")).status_code == 201
    forward_case = await case_of(reviewer, "message", forward["id"])
    repost_case = await case_of(reviewer, "post", repost["id"])
    post_case = await case_of(reviewer, "post", post["id"])

    await decided_case(reviewer, post_case["id"], "remove", "a fabricated story")
    for target, case in (("message", forward_case), ("post", repost_case)):
        shown = await reviewer.request("GET", f"{CASES}/{case['id']}")
        assert (shown["state"], shown["decision"]) == ("removed", "remove"), shown
        assert shown["reason"].startswith("removed with case"), shown
        assert {r["outcome"] for r in shown["reports"]} == {"action_taken"}
        assert await review_case(reviewer, target, case["target"]["id"]) is None
        assert_error(await decide_case(reviewer, case["id"], "approve"), 409, "case_decided")

    for reporter, filed, target in (
        (bob, forward_report.json(), {"type": "message", "id": forward["id"]}),
        (carol, repost_report.json(), {"type": "post", "id": repost["id"]}),
    ):
        events, _ = await full_sync(reporter, cursors[reporter.id])
        assert notices_of(events, "report_outcome") == [
            {
                "kind": "report_outcome",
                "report_id": filed["id"],
                "target": target,
                "outcome": "action_taken",
            }
        ]
        (mine,) = (await reporter.request("GET", "/api/v1/reports"))["reports"]
        assert mine == {**filed, "outcome": "action_taken"}


# Holds with no one else to release them to ------------------------------------------------------


@pytest.fixture
def group_hold_server(servers: ServerPool) -> Server:
    """A shared server whose pack holds a medium match in a group until it is approved."""
    old = '[moderation.surfaces.group]\nlow = "flag"\nmedium = "flag"\n'
    assert BASE_PACK_TEXT.count(old) == 1
    text = BASE_PACK_TEXT.replace(
        old, '[moderation.surfaces.group]\nlow = "flag"\nmedium = "hold"\n'
    )
    path = servers.root / "packs" / "group-hold.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return servers.shared(policy_pack=str(path))


async def test_a_held_message_in_a_group_of_its_sender_alone_can_be_approved(
    group_hold_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    reviewer = await make_staff("reviewer", on=group_hold_server)
    alice = await make_user("alice", on=group_hold_server)
    group = (await group_of(alice, "独白"))["id"]
    text = tagged(FLAGGED)
    held = await sent(alice, group, text)
    assert held["moderation"] == "held"
    case = await case_of(reviewer, "message", held["id"])
    assert case["sources"] == ["hold"]

    answer = await decide_case(reviewer, case["id"], "approve", "harmless")
    assert answer.status_code == 200, answer.text
    assert (answer.json()["state"], answer.json()["decision"]) == ("approved", "approve")
    assert (await reviewer.request("GET", f"{CASES}/{case['id']}"))["state"] == "approved"
    (shown,) = await full_history(alice, group)
    assert (shown["id"], shown["text"]) == (held["id"], text)
    assert "moderation" not in shown
    assert (await sent(alice, group, "还有人吗"))["text"] == "还有人吗"


# Restarts ---------------------------------------------------------------------------------------


async def test_a_restart_after_a_release_gives_no_stream_position_out_twice(
    servers: ServerPool, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    pack = review_pack(servers.root, BASE_PACK_TEXT)
    first = servers.start(policy_pack=pack)
    try:
        reviewer = await make_staff("reviewer", on=first)
        alice, bob, carol = [await make_user(name, on=first) for name in ("alice", "bob", "carol")]
        chat = (await alice.open_direct(bob.id))["id"]
        text = tagged(FLAGGED)
        held = await sent(alice, chat, text)
        assert held["moderation"] == "held"
        case = await case_of(reviewer, "message", held["id"])
        await decided_case(reviewer, case["id"], "approve")
        before, released_at = await full_sync(bob)
        assert [m["id"] for m in messages_of(before)] == [held["id"]]
    finally:
        first.stop()

    second = servers.start(data_dir=first.data_dir, policy_pack=pack)
    alice, bob, carol = (moved(user, second) for user in (alice, bob, carol))
    try:
        after = await sent(alice, chat, "明天见")
        events, _ = await full_sync(bob)
        shown = [(m["id"], m["text"]) for m in messages_of(events)]
        assert shown == [(held["id"], text), (after["id"], "明天见")]
        cursors = [event["cursor"] for event in events]
        assert cursors == sorted(set(cursors)), events
        released, new = (e["cursor"] for e in events if e["type"] == "message")
        assert released <= released_at < new
        assert all(
            event["message"]["conversation_id"] == chat
            for event in events
            if event["type"] == "message"
        )
        assert {event["type"] for event in events} <= {"conversation", "message"}, events
        later, _ = await full_sync(bob, released_at)
        assert [m["id"] for m in messages_of(later)] == [after["id"]]

        # Others' messages after the restart stay theirs.
        other = (await carol.open_direct(alice.id))["id"]
        await sent(carol, other, "你好")
        assert (await full_sync(bob))[0] == events
        assert [m["text"] for m in await full_history(bob, chat)] == [text, "明天见"]
    finally:
        for user in (alice, bob, carol):
            await user.aclose()
        second.stop()


async def test_a_case_about_a_reviewer_is_another_reviewers(
    make_user: MakeUser, make_staff: MakeStaff
) -> None:
    bob = await make_user("bob")
    subject = await make_staff("reviewer", new=True)
    colleague = await make_staff("reviewer")
    assert (await report(bob, "user", subject.id, "fraud")).status_code == 201
    case = await case_of(colleague, "user", subject.id)
    claimed = await subject.raw("PUT", f"{CASES}/{case['id']}/claim")
    assert_error(claimed, 403, "case_about_self")
    assert_error(await decide_case(subject, case["id"], "approve"), 403, "case_about_self")
    in_bulk = await subject.raw(
        "POST",
        "/api/v1/admin/review/decisions",
        json={"case_ids": [case["id"]], "decision": "approve", "reason": "reviewed"},
    )
    assert_error(in_bulk, 403, "case_about_self")
    assert (await decided_case(colleague, case["id"], "approve"))["decided_by"] == colleague.id
