"""Direct and group conversations: one direct per pair, group roles, the group size cap."""

from __future__ import annotations

import asyncio

from tests.conftest import MakeUser, ServerPool, User
from tests.support import assert_error


async def test_a_direct_conversation_holds_the_two_of_them(alice: User, bob: User) -> None:
    answer = await alice.raw(
        "POST", "/api/v1/conversations", json={"kind": "direct", "user_id": bob.id}
    )

    assert answer.status_code == 201
    conversation = answer.json()
    assert conversation["kind"] == "direct"
    assert conversation["title"] is None
    assert conversation["created_by"] == alice.id
    assert sorted(m["user_id"] for m in conversation["members"]) == sorted([alice.id, bob.id])
    assert {m["role"] for m in conversation["members"]} == {"member"}


async def test_there_is_one_direct_conversation_per_pair(alice: User, bob: User) -> None:
    first = await alice.open_direct(bob.id)

    for opener, other in ((alice, bob), (bob, alice)):
        again = await opener.raw(
            "POST", "/api/v1/conversations", json={"kind": "direct", "user_id": other.id}
        )
        assert again.status_code == 200
        assert again.json()["id"] == first["id"]


async def test_opening_a_direct_conversation_from_both_sides_at_once_makes_one(
    alice: User, bob: User
) -> None:
    opened = await asyncio.gather(
        *(alice.open_direct(bob.id) for _ in range(3)),
        *(bob.open_direct(alice.id) for _ in range(3)),
    )
    assert len({conversation["id"] for conversation in opened}) == 1


async def test_no_direct_conversation_with_oneself_or_with_nobody(alice: User) -> None:
    to_self = await alice.raw(
        "POST", "/api/v1/conversations", json={"kind": "direct", "user_id": alice.id}
    )
    assert_error(to_self, 400, "direct_self")
    to_nobody = await alice.raw(
        "POST", "/api/v1/conversations", json={"kind": "direct", "user_id": 2**62}
    )
    assert_error(to_nobody, 404, "user_not_found")


async def test_a_group_has_its_creator_as_owner_and_the_others_as_members(
    alice: User, bob: User, carol: User
) -> None:
    answer = await alice.raw(
        "POST",
        "/api/v1/conversations",
        json={"kind": "group", "title": "  Book club ", "member_ids": [bob.id, carol.id, bob.id]},
    )

    assert answer.status_code == 201
    group = answer.json()
    assert group["kind"] == "group"
    assert group["title"] == "Book club"
    assert group["members"] == [
        {"user_id": alice.id, "role": "owner"},
        {"user_id": bob.id, "role": "member"},
        {"user_id": carol.id, "role": "member"},
    ]
    for member in (bob, carol):
        assert await member.request("GET", f"/api/v1/conversations/{group['id']}") == group


async def test_every_member_sees_the_new_conversation(alice: User, bob: User, carol: User) -> None:
    group = await alice.create_group("Book club", [bob.id])
    for member in (alice, bob):
        listed = await member.request("GET", "/api/v1/conversations")
        assert [c["id"] for c in listed["conversations"]] == [group["id"]]
        events = (await member.sync())["events"]
        assert [(e["type"], e["conversation"]) for e in events] == [("conversation", group)]
    assert (await carol.request("GET", "/api/v1/conversations")) == {"conversations": []}
    assert (await carol.sync())["events"] == []
    assert_error(await carol.raw("GET", f"/api/v1/conversations/{group['id']}"), 404)


async def test_a_group_with_an_unknown_member_is_not_created(alice: User, bob: User) -> None:
    answer = await alice.raw(
        "POST",
        "/api/v1/conversations",
        json={"kind": "group", "title": "Ghosts", "member_ids": [bob.id, 2**62]},
    )
    assert_error(answer, 404, "user_not_found")
    assert (await bob.request("GET", "/api/v1/conversations")) == {"conversations": []}


async def test_groups_are_capped_at_the_configured_size(
    servers: ServerPool, make_user: MakeUser
) -> None:
    capped = servers.shared(limits__max_group_members=3)
    owner, *others = [await make_user(name, on=capped) for name in ("olga", "pat", "quinn", "rui")]

    full = await owner.create_group("Three of us", [others[0].id, others[1].id, others[0].id])
    assert len(full["members"]) == 3
    too_many = await owner.raw(
        "POST",
        "/api/v1/conversations",
        json={"kind": "group", "title": "Four of us", "member_ids": [u.id for u in others]},
    )
    assert_error(too_many, 422, "group_too_large")
    conversations = await owner.request("GET", "/api/v1/conversations")
    assert [c["id"] for c in conversations["conversations"]] == [full["id"]]
