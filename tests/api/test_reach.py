"""The reach ledger: unique views, forwards into chats and their lineage, per-author totals, and
the escalation with its frozen evidence, chained into the audit log, when a post or an author's
yearly total crosses a threshold; forwards count by distinct forwarder."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import MakeStaff, MakeUser, Server, ServerPool, User
from tests.support import (
    assert_error,
    case_of,
    every_item,
    full_history,
    full_sync,
    public_account,
    query_db,
    tagged,
    write_db,
)
from townhall.domain.reach import evidence_digest

SERIOUS_VIEWS = 3
SERIOUS_FORWARDS = 2


@pytest.fixture
def reach_server(servers: ServerPool) -> Server:
    """A shared server whose pack calls a post serious at 3 views or 2 forwards."""
    return servers.shared(
        policy_pack=servers.pack(serious_views=SERIOUS_VIEWS, serious_forwards=SERIOUS_FORWARDS)
    )


async def a_post(operator: User, reviewer: User, title: str = "春茶上市") -> dict[str, Any]:
    account = await public_account(operator, reviewer)
    return await operator.publish(account["id"], title, f"{title}。正文。")


async def read(user: User, post_id: int) -> httpx.Response:
    return await user.raw("GET", f"/api/v1/posts/{post_id}")


async def forward(
    user: User, post_id: int, conversation_id: int, from_message_id: int | None = None
) -> httpx.Response:
    return await user.raw(
        "POST",
        f"/api/v1/posts/{post_id}/forwards",
        json={"conversation_id": conversation_id, "from_message_id": from_message_id},
    )


async def forwarded(
    user: User, post_id: int, conversation_id: int, from_message_id: int | None = None
) -> dict[str, Any]:
    answer = await forward(user, post_id, conversation_id, from_message_id)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def all_escalations(staff: User) -> list[dict[str, Any]]:
    return await every_item(staff, "/api/v1/admin/reach/escalations", "escalations", limit=200)


async def escalations_of(staff: User, post_id: int) -> list[dict[str, Any]]:
    return [item for item in await all_escalations(staff) if item["post_id"] == post_id]


async def author_escalations(staff: User, author: User) -> list[dict[str, Any]]:
    """Escalations of the author's rolling totals (no post of their own)."""
    return [
        item
        for item in await all_escalations(staff)
        if item["post_id"] is None and item["author_id"] == author.id
    ]


# Views and forwards -----------------------------------------------------------------------------


async def test_a_reader_is_counted_once(
    make_user: MakeUser, alice: User, bob: User, carol: User, reviewer: User
) -> None:
    operator = await make_user("operator")
    post = await a_post(operator, reviewer)
    for _ in range(3):
        shown = await alice.read_post(post["id"])
        assert shown["reach"] == {"views": 1, "forwards": 0, "forwarders": 0, "forward_depth": 0}
    assert shown["title"] == post["title"]
    assert shown["body"] == post["body"]
    assert (await bob.read_post(post["id"]))["reach"]["views"] == 2
    assert (await carol.read_post(post["id"]))["reach"]["views"] == 3
    assert (await alice.read_post(post["id"]))["reach"]["views"] == 3
    assert_error(await read(alice, 10**9), 404, "post_not_found")


