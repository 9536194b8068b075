"""Reports from users: anything the reporter can see may be reported, once; reports of one
target join one case; every reporter learns the outcome; a target judged harmless is not queued
again; reporters whose reports keep proving unfounded are throttled."""

from __future__ import annotations

import time
from typing import Any

from tests.conftest import BASE_PACK_TEXT, MakeStaff, MakeUser, ServerPool, User
from tests.support import (
    assert_error,
    case_of,
    decided_case,
    full_sync,
    group_of,
    notices_of,
    public_account,
    report,
    review_case,
    review_pack,
)

REPORTS = "/api/v1/reports"
CASES = "/api/v1/admin/review/cases"
DAY_S = 86_400


async def filed(user: User, target_type: str, target_id: int, reason: str = "other") -> Any:
    answer = await report(user, target_type, target_id, reason)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_a_report_is_filed_once_and_listed_newest_first(alice: User, bob: User) -> None:
    chat = (await alice.open_direct(bob.id))["id"]
    message = await alice.send(chat, "转账给我 包你赚钱")
    answer = await report(bob, "message", message["id"], "fraud", detail="asks for money")
    assert answer.status_code == 201, answer.text
    first = answer.json()
    assert set(first) == {"id", "target", "reason", "detail", "created_at", "outcome"}
    assert first["target"] == {"type": "message", "id": message["id"]}
    assert (first["reason"], first["detail"], first["outcome"]) == (
        "fraud",
        "asks for money",
        "pending",
    )
    again = await report(bob, "message", message["id"], "other", detail="again")
    assert again.status_code == 200, again.text
    assert again.json() == first

    second = await filed(bob, "user", alice.id, "fraud")
    assert second["detail"] is None
    listing = await bob.request("GET", REPORTS)
    assert listing == {"reports": [second, first], "next_cursor": None}
    page = await bob.request("GET", REPORTS, params={"limit": 1})
    assert page["reports"] == [second]
    older = await bob.request("GET", REPORTS, params={"cursor": page["next_cursor"]})
    assert older["reports"] == [first]
    assert (await alice.request("GET", REPORTS))["reports"] == []


async def test_only_what_the_reporter_can_see_may_be_reported(
    make_user: MakeUser, alice: User, bob: User, carol: User, make_staff: MakeStaff
) -> None:
    chat = (await alice.open_direct(bob.id))["id"]
    message = await alice.send(chat, "你好")
    group = (await group_of(alice, "读书会", bob))["id"]
    reviewer = await make_staff("reviewer")
    operator = await make_user("operator")
    applied = await public_account(operator, category="enterprise")  # not approved yet
    approved = await public_account(operator, reviewer, account_type="service")
    post = await operator.publish(approved["id"], "春茶", "春茶上市")

    assert_error(await report(carol, "message", message["id"]), 404, "target_not_found")
    assert_error(await report(carol, "group", group), 404, "target_not_found")
    assert_error(await report(carol, "public_account", applied["id"]), 404, "target_not_found")
    for target_type in ("message", "post", "user", "group", "public_account"):
        assert_error(await report(carol, target_type, 10**9), 404, "target_not_found")
    assert_error(await report(carol, "group", chat), 404, "target_not_found")  # a direct chat

    for target_type, target_id in [
        ("group", group),
        ("public_account", approved["id"]),
        ("post", post["id"]),
        ("user", alice.id),
    ]:
        made = await filed(bob, target_type, target_id)
        assert made["target"] == {"type": target_type, "id": target_id}
        assert (await case_of(reviewer, target_type, target_id))["sources"] == ["report"]

    assert_error(await report(bob, "message", message["id"], "gossip"), 400, "reason_invalid")
    assert_error(await report(bob, "comment", message["id"]), 400, "target_type_invalid")
    too_long = await report(bob, "message", message["id"], detail="x" * 1001)
    assert_error(too_long, 400, "detail_too_long")
    assert (await report(bob, "message", message["id"], detail="x" * 1000)).status_code == 201


async def test_a_case_about_a_group_names_its_owner_now_not_its_creator(
    alice: User, bob: User, carol: User, make_staff: MakeStaff
) -> None:
    group = (await group_of(alice, "读书会", bob, carol))["id"]
    await alice.request("POST", f"/api/v1/conversations/{group}/owner", json={"user_id": bob.id})

    await filed(carol, "group", group, "fraud")

    reviewer = await make_staff("reviewer")
    assert (await case_of(reviewer, "group", group))["author_id"] == bob.id


