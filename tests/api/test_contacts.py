"""Contacts under the built-in packs: finding people (by phone only where they allow it, with
no oracle), friend requests and their greetings, friends and remarks, blocking that is never
told, and cn-2014's friends-first rule on direct messages."""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

import httpx
import pytest

from tests.api.test_sanctions import passport_identity
from tests.conftest import MakeStaff, MakeUser, Server, ServerPool, User, fresh_identity
from tests.support import (
    FLAGGED,
    applied,
    assert_error,
    befriend,
    full_sync,
    send,
    sent,
)

pytestmark = pytest.mark.usefixtures("no_server_errors")

REQUESTS = "/api/v1/friend-requests"
CONTACTS = "/api/v1/contacts"
GREETINGS = 3  # the built-in packs' contacts.stranger_greetings


@pytest.fixture
def cn(servers: ServerPool) -> Server:
    """The built-in cn-2014 pack: direct messages need friendship first. Lookups by phone are
    not throttled, so that their timing can be measured."""
    return servers.shared(policy_pack="cn-2014", limits__phone_lookups_per_user="100000/minute")


@pytest.fixture
def eu(servers: ServerPool) -> Server:
    """The built-in eu-dsa pack: strangers may message each other."""
    return servers.shared(policy_pack="eu-dsa")


async def people(make_user: MakeUser, host: Server, *names: str) -> list[User]:
    return [await make_user(name, on=host) for name in names]


async def request(user: User, other: User, greeting: str = "你好") -> httpx.Response:
    return await user.raw("POST", REQUESTS, json={"user_id": other.id, "greeting": greeting})


async def answer(user: User, requester: User, what: str) -> httpx.Response:
    return await user.raw("POST", f"{REQUESTS}/{requester.id}/{what}")


async def open_direct(user: User, other: User) -> httpx.Response:
    return await user.raw(
        "POST", "/api/v1/conversations", json={"kind": "direct", "user_id": other.id}
    )


async def contact_of(user: User, other: User) -> dict[str, Any] | None:
    listed = (await user.request("GET", CONTACTS))["contacts"]
    return next((c for c in listed if c["user_id"] == other.id), None)


async def waiting_for(user: User) -> list[dict[str, Any]]:
    return (await user.request("GET", REQUESTS))["requests"]


def of_type(events: list[dict[str, Any]], event_type: str) -> list[dict[str, Any]]:
    return [event for event in events if event["type"] == event_type]


# Friends first ----------------------------------------------------------------------------------


async def test_strangers_chat_only_once_friends_and_no_longer_once_removed(
    cn: Server, make_user: MakeUser
) -> None:
    alice, bob = await people(make_user, cn, "alice", "bob")
    assert_error(await open_direct(alice, bob), 422, "messages_not_accepted")

    asked = await request(alice, bob, "我是 Alice 周末一起爬山的")
    assert asked.status_code == 201, asked.text
    assert asked.json()["state"] == "pending" and asked.json()["greetings"] == 1
    (waiting,) = await waiting_for(bob)
    assert (waiting["requester_id"], waiting["greeting"]) == (
        alice.id,
        "我是 Alice 周末一起爬山的",
    )
    accepted = await answer(bob, alice, "accept")
    assert accepted.json()["state"] == "accepted"
    assert await waiting_for(bob) == []
    for one, other in ((alice, bob), (bob, alice)):
        assert (await contact_of(one, other) or {})["friend"] is True

    chat = (await alice.open_direct(bob.id))["id"]
    await sent(alice, chat, "到了吗")
    await sent(bob, chat, "到了")
    assert_error(await request(alice, bob), 409, "already_friends")

    removed = await bob.raw("DELETE", f"{CONTACTS}/{alice.id}")
    assert removed.status_code == 204
    for one, other in ((alice, bob), (bob, alice)):
        assert await contact_of(one, other) is None
        assert_error(await send(one, chat), 422, "messages_not_accepted")
    assert_error(await bob.raw("DELETE", f"{CONTACTS}/{alice.id}"), 404, "contact_not_found")


