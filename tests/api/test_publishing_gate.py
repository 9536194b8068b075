"""Publishing to a group needs a verified identity and the current agreement; a direct chat does
not (the default pack asks nothing of one-to-one chat)."""

from __future__ import annotations

import uuid

import httpx

from tests.conftest import (
    AGREEMENT_VERSION,
    PASSWORD,
    MakeStaff,
    MakeUser,
    Server,
    ServerPool,
    User,
    fresh_identity,
    moved,
    unique_handle,
)
from tests.support import assert_error, full_history, group_of

NEW_VERSION = "2014.2"


async def decide(reviewer: User, user: User, decision: str, reason: str | None = None) -> None:
    answer = await reviewer.raw(
        "POST",
        f"/api/v1/admin/identities/{user.id}/decision",
        json={"decision": decision, "reason": reason},
    )
    assert answer.status_code == 200, answer.text


async def post(user: User, conversation_id: int, text: str) -> int:
    answer = await user.raw(
        "POST",
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"text": text, "client_id": uuid.uuid4().hex},
    )
    return answer.status_code if answer.status_code < 400 else answer.json()["error"]["code"]


async def test_a_pending_user_chats_directly_but_cannot_post_to_a_group_until_approved(
    review_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    pending = await make_user("pending", on=review_server)
    friend = await make_user("friend", on=review_server)
    reviewer = await make_staff("reviewer", on=review_server)
    await decide(reviewer, friend, "approve")
    me = await pending.me()
    assert me["identity"]["status"] == "pending_review"
    assert "reason" not in me["identity"]

    chat = (await pending.open_direct(friend.id))["id"]
    assert await post(pending, chat, "hello, directly") == 201
    group = (await group_of(friend, "tea", pending))["id"]
    assert await post(friend, group, "welcome") == 201
    assert await post(pending, group, "hello, all") == "identity_unverified"
    # Creating a group is publishing too: its title reaches every member.
    own_group = await pending.raw(
        "POST",
        "/api/v1/conversations",
        json={"kind": "group", "title": "mine", "member_ids": [friend.id]},
    )
    assert_error(own_group, 422, "identity_unverified")
    # Over the WebSocket too.
    async with pending.websocket() as live:
        await live.send_message(group, "hello over the socket", "ws-1")
        refused = await live.receive_until("error")
    assert refused["error"]["code"] == "identity_unverified"
    assert refused["client_id"] == "ws-1"
    assert [m["text"] for m in await full_history(friend, group)] == ["welcome"]

    await decide(reviewer, pending, "approve")
    assert (await pending.me())["identity"]["status"] == "staff_verified"
    assert await post(pending, group, "hello, all") == 201
    assert [m["text"] for m in await full_history(friend, group)] == ["welcome", "hello, all"]


async def test_a_rejected_user_sees_why_and_still_cannot_post_to_a_group(
    review_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    rejected = await make_user("rejected", on=review_server)
    friend = await make_user("friend", on=review_server)
    reviewer = await make_staff("reviewer", on=review_server)
    await decide(reviewer, friend, "approve")
    group = (await group_of(friend, "tea", rejected))["id"]
    chat = (await friend.open_direct(rejected.id))["id"]

    await decide(reviewer, rejected, "reject", "the document number is not the holder's")

    shown = (await rejected.me())["identity"]
    assert shown["status"] == "rejected"
    assert shown["reason"] == "the document number is not the holder's"
    assert await post(rejected, group, "let me in") == "identity_unverified"
    assert await post(rejected, chat, "still talking") == 201


async def test_a_pack_may_refuse_direct_chat_to_the_unverified(
    servers: ServerPool, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    strict = servers.shared(
        policy_pack=servers.pack(
            '\n[identity.requirements.send_direct]\naccepted = ["staff_verified"]\n'
            "phone_confirmed = false\n",
            verification_mode="review",
        )
    )
    pending = await make_user("pending", on=strict)
    friend = await make_user("friend", on=strict)
    reviewer = await make_staff("reviewer", on=strict)
    await decide(reviewer, friend, "approve")
    chat = (await friend.open_direct(pending.id))["id"]

    assert await post(friend, chat, "hello") == 201
    assert await post(pending, chat, "hello back") == "identity_unverified"
    await decide(reviewer, pending, "approve")
    assert await post(pending, chat, "hello back") == 201


async def test_a_new_agreement_must_be_accepted_before_posting_to_a_group(
    servers: ServerPool, fresh_server: Server, make_user: MakeUser
) -> None:
    alice = await make_user("alice", on=fresh_server)
    bob = await make_user("bob", on=fresh_server)
    group = (await group_of(alice, "tea", bob))["id"]
    chat = (await alice.open_direct(bob.id))["id"]
    assert await post(alice, group, "before the new agreement") == 201

    # The operator publishes agreement 2014.2: the same data, a pack with the new version.
    fresh_server.stop()
    second = servers.start(
        data_dir=fresh_server.data_dir, policy_pack=servers.pack(version=NEW_VERSION)
    )
    try:
        async with moved(alice, second) as alice, moved(bob, second) as bob:
            await check_new_agreement(second, alice, bob, group, chat, make_user)
    finally:
        second.stop()


async def check_new_agreement(
    second: Server, alice: User, bob: User, group: int, chat: int, make_user: MakeUser
) -> None:
    assert (await alice.me())["agreement"] == {
        "accepted_version": AGREEMENT_VERSION,
        "current_version": NEW_VERSION,
        "must_accept": True,
    }
    async with httpx.AsyncClient(base_url=second.base_url) as http:
        assert (await http.get("/api/v1/agreement")).json()["version"] == NEW_VERSION
    assert await post(alice, group, "after the new agreement") == "agreement_outdated"
    assert await post(alice, chat, "a direct message is not publishing") == 201

    old = await alice.raw("POST", "/api/v1/agreement/accept", json={"version": AGREEMENT_VERSION})
    assert_error(old, 422, "agreement_outdated")
    assert NEW_VERSION in old.json()["error"]["message"]
    accepted = await alice.raw("POST", "/api/v1/agreement/accept", json={"version": NEW_VERSION})
    assert accepted.status_code == 200
    assert accepted.json() == {"accepted_version": NEW_VERSION}
    assert (await alice.me())["agreement"]["must_accept"] is False
    assert await post(alice, group, "after the new agreement") == 201
    # Bob has not accepted it yet.
    assert await post(bob, group, "me too") == "agreement_outdated"
    # New users accept the new version at registration, not the old one.
    async with httpx.AsyncClient(base_url=second.base_url) as http:
        late = await http.post(
            "/api/v1/accounts",
            json={
                "handle": unique_handle("late"),
                "password": PASSWORD,
                "display_name": "Late",
                "identity": fresh_identity(),
                "agreement_version": AGREEMENT_VERSION,
            },
        )
    assert_error(late, 422, "agreement_outdated")
    newcomer = await make_user("newcomer", on=second, agreement_version=NEW_VERSION)
    assert (await newcomer.me())["agreement"] == {
        "accepted_version": NEW_VERSION,
        "current_version": NEW_VERSION,
        "must_accept": False,
    }