async def test_reports_of_one_target_join_one_case_and_every_reporter_learns_the_outcome(
    make_user: MakeUser, alice: User, bob: User, carol: User, make_staff: MakeStaff
) -> None:
    dave = await make_user("dave")
    group = (await group_of(alice, "投资群", bob, carol, dave))["id"]
    message = await alice.send(group, "内部消息 转账给我 稳赚不赔")
    reporters = (bob, carol, dave)
    cursors = {user.id: (await full_sync(user))[1] for user in (alice, *reporters)}
    reports = {}
    for reporter, reason in zip(reporters, ("fraud", "fraud", "other"), strict=True):
        reports[reporter.id] = await filed(reporter, "message", message["id"], reason)

    reviewer = await make_staff("reviewer")
    case = await case_of(reviewer, "message", message["id"])
    assert (case["sources"], case["report_count"], case["categories"]) == (["report"], 3, ["fraud"])
    assert (case["author_id"], case["content"]["text"]) == (alice.id, message["text"])
    detail = await reviewer.request("GET", f"{CASES}/{case['id']}")
    assert sorted((r["reporter_id"], r["id"], r["reason"]) for r in detail["reports"]) == sorted(
        (user.id, reports[user.id]["id"], reports[user.id]["reason"]) for user in reporters
    )
    assert {r["outcome"] for r in detail["reports"]} == {"pending"}

    await decided_case(reviewer, case["id"], "remove")
    for reporter in reporters:
        events, _ = await full_sync(reporter, cursors[reporter.id])
        assert notices_of(events, "report_outcome") == [
            {
                "kind": "report_outcome",
                "report_id": reports[reporter.id]["id"],
                "target": {"type": "message", "id": message["id"]},
                "outcome": "action_taken",
            }
        ]
        (mine,) = (await reporter.request("GET", REPORTS))["reports"]
        assert mine == {**reports[reporter.id], "outcome": "action_taken"}
    detail = await reviewer.request("GET", f"{CASES}/{case['id']}")
    assert {r["outcome"] for r in detail["reports"]} == {"action_taken"}
    author_events, _ = await full_sync(alice, cursors[alice.id])
    assert notices_of(author_events, "report_outcome") == []
    assert len(notices_of(author_events, "content_removed")) == 1


async def test_a_target_judged_harmless_is_not_queued_again(
    alice: User, bob: User, carol: User, make_staff: MakeStaff
) -> None:
    group = (await group_of(alice, "茶话会", bob, carol))["id"]
    message = await alice.send(group, "明天去爬山吗")
    first = await filed(bob, "message", message["id"], "violence")
    reviewer = await make_staff("reviewer")
    case = await case_of(reviewer, "message", message["id"])
    await decided_case(reviewer, case["id"], "approve")
    assert (await bob.request("GET", REPORTS))["reports"][0]["outcome"] == "no_violation"

    _, cursor = await full_sync(carol)
    late = await filed(carol, "message", message["id"], "violence")
    assert late["outcome"] == "no_violation"
    events, _ = await full_sync(carol, cursor)
    assert [n["outcome"] for n in notices_of(events, "report_outcome")] == ["no_violation"]
    assert notices_of(events, "report_outcome")[0]["report_id"] == late["id"]
    assert await review_case(reviewer, "message", message["id"]) is None
    after = await reviewer.request("GET", f"{CASES}/{case['id']}")
    assert (after["state"], after["decision"]) == ("approved", "approve")
    repeat = await report(bob, "message", message["id"], "violence")
    assert repeat.status_code == 200
    assert repeat.json() == {**first, "outcome": "no_violation"}


