"""The reach ledger: unique views, forwards into chats and their lineage, per-author totals, and
the escalation with its frozen evidence when a post crosses a threshold."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import MakeStaff, MakeUser, Server, ServerPool, User
from tests.support import assert_error, full_history, full_sync, public_account
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


async def escalations_of(staff: User, post_id: int) -> list[dict[str, Any]]:
    found, after = [], 0
    while after is not None:
        answer = await staff.raw(
            "GET", "/api/v1/admin/reach/escalations", params={"after": after, "limit": 200}
        )
        assert answer.status_code == 200, answer.text
        found += [item for item in answer.json()["escalations"] if item["post_id"] == post_id]
        after = answer.json()["next_after"]
    return found


# Views and forwards -----------------------------------------------------------------------------


async def test_a_reader_is_counted_once(
    make_user: MakeUser, alice: User, bob: User, carol: User, reviewer: User
) -> None:
    operator = await make_user("operator")
    post = await a_post(operator, reviewer)
    for _ in range(3):
        shown = await alice.read_post(post["id"])
        assert shown["reach"] == {"views": 1, "forwards": 0, "forward_depth": 0}
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
        "forward_depth": 1,
    }
    # A retried forward (the same client_id) is one message and one forward.
    retry = {"conversation_id": chat, "client_id": "forward-retry-1"}
    path = f"/api/v1/posts/{post['id']}/forwards"
    once = (await alice.request("POST", path, json=retry))["forward"]
    assert (await alice.request("POST", path, json=retry))["forward"] == once
    assert (await bob.read_post(post["id"]))["reach"]["forwards"] == 2
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
    assert looked_at["reach"] == {"views": 1, "forwards": 1, "forward_depth": 1}

    path = f"/api/v1/admin/reach/public-accounts/{account['id']}"
    totals = await reviewer.request("GET", path)
    assert totals == {
        "public_account_id": account["id"],
        "window_days": 365,
        "views": 3,
        "forwards": 1,
        "operator": {
            "public_account_ids": [account["id"], other["id"]],
            "views": 4,
            "forwards": 1,
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