async def test_a_stranger_greets_at_most_as_often_as_the_pack_allows_before_an_answer(
    cn: Server, make_user: MakeUser
) -> None:
    alice, bob = await people(make_user, cn, "alice", "bob")
    for count in range(1, GREETINGS + 1):
        greeted = await request(alice, bob, f"第{count}次问好")
        assert greeted.json()["greetings"] == count
    assert_error(await request(alice, bob, "再问一次"), 422, "greeting_limit")
    (waiting,) = await waiting_for(bob)
    assert (waiting["greeting"], waiting["greetings"]) == (f"第{GREETINGS}次问好", GREETINGS)

    # Declined, she is told, and may ask again from the start.
    assert (await answer(bob, alice, "decline")).json()["state"] == "declined"
    events, _ = await full_sync(alice)
    assert of_type(events, "friend_request")[-1]["request"]["state"] == "declined"
    assert_error(await answer(bob, alice, "accept"), 404, "friend_request_not_found")
    assert (await request(alice, bob, "还是我")).json()["greetings"] == 1


async def test_an_ignored_request_leaves_the_list_and_its_requester_none_the_wiser(
    cn: Server, make_user: MakeUser
) -> None:
    alice, bob = await people(make_user, cn, "alice", "bob")
    await request(alice, bob, "你好")
    assert (await answer(bob, alice, "ignore")).json()["state"] == "ignored"
    assert await waiting_for(bob) == []
    _, bobs_cursor = await full_sync(bob)

    again = await request(alice, bob, "在吗")
    assert (again.json()["state"], again.json()["greetings"]) == ("pending", 2)
    alices_events, _ = await full_sync(alice)
    assert {e["request"]["state"] for e in of_type(alices_events, "friend_request")} == {"pending"}
    assert (await full_sync(bob, bobs_cursor))[0] == []  # the new greeting reached nobody
    # He may still change his mind.
    assert (await answer(bob, alice, "accept")).json()["state"] == "accepted"


async def test_asking_someone_whose_request_waits_accepts_it(
    cn: Server, make_user: MakeUser
) -> None:
    alice, bob = await people(make_user, cn, "alice", "bob")
    await request(alice, bob, "你好")
    crossed = await request(bob, alice, "你也好")
    assert crossed.status_code == 201
    assert (crossed.json()["requester_id"], crossed.json()["state"]) == (alice.id, "accepted")
    assert (await contact_of(alice, bob) or {})["friend"] is True
    assert await waiting_for(alice) == await waiting_for(bob) == []


async def test_a_requester_who_blocks_has_taken_the_request_back_while_the_block_lasts(
    cn: Server, make_user: MakeUser
) -> None:
    alice, bob = await people(make_user, cn, "alice", "bob")
    await request(alice, bob, "你好")
    await alice.request("PUT", f"{CONTACTS}/{bob.id}/block")
    assert await waiting_for(bob) == []
    assert_error(await answer(bob, alice, "accept"), 404, "friend_request_not_found")
    crossed = await request(bob, alice, "你也好")  # goes nowhere, and befriends nobody
    assert (crossed.json()["requester_id"], crossed.json()["state"]) == (bob.id, "pending")
    assert await contact_of(bob, alice) is None

    await alice.request("DELETE", f"{CONTACTS}/{bob.id}/block")
    assert [r["requester_id"] for r in await waiting_for(bob)] == [alice.id]
    assert (await answer(bob, alice, "accept")).json()["state"] == "accepted"
    assert await waiting_for(alice) == []  # his own request is settled with hers