async def test_a_reporter_whose_reports_prove_unfounded_is_throttled(
    servers: ServerPool, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    # Two unfounded reports bring on a limit of one report a day (tests/support.py).
    server = servers.shared(policy_pack=review_pack(servers.root, BASE_PACK_TEXT))
    reviewer = await make_staff("reviewer", on=server)
    reporter = await make_user("reporter", on=server)
    other = await make_user("other", on=server)
    targets = [await make_user(f"target{n}", on=server) for n in range(3)]
    for target in targets[:2]:
        await filed(reporter, "user", target.id, "fraud")
        case = await case_of(reviewer, "user", target.id)
        await decided_case(reviewer, case["id"], "approve")

    started = time.time()
    refused = await report(reporter, "user", targets[2].id, "fraud")
    assert_error(refused, 429, "report_rate_limited")
    assert DAY_S - (time.time() - started) - 60 <= refused.json()["error"]["retry_after"] <= DAY_S
    assert await review_case(reviewer, "user", targets[2].id) is None
    # A repeat of an earlier report is answered as before; others report freely.
    assert (await report(reporter, "user", targets[0].id, "fraud")).status_code == 200
    await filed(other, "user", targets[2].id, "fraud")
    case = await case_of(reviewer, "user", targets[2].id)
    assert case["report_count"] == 1
    # Decided, so that no case of this test falls overdue in another's count on this server.
    await decided_case(reviewer, case["id"], "approve")


async def test_a_founded_report_of_a_user_group_or_public_account_is_upheld(
    make_user: MakeUser, alice: User, bob: User, carol: User, make_staff: MakeStaff
) -> None:
    reviewer = await make_staff("reviewer")
    operator = await make_user("operator")
    account = await public_account(operator, reviewer, account_type="service")
    group = (await group_of(alice, "投资群", bob, carol))["id"]
    targets = [("user", alice.id), ("group", group), ("public_account", account["id"])]
    reporters = (bob, carol)
    cursors = {user.id: (await full_sync(user))[1] for user in (alice, operator, *reporters)}
    reports = {
        (reporter.id, target): await filed(reporter, *target, "fraud")
        for target in targets
        for reporter in reporters
    }

    for target in targets:
        case = await case_of(reviewer, *target)
        assert case["report_count"] == 2
        upheld = await decided_case(reviewer, case["id"], "uphold")
        assert (upheld["state"], upheld["decision"], upheld["decided_by"]) == (
            "upheld",
            "uphold",
            reviewer.id,
        )
        assert await review_case(reviewer, *target) is None
        listed = await review_case(reviewer, *target, "upheld")
        assert listed is not None and (listed["id"], listed["state"]) == (case["id"], "upheld")
        detail = await reviewer.request("GET", f"{CASES}/{case['id']}")
        assert {r["outcome"] for r in detail["reports"]} == {"action_taken"}

    for reporter in reporters:
        events, _ = await full_sync(reporter, cursors[reporter.id])
        assert notices_of(events, "report_outcome") == [
            {
                "kind": "report_outcome",
                "report_id": reports[reporter.id, target]["id"],
                "target": {"type": target[0], "id": target[1]},
                "outcome": "action_taken",
            }
            for target in targets
        ]
        mine = (await reporter.request("GET", REPORTS))["reports"]
        assert mine == [
            {**reports[reporter.id, target], "outcome": "action_taken"} for target in targets[::-1]
        ]
    # Nothing was removed: upholding leaves the sanction to staff.
    for author in (alice, operator):
        events, _ = await full_sync(author, cursors[author.id])
        assert notices_of(events, "content_removed") == []
        assert notices_of(events, "report_outcome") == []
    # A later report of an upheld target is answered at once.
    dave = await make_user("dave")
    late = await filed(dave, "user", alice.id, "fraud")
    assert late["outcome"] == "action_taken"
    assert await review_case(reviewer, "user", alice.id) is None


async def test_reporting_content_already_removed_is_answered_at_once(
    make_user: MakeUser, alice: User, bob: User, carol: User, make_staff: MakeStaff
) -> None:
    reviewer = await make_staff("reviewer")
    dave = await make_user("dave")
    group = (await group_of(alice, "投资群", bob, carol, dave))["id"]
    # Removed by its own case...
    message = await alice.send(group, f"内部消息 转账给我 稳赚不赔 {time.time_ns()}")
    await filed(bob, "message", message["id"], "fraud")
    await decided_case(
        reviewer, (await case_of(reviewer, "message", message["id"]))["id"], "remove"
    )
    # ...and removed with a post it forwarded, which had no case of its own.
    operator = await make_user("operator")
    account = await public_account(operator, reviewer, account_type="service")
    post = await operator.publish(
        account["id"], f"独家消息{time.time_ns()}", "某地发生大事。", "commentary"
    )
    relay_operator = await make_user("relay")
    relay = await public_account(relay_operator, reviewer, account_type="service")
    repost = await relay_operator.publish(relay["id"], "转发", "转发正文", "commentary", post["id"])
    forward = (await alice.forward(post["id"], group))["message"]
    await filed(bob, "post", post["id"], "other")
    await decided_case(reviewer, (await case_of(reviewer, "post", post["id"]))["id"], "remove")
    assert await review_case(reviewer, "message", forward["id"], "removed") is None

    shown = {m["id"]: m for m in (await carol.history(group))["messages"]}
    for gone in (message, forward):
        assert (shown[gone["id"]]["moderation"], shown[gone["id"]]["text"]) == ("removed", "")

    _, cursor = await full_sync(carol)
    late = {}
    for target in (("message", message["id"]), ("message", forward["id"]), ("post", repost["id"])):
        answer = await report(carol, *target, "fraud")
        assert answer.status_code == 201, answer.text
        late[target] = answer.json()
        assert late[target]["outcome"] == "action_taken"
        assert await review_case(reviewer, *target) is None
        case = await review_case(reviewer, *target, "removed")
        assert case is not None and case["state"] == "removed"
    events, _ = await full_sync(carol, cursor)
    assert notices_of(events, "report_outcome") == [
        {
            "kind": "report_outcome",
            "report_id": late[target]["id"],
            "target": {"type": target[0], "id": target[1]},
            "outcome": "action_taken",
        }
        for target in late
    ]
    mine = (await carol.request("GET", REPORTS))["reports"]
    assert {r["id"]: r["outcome"] for r in mine} == {r["id"]: "action_taken" for r in late.values()}


async def test_a_reported_post_brings_its_reach_so_far_into_its_case(
    make_user: MakeUser, reviewer: User, bob: User, carol: User
) -> None:
    operator = await make_user("writer")
    own = await public_account(operator, reviewer)
    post = await operator.publish(own["id"], "春茶上市", "春茶上市。正文。")
    for reader in (bob, carol):
        await reader.read_post(post["id"])
    chat = (await bob.open_direct(carol.id))["id"]
    for _ in range(3):  # one forwarder, however often
        await bob.request(
            "POST", f"/api/v1/posts/{post['id']}/forwards", json={"conversation_id": chat}
        )
    assert (await report(carol, "post", post["id"], "defamation")).status_code == 201
    case = await case_of(reviewer, "post", post["id"])
    assert case["reach"] == {"views": 2, "forwards": 1}