async def test_a_forward_is_a_message_that_carries_the_post(
    make_user: MakeUser, alice: User, bob: User, reviewer: User
) -> None:
    operator = await make_user("operator")
    post = await a_post(operator, reviewer)
    chat = (await alice.open_direct(bob.id))["id"]
    _, bob_cursor = await full_sync(bob)

    answer = await forwarded(alice, post["id"], chat)
    carried = {
        "type": "post",
        "post_id": post["id"],
        "public_account_id": post["public_account_id"],
        "account_name": post["account_name"],
        "title": post["title"],
    }
    assert answer["message"]["attachment"] == carried
    assert answer["message"]["conversation_id"] == chat
    first = answer["forward"]
    assert (first["post_id"], first["forwarder_id"], first["conversation_id"]) == (
        post["id"],
        alice.id,
        chat,
    )
    assert (first["message_id"], first["parent_id"], first["depth"]) == (
        answer["message"]["id"],
        None,
        1,
    )
    # Bob sees it in the chat's history and in his sync stream.
    history = await full_history(bob, chat)
    assert [message["attachment"] for message in history] == [carried]
    events, _ = await full_sync(bob, bob_cursor)
    assert [e["message"].get("attachment") for e in events if e["type"] == "message"] == [carried]
    assert (await bob.read_post(post["id"]))["reach"] == {
        "views": 1,
        "forwards": 1,
        "forwarders": 1,
        "forward_depth": 1,
    }
    # A retried forward (the same client_id) is one message and one forward.
    retry = {"conversation_id": chat, "client_id": "forward-retry-1"}
    path = f"/api/v1/posts/{post['id']}/forwards"
    once = (await alice.request("POST", path, json=retry))["forward"]
    assert (await alice.request("POST", path, json=retry))["forward"] == once
    reach = (await bob.read_post(post["id"]))["reach"]
    assert (reach["forwards"], reach["forwarders"]) == (2, 1)  # alice forwarded it twice
    assert len(await full_history(bob, chat)) == 2
    # Only into a chat the forwarder is in, and only a post that is there.
    carol = await make_user("carol")
    assert_error(await forward(carol, post["id"], chat), 404, "conversation_not_found")
    assert_error(await forward(alice, 10**9, chat), 404, "post_not_found")


async def test_a_forward_of_a_forward_traces_back_to_the_post(
    make_user: MakeUser,
    alice: User,
    bob: User,
    carol: User,
    reviewer: User,
    make_staff: MakeStaff,
) -> None:
    operator = await make_user("operator")
    post = await a_post(operator, reviewer)
    other_post = await a_post(await make_user("other"), reviewer)
    alice_bob = (await alice.open_direct(bob.id))["id"]
    bob_carol = (await bob.open_direct(carol.id))["id"]
    first = await forwarded(alice, post["id"], alice_bob)
    second = await forwarded(bob, post["id"], bob_carol, first["message"]["id"])
    assert second["forward"]["parent_id"] == first["forward"]["id"]
    assert second["forward"]["depth"] == 2
    third = await forwarded(carol, post["id"], bob_carol, second["message"]["id"])
    assert third["forward"]["depth"] == 3
    assert (await carol.read_post(post["id"]))["reach"] == {
        "views": 1,
        "forwards": 3,
        "forwarders": 3,
        "forward_depth": 3,
    }

    lineage = await reviewer.request(
        "GET", f"/api/v1/admin/reach/forwards/{third['forward']['id']}/lineage"
    )
    assert lineage["lineage"] == [third["forward"], second["forward"], first["forward"]]
    one_hop = await reviewer.request(
        "GET", f"/api/v1/admin/reach/forwards/{first['forward']['id']}/lineage"
    )
    assert one_hop["lineage"] == [first["forward"]]
    auditor = await make_staff("auditor")
    path = f"/api/v1/admin/reach/forwards/{second['forward']['id']}/lineage"
    assert (await reviewer.request("GET", path))["lineage"][-1]["depth"] == 1
    # Who forwarded into which chat is private: not the auditor's to read.
    for outsider in (auditor, alice):
        assert_error(await outsider.raw("GET", path), 403, "role_required")
    assert_error(
        await reviewer.raw("GET", f"/api/v1/admin/reach/forwards/{10**9}/lineage"),
        404,
        "forward_not_found",
    )

    # A forward names a message its forwarder could see, carrying that same post.
    carol_dave = (await carol.open_direct((await make_user("dave")).id))["id"]
    unseen = await forward(carol, post["id"], carol_dave, first["message"]["id"])
    assert_error(unseen, 404, "forward_not_found")
    plain = await bob.send(alice_bob, "not a forward")
    assert_error(await forward(bob, post["id"], bob_carol, plain["id"]), 404, "forward_not_found")
    elsewhere = await forwarded(alice, other_post["id"], alice_bob)
    wrong_post = await forward(bob, post["id"], bob_carol, elsewhere["message"]["id"])
    assert_error(wrong_post, 404, "forward_not_found")
    assert (await carol.read_post(post["id"]))["reach"]["forwards"] == 3