async def test_a_greeting_is_checked_and_each_wrong_request_refused(
    cn: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    alice, bob = await people(make_user, cn, "alice", "bob")
    assert_error(await request(alice, bob, "嗨" * 101), 400, "greeting_too_long")
    assert_error(await request(alice, bob, "你好\x07"), 400, "greeting_invalid")
    assert_error(await request(alice, bob, "再不还钱砍死你"), 422, "content_blocked")
    assert_error(await request(alice, bob, FLAGGED), 422, "content_blocked")  # flagged: unsent
    assert_error(await request(alice, alice), 400, "contact_self")
    staff = await make_staff("reviewer", on=cn)
    nobody = await alice.raw("POST", REQUESTS, json={"user_id": 999_999_999, "greeting": ""})
    assert_error(nobody, 404, "user_not_found")
    assert_error(await request(alice, staff), 404, "user_not_found")
    assert await waiting_for(bob) == []
    assert_error(await answer(bob, alice, "accept"), 404, "friend_request_not_found")


# Remarks ----------------------------------------------------------------------------------------


async def test_a_friend_gets_a_remark_held_to_the_rules_of_names(
    cn: Server, make_user: MakeUser
) -> None:
    """A remark is a name in form, and holds no links or contact details; but only its writer
    reads it, so a reserved term misleads nobody (tests/api/test_name_fields.py walks the rest)."""
    alice, bob, carol = await people(make_user, cn, "alice", "bob", "carol")
    await befriend(alice, bob)
    remark = f"{CONTACTS}/{bob.id}/remark"
    named = await alice.request("PUT", remark, json={"remark": " 老同学 "})
    assert (named["user_id"], named["remark"], named["friend"]) == (bob.id, "老同学", True)
    assert (await contact_of(alice, bob) or {})["remark"] == "老同学"
    assert (await contact_of(bob, alice) or {})["remark"] is None  # his side is his

    assert_error(
        await alice.raw("PUT", remark, json={"remark": "www.example.com"}), 422, "name_url"
    )
    colleague = await alice.request("PUT", remark, json={"remark": "新华社老王"})
    assert colleague["remark"] == "新华社老王"
    assert_error(await alice.raw("PUT", remark, json={"remark": "x" * 65}), 400, "name_invalid")
    stranger = await alice.raw("PUT", f"{CONTACTS}/{carol.id}/remark", json={"remark": "某人"})
    assert_error(stranger, 404, "contact_not_found")
    cleared = await alice.request("PUT", remark, json={"remark": None})
    assert cleared["remark"] is None


# Blocking ---------------------------------------------------------------------------------------


async def test_a_blocked_friend_is_refused_as_a_stranger_is_and_never_told(
    cn: Server, make_user: MakeUser
) -> None:
    alice, bob, mallory = await people(make_user, cn, "alice", "bob", "mallory")
    await befriend(mallory, bob)
    chat = (await mallory.open_direct(bob.id))["id"]
    await sent(mallory, chat, "你好")
    _, mallorys_cursor = await full_sync(mallory)

    blocked = await bob.request("PUT", f"{CONTACTS}/{mallory.id}/block")
    assert (blocked["blocked"], blocked["friend"]) == (True, True)
    refused = await send(mallory, chat)
    stranger = await open_direct(alice, bob)
    assert refused.status_code == stranger.status_code == 422
    assert refused.json() == stranger.json()
    await sent(bob, chat, "我还能说话")  # the block stops her, not him

    # Her requests and invitations go nowhere, and look as if they went.
    await bob.raw("DELETE", f"{CONTACTS}/{mallory.id}")
    greeted = await request(mallory, bob, "怎么删我了")
    assert (greeted.status_code, greeted.json()["state"]) == (201, "pending")
    assert await waiting_for(bob) == []
    group = await mallory.create_group("聚会", [bob.id, alice.id])
    assert group["invited"] == [bob.id, alice.id]
    bobs_invitations = (await bob.request("GET", "/api/v1/invitations"))["invitations"]
    assert group["id"] not in [i["conversation_id"] for i in bobs_invitations]
    alices_invitations = (await alice.request("GET", "/api/v1/invitations"))["invitations"]
    assert group["id"] in [i["conversation_id"] for i in alices_invitations]

    mallorys_events, _ = await full_sync(mallory, mallorys_cursor)
    assert all(not e["contact"]["blocked"] for e in of_type(mallorys_events, "contact"))
    bobs_events, _ = await full_sync(bob)
    assert not any(e["request"]["requester_id"] == mallory.id and e["request"]["greeting"]
                   == "怎么删我了" for e in of_type(bobs_events, "friend_request"))  # fmt: skip

    unblocked = await bob.request("DELETE", f"{CONTACTS}/{mallory.id}/block")
    assert unblocked["blocked"] is False
    assert (await answer(bob, mallory, "accept")).json()["state"] == "accepted"
    await sent(mallory, chat, "和好了")


async def test_under_eu_dsa_strangers_chat_and_a_block_still_stops_them(
    eu: Server, make_user: MakeUser
) -> None:
    alice, bob = [
        await make_user(name, on=eu, identity=passport_identity()) for name in ("alice", "bob")
    ]
    chat = (await alice.open_direct(bob.id))["id"]
    await sent(alice, chat, "Hello")
    await bob.request("PUT", f"{CONTACTS}/{alice.id}/block")
    assert_error(await send(alice, chat), 422, "messages_not_accepted")
    await bob.request("DELETE", f"{CONTACTS}/{alice.id}/block")
    await sent(alice, chat, "Hello again")


async def test_a_closed_account_is_refused_every_contact_action(
    cn: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    alice, bob = await people(make_user, cn, "alice", "bob")
    await request(bob, alice, "你好")
    admin = await make_staff("admin", on=cn)
    await applied(admin, "user", alice.id, "close", reason="a fraud ring")
    for answered in (
        await request(alice, bob),
        await answer(alice, bob, "accept"),
        await alice.raw("PUT", f"{CONTACTS}/{bob.id}/block"),
        await alice.raw("PUT", f"{CONTACTS}/privacy", json={"findable_by_phone": True}),
        await alice.raw("POST", f"{CONTACTS}/search/handle", json={"handle": bob.handle}),
    ):
        assert_error(answered, 403, "account_closed")


async def test_a_group_adds_only_friends_at_once_and_a_blocker_looks_invited(
    cn: Server, make_user: MakeUser
) -> None:
    """Under cn-2014 a group of two would be a way round friends-first: a stranger is asked,
    not added; whoever blocks the inviter gets nothing and looks asked, with no 500."""
    alice, bob, carol, dave = await people(make_user, cn, "alice", "bob", "carol", "dave")
    await befriend(alice, bob)
    await carol.raw("PUT", f"{CONTACTS}/{alice.id}/block")
    group = (await alice.create_group("读书会", []))["id"]
    members = f"/api/v1/conversations/{group}/members"
    answered = await alice.request("POST", members, json={"member_ids": [bob.id, dave.id]})
    assert (answered["added"], answered["invited"]) == ([bob.id], [dave.id])
    assert [
        i["conversation_id"]
        for i in (await dave.request("GET", "/api/v1/invitations"))["invitations"]
    ] == [group]
    only_blocker = await alice.request("POST", members, json={"member_ids": [carol.id]})
    assert (only_blocker["added"], only_blocker["invited"]) == ([], [carol.id])
    assert (await carol.request("GET", "/api/v1/invitations"))["invitations"] == []


async def test_a_suspended_user_greets_no_stranger(
    cn: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    alice, bob = await people(make_user, cn, "alice", "bob")
    reviewer = await make_staff("reviewer", on=cn)
    await applied(reviewer, "user", alice.id, "suspend_updates", days=7)
    assert_error(await request(alice, bob, "你好"), 403, "updates_suspended")
    assert await waiting_for(bob) == []


# Finding people ---------------------------------------------------------------------------------


async def find(user: User, **query: str) -> httpx.Response:
    (how,) = query
    return await user.raw("POST", f"{CONTACTS}/search/{how}", json=query)


async def test_a_handle_finds_its_user_exactly(cn: Server, make_user: MakeUser) -> None:
    alice, bob = await people(make_user, cn, "alice", "bob")
    for typed in (bob.handle, f" {bob.handle.upper()} "):  # handles ignore case
        found = (await find(alice, handle=typed)).json()["users"]
        assert found == [{"id": bob.id, "handle": bob.handle, "display_name": "Bob"}]
    assert (await find(alice, handle=bob.handle + "x")).json() == {"users": []}
    assert_error(await find(alice, handle="?"), 400, "handle_invalid")


def unregistered_phone() -> str:
    return f"+86139{random.randrange(10**8):08d}"


async def test_a_phone_finds_only_who_allows_it_and_tells_nothing_of_the_others(
    cn: Server, make_user: MakeUser
) -> None:
    alice = await make_user("alice", on=cn)
    bob_identity, carol_identity = fresh_identity(), fresh_identity()
    bob = await make_user("bob", on=cn, identity=bob_identity)
    await make_user("carol", on=cn, identity=carol_identity)
    assert (await bob.request("GET", f"{CONTACTS}/privacy")) == {"findable_by_phone": False}
    assert (await find(alice, phone=bob_identity["phone"])).json() == {"users": []}

    allowed = await bob.request("PUT", f"{CONTACTS}/privacy", json={"findable_by_phone": True})
    assert allowed == {"findable_by_phone": True}
    national = bob_identity["phone"].removeprefix("+86")  # the pack's region needs no prefix
    for phone in (bob_identity["phone"], national):
        (found,) = (await find(alice, phone=phone)).json()["users"]
        assert found["id"] == bob.id

    not_allowed = await find(alice, phone=carol_identity["phone"])
    nobodys = await find(alice, phone=unregistered_phone())
    assert (not_allowed.status_code, not_allowed.json()) == (200, {"users": []})
    assert (nobodys.status_code, nobodys.json()) == (not_allowed.status_code, not_allowed.json())
    assert not_allowed.headers.keys() == nobodys.headers.keys()
    assert_error(await find(alice, phone="12345"), 422, "phone_invalid")
    assert carol_identity["phone"] not in cn.log()


async def test_a_phone_lookup_takes_as_long_for_a_hidden_number_as_for_an_unknown_one(
    cn: Server, make_user: MakeUser
) -> None:
    """Interleaved, so that load on the machine weighs on both alike; medians, so that a pause
    does not."""
    alice = await make_user("alice", on=cn)
    hidden = fresh_identity()
    await make_user("carol", on=cn, identity=hidden)
    times: dict[str, list[float]] = {"hidden": [], "unknown": []}
    for _ in range(40):
        for kind, phone in (("hidden", hidden["phone"]), ("unknown", unregistered_phone())):
            started = time.perf_counter()
            answered = await find(alice, phone=phone)
            times[kind].append(time.perf_counter() - started)
            assert answered.json() == {"users": []}
    hidden_median, unknown_median = (statistics.median(times[k]) for k in ("hidden", "unknown"))
    assert abs(hidden_median - unknown_median) < 0.5 * min(hidden_median, unknown_median) + 0.002


# Events -----------------------------------------------------------------------------------------


async def test_requests_acceptances_removals_and_blocks_arrive_on_sync_and_the_websocket(
    cn: Server, make_user: MakeUser
) -> None:
    alice, bob, mallory = await people(make_user, cn, "alice", "bob", "mallory")
    _, alices_start = await full_sync(alice)
    _, mallorys_start = await full_sync(mallory)
    async with bob.websocket() as live:
        await request(alice, bob, "你好")
        pushed = await live.receive_until("friend_request")
        assert (pushed["request"]["requester_id"], pushed["request"]["state"]) == (
            alice.id,
            "pending",
        )
        await answer(bob, alice, "accept")
        assert (await live.receive_until("contact"))["contact"]["user_id"] == alice.id

    await bob.request("PUT", f"{CONTACTS}/{alice.id}/remark", json={"remark": "阿丽"})
    await alice.raw("DELETE", f"{CONTACTS}/{bob.id}")
    await bob.request("PUT", f"{CONTACTS}/{mallory.id}/block")

    alices, _ = await full_sync(alice, alices_start)
    assert [e["request"]["state"] for e in of_type(alices, "friend_request")] == [
        "pending",
        "accepted",
    ]
    assert [
        (c["contact"]["user_id"], c["contact"]["friend"]) for c in of_type(alices, "contact")
    ] == [
        (bob.id, True),
        (bob.id, False),
    ]
    bobs, _ = await full_sync(bob)
    assert [
        (
            c["contact"]["user_id"],
            c["contact"]["friend"],
            c["contact"]["remark"],
            c["contact"]["blocked"],
        )
        for c in of_type(bobs, "contact")
    ] == [
        (alice.id, True, None, False),
        (alice.id, True, "阿丽", False),
        (alice.id, False, "阿丽", False),
        (mallory.id, False, None, True),
    ]
    assert (await full_sync(mallory, mallorys_start))[0] == []  # no word of the block


@pytest.mark.parametrize("not_a_boolean", [0, 0.0, 1, "yes", "false", None])
async def test_only_true_or_false_turns_finding_by_phone_on_or_off(
    make_user: MakeUser, not_a_boolean: object
) -> None:
    dora = await make_user("dora")
    answer = await dora.raw("PUT", f"{CONTACTS}/privacy", json={"findable_by_phone": not_a_boolean})
    assert_error(answer, 400, "invalid_request")
    assert (await dora.request("GET", f"{CONTACTS}/privacy")) == {"findable_by_phone": False}
