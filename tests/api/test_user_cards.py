"""`GET /api/v1/users?id=…`: the names a client shows for the members and senders it lists, for
the users the caller knows, and nobody else's (no directory of every handle by id)."""

from __future__ import annotations

import pytest

from tests.conftest import MakeStaff, MakeUser, User
from tests.support import assert_error, group_of

pytestmark = pytest.mark.usefixtures("no_server_errors")


async def cards(user: User, *others: User | int) -> dict[int, tuple[str, str]]:
    ids = [other if isinstance(other, int) else other.id for other in others]
    answer = await user.raw("GET", "/api/v1/users", params=[("id", i) for i in ids])
    assert answer.status_code == 200, answer.text
    return {card["id"]: (card["handle"], card["display_name"]) for card in answer.json()["users"]}


async def test_members_contacts_and_requesters_are_named_and_strangers_left_out(
    make_user: MakeUser, make_staff: MakeStaff
) -> None:
    alice, bob, carol, dave, erin = [
        await make_user(name) for name in ("alice", "bob", "carol", "dave", "erin")
    ]
    reviewer = await make_staff("reviewer")
    stranger_ids = (carol, dave, erin, reviewer.id)
    assert await cards(alice, *stranger_ids) == {}
    assert set(await cards(alice, alice)) == {alice.id}

    group = await group_of(alice, "tea", bob, carol)
    request = {"user_id": dave.id, "greeting": "hi"}
    assert (await alice.raw("POST", "/api/v1/friend-requests", json=request)).status_code == 201
    await alice.create_group("walk", [erin.id])  # erin is invited, and has not answered
    named = await cards(alice, bob, carol, dave, erin, reviewer.id)
    assert set(named) == {bob.id, carol.id, dave.id}
    profile = await carol.request("GET", "/api/v1/me")
    assert named[carol.id] == (carol.handle, profile["display_name"])
    assert set(await cards(dave, alice, bob)) == {alice.id}  # the request, both ways
    assert set(await cards(erin, alice, bob)) == {alice.id}  # who invited her
    assert set(await cards(bob, alice, carol, dave, erin)) == {alice.id, carol.id}

    # One who left is still named beside what they said; one deregistered is not.
    await carol.request("POST", f"/api/v1/conversations/{group['id']}/leave")
    assert set(await cards(alice, carol)) == {carol.id}
    assert (await carol.raw("DELETE", "/api/v1/me")).status_code == 204
    assert await cards(alice, carol) == {}


async def test_who_asks_to_join_by_link_is_named_to_those_who_run_the_group(
    make_user: MakeUser,
) -> None:
    owner, admin, member, asker = [
        await make_user(name) for name in ("olga", "adam", "mona", "asa")
    ]
    group = await group_of(owner, "choir", admin, member)
    await owner.request("PUT", f"/api/v1/conversations/{group['id']}/admins/{admin.id}")
    link = await owner.request(
        "POST", f"/api/v1/conversations/{group['id']}/links", json={"needs_approval": True}
    )
    assert await cards(owner, asker) == {}
    joined = await asker.request("POST", "/api/v1/join-links/join", json={"token": link["token"]})
    assert joined["state"] == "pending"
    assert set(await cards(owner, asker)) == {asker.id}
    assert set(await cards(admin, asker)) == {asker.id}
    assert await cards(member, asker) == {}


async def test_the_list_of_ids_is_bounded(make_user: MakeUser) -> None:
    alice = await make_user("alice")
    assert_error(await alice.raw("GET", "/api/v1/users"), 400)
    too_many = [("id", i) for i in range(1, 102)]
    assert_error(await alice.raw("GET", "/api/v1/users", params=too_many), 400)
    assert_error(await alice.raw("GET", "/api/v1/users", params={"id": "x"}), 400)
    assert (
        await alice.raw("GET", "/api/v1/users", params=[("id", alice.id)] * 100)
    ).status_code == 200