# Thresholds -------------------------------------------------------------------------------------


async def test_views_escalate_once_exactly_at_the_threshold(
    reach_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    reviewer = await make_staff("reviewer", on=reach_server)
    operator = await make_user("operator", on=reach_server)
    readers = [await make_user(f"reader{n}", on=reach_server) for n in range(SERIOUS_VIEWS + 1)]
    post = await a_post(operator, reviewer, "据说")

    for reader in readers[: SERIOUS_VIEWS - 1]:
        await reader.read_post(post["id"])
    await readers[0].read_post(post["id"])  # a second look adds nothing
    assert await escalations_of(reviewer, post["id"]) == []

    shown = await readers[SERIOUS_VIEWS - 1].read_post(post["id"])
    assert shown["reach"]["views"] == SERIOUS_VIEWS
    (escalation,) = await escalations_of(reviewer, post["id"])
    assert escalation["measure"] == "views"
    assert (escalation["threshold"], escalation["count"]) == (SERIOUS_VIEWS, SERIOUS_VIEWS)
    assert escalation["public_account_id"] == post["public_account_id"]
    snapshot = escalation["snapshot"]
    assert snapshot["content"]["post_id"] == post["id"]
    assert (snapshot["content"]["title"], snapshot["content"]["body"]) == (
        post["title"],
        post["body"],
    )
    assert snapshot["content"]["reach"]["views"] == SERIOUS_VIEWS
    assert snapshot["sha256"] == evidence_digest(snapshot["content"])

    await readers[SERIOUS_VIEWS].read_post(post["id"])
    assert await escalations_of(reviewer, post["id"]) == [escalation]

    # The author takes the post down; the evidence stays as it was frozen.
    assert (await operator.raw("DELETE", f"/api/v1/posts/{post['id']}")).status_code == 204
    assert_error(await read(readers[0], post["id"]), 404, "post_not_found")
    assert await escalations_of(reviewer, post["id"]) == [escalation]
    listing = await readers[0].raw("GET", "/api/v1/admin/reach/escalations")
    assert_error(listing, 403, "role_required")


async def test_forwards_escalate_once_exactly_at_the_threshold(
    reach_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    reviewer = await make_staff("reviewer", on=reach_server)
    operator = await make_user("operator", on=reach_server)
    alice = await make_user("alice", on=reach_server)
    bob = await make_user("bob", on=reach_server)
    post = await a_post(operator, reviewer, "听说")
    chat = (await alice.open_direct(bob.id))["id"]

    first = await forwarded(alice, post["id"], chat)
    assert await escalations_of(reviewer, post["id"]) == []
    await forwarded(bob, post["id"], chat, first["message"]["id"])
    (escalation,) = await escalations_of(reviewer, post["id"])
    assert escalation["measure"] == "forwards"
    assert (escalation["threshold"], escalation["count"]) == (SERIOUS_FORWARDS, SERIOUS_FORWARDS)
    content = escalation["snapshot"]["content"]
    assert (content["title"], content["body"]) == (post["title"], post["body"])
    assert content["reach"]["forwards"] == SERIOUS_FORWARDS
    assert escalation["snapshot"]["sha256"] == evidence_digest(content)

    await forwarded(alice, post["id"], chat)
    assert await escalations_of(reviewer, post["id"]) == [escalation]
    assert (await operator.raw("DELETE", f"/api/v1/posts/{post['id']}")).status_code == 204
    assert_error(await forward(alice, post["id"], chat), 404, "post_not_found")
    assert await escalations_of(reviewer, post["id"]) == [escalation]


async def test_per_author_totals_add_up_the_accounts_posts(
    reach_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    reviewer = await make_staff("reviewer", on=reach_server)
    operator = await make_user("operator", on=reach_server)
    alice = await make_user("alice", on=reach_server)
    bob = await make_user("bob", on=reach_server)
    account = await public_account(operator, reviewer, account_type="service")
    # The same author's other account counts towards the author, not towards this account.
    other = await public_account(operator, reviewer, category="enterprise")
    posts = [await operator.publish(account["id"], title, "正文") for title in ("一", "二")]
    elsewhere = await operator.publish(other["id"], "三", "正文")
    chat = (await alice.open_direct(bob.id))["id"]
    for reader in (alice, bob):
        await reader.read_post(posts[0]["id"])
    await alice.read_post(posts[1]["id"])
    await bob.read_post(elsewhere["id"])
    await forwarded(alice, posts[1]["id"], chat)
    # Staff looking into a post are not its public: their reads count for nothing.
    looked_at = await reviewer.read_post(posts[1]["id"])
    assert looked_at["reach"] == {"views": 1, "forwards": 1, "forwarders": 1, "forward_depth": 1}

    path = f"/api/v1/admin/reach/public-accounts/{account['id']}"
    totals = await reviewer.request("GET", path)
    assert totals == {
        "public_account_id": account["id"],
        "window_days": 365,
        "views": 3,
        "forwards": 1,
        "forwarders": 1,
        "operator": {
            "public_account_ids": [account["id"], other["id"]],
            "views": 4,
            "forwards": 1,
            "forwarders": 1,
        },
        "serious_views": SERIOUS_VIEWS,
        "serious_forwards": SERIOUS_FORWARDS,
    }
    # The totals keep what deleted posts reached.
    assert (await operator.raw("DELETE", f"/api/v1/posts/{posts[0]['id']}")).status_code == 204
    assert await reviewer.request("GET", path) == totals
    assert_error(await operator.raw("GET", path), 403, "role_required")
    assert_error(
        await reviewer.raw("GET", f"/api/v1/admin/reach/public-accounts/{10**9}"),
        404,
        "public_account_not_found",
    )


async def test_one_user_forwarding_again_and_again_is_one_forwarder(
    reach_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    reviewer = await make_staff("reviewer", on=reach_server)
    operator = await make_user("operator", on=reach_server)
    alice = await make_user("alice", on=reach_server)
    bob = await make_user("bob", on=reach_server)
    post = await a_post(operator, reviewer, "转发抽奖")
    chat = (await alice.open_direct(bob.id))["id"]

    for _ in range(5):
        await forwarded(alice, post["id"], chat)
    assert await escalations_of(reviewer, post["id"]) == []
    reach = (await reviewer.read_post(post["id"]))["reach"]
    assert (reach["forwards"], reach["forwarders"]) == (5, 1)
    assert await author_escalations(reviewer, operator) == []

    await forwarded(bob, post["id"], chat)
    (escalation,) = await escalations_of(reviewer, post["id"])
    assert (escalation["measure"], escalation["count"]) == ("forwards", SERIOUS_FORWARDS)
    # The raw count is kept beside the distinct one, as evidence.
    evidence = escalation["snapshot"]["content"]["reach"]
    assert (evidence["forwards"], evidence["forwarders"]) == (6, SERIOUS_FORWARDS)
    case = await case_of(reviewer, "post", post["id"])
    assert case["reach"] == {"views": 0, "forwards": SERIOUS_FORWARDS}


async def test_an_authors_posts_add_up_to_an_escalation_of_the_author(
    reach_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    reviewer = await make_staff("reviewer", on=reach_server)
    operator = await make_user("operator", on=reach_server)
    alice, bob, carol = [
        await make_user(name, on=reach_server) for name in ("alice", "bob", "carol")
    ]
    account = await public_account(operator, reviewer, account_type="service")
    first = await operator.publish(account["id"], "据说一", "正文一")
    second = await operator.publish(account["id"], "据说二", "正文二")
    chat = (await alice.open_direct(bob.id))["id"]

    # One forwarder each: neither post is serious, the author's year is.
    await forwarded(alice, first["id"], chat)
    assert await author_escalations(reviewer, operator) == []
    await forwarded(bob, second["id"], chat)
    assert await escalations_of(reviewer, first["id"]) == []
    assert await escalations_of(reviewer, second["id"]) == []
    (escalation,) = await author_escalations(reviewer, operator)
    assert (escalation["measure"], escalation["threshold"], escalation["count"]) == (
        "forwards",
        SERIOUS_FORWARDS,
        SERIOUS_FORWARDS,
    )
    assert escalation["public_account_id"] == account["id"]
    evidence = escalation["snapshot"]["content"]
    assert evidence["author_id"] == operator.id
    assert evidence["totals"] == {"views": 0, "forwards": 2, "forwarders": 2}
    assert sorted((p["post_id"], p["title"], p["body"]) for p in evidence["posts"]) == [
        (first["id"], "据说一", "正文一"),
        (second["id"], "据说二", "正文二"),
    ]
    assert escalation["snapshot"]["sha256"] == evidence_digest(evidence)

    # The author is queued for review, with the totals that count.
    case = await case_of(reviewer, "user", operator.id)
    assert case["sources"] == ["escalation"]
    assert case["reach"] == {"views": 0, "forwards": SERIOUS_FORWARDS}

    # Once per window: more reach adds nothing until the window has moved on.
    await forwarded(carol, first["id"], (await carol.open_direct(alice.id))["id"])
    assert await author_escalations(reviewer, operator) == [escalation]
    for reader in (alice, bob, carol):
        await reader.read_post(second["id"])
    (by_views,) = [
        e for e in await author_escalations(reviewer, operator) if e["measure"] == "views"
    ]
    assert by_views["count"] == SERIOUS_VIEWS
    assert (await case_of(reviewer, "user", operator.id))["id"] == case["id"]


async def test_escalations_are_chained_into_the_audit_log_with_their_evidence(
    servers: ServerPool, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    server = servers.start(
        policy_pack=servers.pack(serious_views=SERIOUS_VIEWS, serious_forwards=SERIOUS_FORWARDS)
    )
    try:
        reviewer = await make_staff("reviewer", on=server)
        admin = await make_staff("admin", on=server)
        operator = await make_user("operator", on=server)
        post = await a_post(operator, reviewer, tagged("据说"))
        for n in range(SERIOUS_VIEWS):
            await (await make_user(f"reader{n}", on=server)).read_post(post["id"])
        (escalation,) = await escalations_of(reviewer, post["id"])
        (by_author,) = await author_escalations(reviewer, operator)

        log = (await admin.request("GET", "/api/v1/audit/log", params={"limit": 500}))["rows"]
        recorded = [row for row in log if row["action"] == "reach.escalate"]
        assert [(row["subject_type"], row["subject_id"]) for row in recorded] == [
            ("post", post["id"]),
            ("user", operator.id),
        ]
        for row, frozen in zip(recorded, (escalation, by_author), strict=True):
            # No one took it: the server did, by rule.
            assert (row["actor_id"], row["actor_role"]) == (None, "system")
            assert row["seq"] == frozen["audit_seq"]
            assert row["details"]["evidence_sha256"] == frozen["snapshot"]["sha256"]
            assert row["details"]["escalation_id"] == frozen["id"]
            assert row["details"]["count"] == frozen["count"] == SERIOUS_VIEWS
        verified = server.cli("audit", "verify")
        assert verified.returncode == 0, verified.stderr

        # Someone with the database rewrites the evidence and its stored digest to match.
        snapshot_id = recorded[0]["details"]["snapshot_id"]
        ((content,),) = query_db(
            server.data_dir, "SELECT content FROM evidence_snapshots WHERE id = ?", snapshot_id
        )
        edited = {**orjson.loads(content), "body": "什么也没说"}
        write_db(
            server.data_dir,
            "UPDATE evidence_snapshots SET content = ?, sha256 = ? WHERE id = ?",
            orjson.dumps(edited).decode(),
            evidence_digest(edited),
            snapshot_id,
        )
        caught = server.cli("audit", "verify")
        assert caught.returncode == 1
        seq = recorded[0]["seq"]
        assert f"evidence snapshot {snapshot_id} of row {seq} was edited" in caught.stderr
    finally:
        server.stop()
