"""Group life: inviting (at once while small, by consent past the pack's size, only the verified
past another), join links (expiry, revocation, a size cap, approval), leaving, removing, admins,
ownership, dissolving, settings and mutes; each change a `conversation` event in order with the
messages, kept in the membership history reviewers read; sanctions of the user and the group."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import MakeStaff, MakeUser, Server, ServerPool, User
from tests.support import applied, assert_error, full_sync, group_of, lifted, send, sent

BLOCKED = "习近平"  # a protected name: refused as a title
LINKS = "/api/v1/join-links/join"
PREVIEW = "/api/v1/join-links/preview"


def group_path(group_id: int, tail: str = "") -> str:
    return f"/api/v1/conversations/{group_id}{tail}"


async def invite(user: User, group_id: int, *members: User) -> Any:
    return await user.raw(
        "POST", group_path(group_id, "/members"), json={"member_ids": [m.id for m in members]}
    )


async def new_link(owner: User, group_id: int, **body: Any) -> dict[str, Any]:
    answer = await owner.raw("POST", group_path(group_id, "/links"), json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def changes(user: User) -> list[dict[str, Any]]:
    """The `change` of each group event the user received, in order."""
    events, _ = await full_sync(user)
    return [e["change"] for e in events if e["type"] == "conversation" and "change" in e]


async def members_of(user: User, group_id: int) -> dict[int, str]:
    group = await user.request("GET", group_path(group_id))
    return {m["user_id"]: m["role"] for m in group["members"]}


async def history(reviewer: User, group_id: int) -> list[tuple[int, str, int | None]]:
    page = await reviewer.request("GET", f"/api/v1/admin/groups/{group_id}/history")
    return [(e["user_id"], e["change"], e["actor_id"]) for e in page["history"]]


@pytest.fixture
def small(servers: ServerPool) -> Server:
    """Identities reviewed by staff, and small thresholds: consent past 3 members, a verified
    identity past 4, no join by link past 5."""
    return servers.shared(
        policy_pack=servers.pack(
            verification_mode="review",
            invite_consent_above=3,
            verified_identity_above=4,
            link_join_max_members=5,
        )
    )


async def verified(make_user: MakeUser, reviewer: User, name: str, server: Server) -> User:
    user = await make_user(name, on=server)
    answer = await reviewer.raw(
        "POST", f"/api/v1/admin/identities/{user.id}/decision", json={"decision": "approve"}
    )
    assert answer.status_code == 200, answer.text
    return user


# Inviting ----------------------------------------------------------------------------------------


async def test_an_invitee_joins_at_once_while_the_group_is_small_and_every_member_is_told(
    alice: User, bob: User, carol: User, reviewer: User
) -> None:
    group = (await group_of(alice, "茶友", bob))["id"]

    answer = await invite(bob, group, carol)  # every member invites unless the group says not

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"added": [carol.id], "invited": []}
    assert await members_of(carol, group) == {
        alice.id: "owner",
        bob.id: "member",
        carol.id: "member",
    }
    for member in (alice, bob, carol):
        assert (await changes(member))[-1] == {
            "action": "joined",
            "by": bob.id,
            "user_ids": [carol.id],
        }
    assert (carol.id, "joined", bob.id) in await history(reviewer, group)
    assert_error(await invite(alice, group, carol), 409, "already_member")


async def test_only_the_owner_and_admins_invite_where_the_group_says_so(
    alice: User, bob: User, carol: User
) -> None:
    group = (await group_of(alice, "茶友", bob))["id"]
    await alice.request("PATCH", group_path(group), json={"members_invite": False})

    assert_error(await invite(bob, group, carol), 403, "group_admin_required")
    assert (await invite(alice, group, carol)).status_code == 200


async def test_past_invite_consent_above_an_invitation_waits_for_the_invitee(
    small: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    reviewer = await make_staff("reviewer", on=small)
    owner, *others = [await verified(make_user, reviewer, n, small) for n in "abcd"]
    group = (await owner.create_group("茶友", []))["id"]
    added = await invite(owner, group, others[0], others[1])  # 3 members: at once
    assert added.json() == {"added": [others[0].id, others[1].id], "invited": []}

    waiting = await invite(owner, group, others[2])  # a 4th: past 3, by consent

    assert waiting.json() == {"added": [], "invited": [others[2].id]}
    assert others[2].id not in await members_of(owner, group)
    events, _ = await full_sync(others[2])
    assert events[-1]["type"] == "invitation"
    await others[2].accept_invitation(group)
    assert others[2].id in await members_of(owner, group)
    assert (others[2].id, "joined", owner.id) in await history(reviewer, group)


async def test_an_invitee_added_meanwhile_cannot_accept_the_older_invitation(
    alice: User, bob: User, carol: User
) -> None:
    group = (await alice.create_group("茶友", [carol.id]))["id"]  # carol invited at creation
    await invite(alice, group, carol)  # and then added: the group is small

    assert_error(
        await carol.raw("POST", f"/api/v1/invitations/{group}/accept"), 409, "already_member"
    )


async def waiting_invitations(user: User) -> list[int]:
    page = await user.request("GET", "/api/v1/invitations")
    return [invitation["conversation_id"] for invitation in page["invitations"]]


async def join_otherwise(way: str, owner: User, group: int, user: User) -> None:
    """`user`, invited to the group, joins it without accepting: by a link, by an approved
    request, or added at once by a later invitation."""
    if way == "added":
        assert (await invite(owner, group, user)).json()["added"] == [user.id]
        return
    link = await new_link(owner, group, needs_approval=way == "request")
    await user.request("POST", LINKS, json={"token": link["token"]})
    if way == "request":
        await owner.request("POST", group_path(group, f"/join-requests/{user.id}/approve"))


@pytest.mark.parametrize("way", ["link", "request", "added"])
async def test_joining_any_other_way_uses_the_invitation_up_so_a_removed_member_stays_out(
    way: str, alice: User, carol: User, reviewer: User
) -> None:
    group = (await alice.create_group("茶友", [carol.id]))["id"]  # carol invited, not added
    assert await waiting_invitations(carol) == [group]

    await join_otherwise(way, alice, group, carol)

    assert carol.id in await members_of(alice, group)
    assert await waiting_invitations(carol) == []
    accept = f"/api/v1/invitations/{group}/accept"
    assert_error(await carol.raw("POST", accept), 409, "already_member")
    assert (await alice.raw("DELETE", group_path(group, f"/members/{carol.id}"))).status_code == 204

    assert_error(await carol.raw("POST", accept), 404, "invitation_not_found")
    assert_error(
        await carol.raw("POST", f"/api/v1/invitations/{group}/decline"),
        404,
        "invitation_not_found",
    )
    assert carol.id not in await members_of(alice, group)
    assert_error(await send(carol, group), 404, "conversation_not_found")
    assert [c for uid, c, _ in await history(reviewer, group) if uid == carol.id] == [
        "joined",
        "removed",
    ]


@pytest.mark.parametrize("out", ["removed_by_an_admin", "left"])
async def test_a_member_out_again_needs_a_new_invitation_to_come_back(
    out: str, alice: User, bob: User, carol: User
) -> None:
    group = (await alice.create_group("茶友", [bob.id, carol.id]))["id"]
    await bob.accept_invitation(group)
    await alice.request("PUT", group_path(group, f"/admins/{bob.id}"))
    link = await new_link(alice, group)
    await carol.request("POST", LINKS, json={"token": link["token"]})  # not by her invitation

    if out == "left":
        assert (await carol.raw("POST", group_path(group, "/leave"))).status_code == 204
    else:
        removed = await bob.raw("DELETE", group_path(group, f"/members/{carol.id}"))
        assert removed.status_code == 204

    assert await waiting_invitations(carol) == []
    assert_error(
        await carol.raw("POST", f"/api/v1/invitations/{group}/accept"), 404, "invitation_not_found"
    )
    assert carol.id not in await members_of(alice, group)
    # A new invitation is a new way in (the group is small: she is added at once).
    assert (await invite(bob, group, carol)).json() == {"added": [carol.id], "invited": []}
    assert carol.id in await members_of(alice, group)


async def test_past_verified_identity_above_only_a_verified_identity_joins(
    small: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    reviewer = await make_staff("reviewer", on=small)
    owner, *others = [await verified(make_user, reviewer, n, small) for n in "abcde"]
    pending = await make_user("pending", on=small)  # nobody reviewed this identity
    group = (await owner.create_group("茶友", []))["id"]
    await invite(owner, group, others[0], others[1])
    await invite(owner, group, others[2])
    await others[2].accept_invitation(group)  # 4 members: as many as any identity may make

    await invite(owner, group, pending, others[3])

    assert_error(
        await pending.raw("POST", f"/api/v1/invitations/{group}/accept"), 422, "identity_unverified"
    )
    await others[3].accept_invitation(group)
    assert len(await members_of(owner, group)) == 5


# Join links --------------------------------------------------------------------------------------


async def test_a_join_link_admits_until_revoked_or_expired(
    alice: User, bob: User, carol: User, make_user: MakeUser, reviewer: User
) -> None:
    group = (await group_of(alice, "茶友", bob))["id"]
    assert_error(
        await bob.raw("POST", group_path(group, "/links"), json={}), 403, "group_admin_required"
    )
    link = await new_link(alice, group)
    assert link["needs_approval"] is False
    listed = await alice.request("GET", group_path(group, "/links"))
    assert [found["id"] for found in listed["links"]] == [link["id"]]
    # What a scan of its QR code shows before joining: the group, its size, how one joins.
    seen = await carol.request("POST", PREVIEW, json={"token": link["token"]})
    assert seen == {
        "conversation_id": group,
        "title": "茶友",
        "members": 2,
        "needs_approval": False,
        "expires_at": link["expires_at"],
        "member": False,
    }

    joined = await carol.request("POST", LINKS, json={"token": link["token"]})

    assert joined["state"] == "joined"
    assert carol.id in {m["user_id"] for m in joined["conversation"]["members"]}
    assert (carol.id, "joined", alice.id) in await history(reviewer, group)
    assert_error(
        await carol.raw("POST", LINKS, json={"token": link["token"]}), 409, "already_member"
    )
    assert (await carol.request("POST", PREVIEW, json={"token": link["token"]}))["member"]
    for path in (LINKS, PREVIEW):
        assert_error(
            await carol.raw("POST", path, json={"token": "nosuchtoken"}), 404, "join_link_not_found"
        )

    assert (await alice.raw("DELETE", group_path(group, f"/links/{link['id']}"))).status_code == 204
    dave = await make_user("dave")
    for path in (LINKS, PREVIEW):
        assert_error(
            await dave.raw("POST", path, json={"token": link["token"]}), 422, "join_link_revoked"
        )
    assert (await alice.request("GET", group_path(group, "/links")))["links"] == []

    brief = await new_link(alice, group, expires_in_seconds=1)
    await asyncio.sleep(1.2)
    assert_error(
        await dave.raw("POST", LINKS, json={"token": brief["token"]}), 422, "join_link_expired"
    )


async def test_past_link_join_max_members_a_link_admits_nobody(
    small: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    reviewer = await make_staff("reviewer", on=small)
    owner, *others = [await verified(make_user, reviewer, n, small) for n in "abcdef"]
    group = (await owner.create_group("茶友", []))["id"]
    link = await new_link(owner, group)
    for other in others[:4]:  # up to 5 members
        assert (await other.request("POST", LINKS, json={"token": link["token"]}))[
            "state"
        ] == "joined"

    assert_error(
        await others[4].raw("POST", LINKS, json={"token": link["token"]}), 422, "link_join_closed"
    )


async def test_a_link_that_needs_approval_makes_a_request_for_an_admin(
    alice: User, bob: User, carol: User, make_user: MakeUser, reviewer: User
) -> None:
    group = (await group_of(alice, "茶友", bob))["id"]
    link = await new_link(alice, group, needs_approval=True)
    dave = await make_user("dave")

    asked = await carol.request("POST", LINKS, json={"token": link["token"]})
    await dave.request("POST", LINKS, json={"token": link["token"]})

    assert asked == {"conversation_id": group, "state": "pending"}
    assert carol.id not in await members_of(alice, group)
    requests = (await alice.request("GET", group_path(group, "/join-requests")))["requests"]
    assert [r["user_id"] for r in requests] == sorted([carol.id, dave.id])
    approve = group_path(group, f"/join-requests/{carol.id}/approve")
    assert_error(await bob.raw("POST", approve), 403, "group_admin_required")
    joined = await alice.request("POST", approve)
    assert carol.id in {m["user_id"] for m in joined["members"]}
    assert (carol.id, "joined", alice.id) in await history(reviewer, group)
    declined = await alice.request("POST", group_path(group, f"/join-requests/{dave.id}/decline"))
    assert declined["state"] == "declined"
    assert_error(await alice.raw("POST", approve), 404, "join_request_not_found")
    assert dave.id not in await members_of(alice, group)


async def test_the_owner_and_admins_alone_hear_of_a_request_to_join_at_once(
    alice: User, bob: User, carol: User, make_user: MakeUser
) -> None:
    """The owner and admins need not look again to see who asks: a `conversation` event tells
    them in the request's transaction; the other members and the asker hear nothing of it."""
    dave, erin = [await make_user(name) for name in ("dave", "erin")]
    group = (await group_of(alice, "茶友", bob, erin))["id"]
    await alice.request("PUT", group_path(group, f"/admins/{bob.id}"))
    link = await new_link(alice, group, needs_approval=True)
    before = {user.handle: (await full_sync(user))[1] for user in (carol, erin)}

    await carol.request("POST", LINKS, json={"token": link["token"]})
    await dave.request("POST", LINKS, json={"token": link["token"]})

    for manager in (alice, bob):
        events, _ = await full_sync(manager)
        asked = [e for e in events if e.get("change", {}).get("action") == "join_requested"]
        assert [e["change"] for e in asked] == [
            {"action": "join_requested", "by": asker.id, "user_ids": [asker.id]}
            for asker in (carol, dave)
        ]
        assert {e["conversation"]["id"] for e in asked} == {group}
    for outsider in (carol, erin):  # the asker, and a member neither owner nor admin
        assert (await full_sync(outsider, before[outsider.handle]))[0] == []

    await bob.request("POST", group_path(group, f"/join-requests/{dave.id}/decline"))
    await alice.request("POST", group_path(group, f"/join-requests/{carol.id}/approve"))

    # A request declined by one admin leaves the others' lists at once; one approved is the
    # `joined` everyone hears.
    for manager in (alice, bob):
        assert (await changes(manager))[-2:] == [
            {"action": "join_declined", "by": bob.id, "user_ids": [dave.id]},
            {"action": "joined", "by": alice.id, "user_ids": [carol.id]},
        ]
    assert [c["action"] for c in await changes(erin)][-1] == "joined"
    assert not [c for c in await changes(erin) if c["action"].startswith("join_")]


async def test_a_request_to_join_withdrawn_by_deregistering_is_told_to_the_owner_and_admins(
    alice: User, bob: User, carol: User
) -> None:
    group = (await group_of(alice, "茶友", bob))["id"]
    link = await new_link(alice, group, needs_approval=True)
    await carol.request("POST", LINKS, json={"token": link["token"]})

    assert (await carol.raw("DELETE", "/api/v1/me")).status_code == 204

    assert (await changes(alice))[-1] == {
        "action": "join_withdrawn",
        "by": carol.id,
        "user_ids": [carol.id],
    }
    assert (await changes(bob))[-1]["action"] == "joined"
    assert (await alice.request("GET", group_path(group, "/join-requests")))["requests"] == []


# Leaving, removing, roles ------------------------------------------------------------------------


async def test_a_member_leaves_and_the_owner_hands_the_group_on_first(
    alice: User, bob: User, carol: User, reviewer: User
) -> None:
    group = (await group_of(alice, "茶友", bob, carol))["id"]

    assert (await bob.raw("POST", group_path(group, "/leave"))).status_code == 204

    assert (await changes(bob))[-1] == {"action": "left", "by": bob.id, "user_ids": [bob.id]}
    assert bob.id not in await members_of(alice, group)
    assert_error(await send(bob, group), 404, "conversation_not_found")
    assert_error(await alice.raw("POST", group_path(group, "/leave")), 409, "owner_must_transfer")
    assert (bob.id, "left", bob.id) in await history(reviewer, group)


async def test_the_owner_and_admins_remove_members_but_an_admin_not_another_admin(
    alice: User, bob: User, carol: User, make_user: MakeUser, reviewer: User
) -> None:
    dave = await make_user("dave")
    group = (await group_of(alice, "茶友", bob, carol, dave))["id"]
    assert_error(
        await bob.raw("PUT", group_path(group, f"/admins/{carol.id}")), 403, "group_owner_required"
    )
    await alice.request("PUT", group_path(group, f"/admins/{bob.id}"))
    await alice.request("PUT", group_path(group, f"/admins/{carol.id}"))
    assert (await members_of(alice, group))[bob.id] == "admin"

    assert_error(
        await dave.raw("DELETE", group_path(group, f"/members/{bob.id}")),
        403,
        "group_admin_required",
    )
    assert_error(
        await bob.raw("DELETE", group_path(group, f"/members/{carol.id}")),
        403,
        "group_owner_required",
    )
    assert_error(
        await bob.raw("DELETE", group_path(group, f"/members/{alice.id}")),
        403,
        "group_owner_required",
    )
    assert (await bob.raw("DELETE", group_path(group, f"/members/{dave.id}"))).status_code == 204

    assert (await changes(dave))[-1] == {"action": "removed", "by": bob.id, "user_ids": [dave.id]}
    assert_error(await send(dave, group), 404, "conversation_not_found")
    assert (dave.id, "removed", bob.id) in await history(reviewer, group)
    unmade = await alice.request("DELETE", group_path(group, f"/admins/{carol.id}"))
    assert {m["user_id"]: m["role"] for m in unmade["members"]}[carol.id] == "member"
    assert (await changes(carol))[-1]["action"] == "unmade_admin"
    assert_error(
        await alice.raw("DELETE", group_path(group, f"/members/{dave.id}")), 404, "member_not_found"
    )


async def test_ownership_is_handed_on_and_the_new_owner_dissolves_the_group(
    alice: User, bob: User, carol: User, reviewer: User
) -> None:
    group = (await group_of(alice, "茶友", bob, carol))["id"]
    assert_error(
        await bob.raw("POST", group_path(group, "/owner"), json={"user_id": carol.id}),
        403,
        "group_owner_required",
    )

    handed = await alice.request("POST", group_path(group, "/owner"), json={"user_id": bob.id})

    roles = {m["user_id"]: m["role"] for m in handed["members"]}
    assert (roles[alice.id], roles[bob.id]) == ("member", "owner")
    assert_error(await alice.raw("DELETE", group_path(group)), 403, "group_owner_required")
    assert (await bob.raw("DELETE", group_path(group))).status_code == 204
    for member in (alice, bob, carol):
        last = (await changes(member))[-1]
        assert last["action"] == "dissolved"
        assert_error(await send(member, group), 404, "conversation_not_found")
    assert {(uid, change) for uid, change, _ in await history(reviewer, group)} >= {
        (bob.id, "made_owner"),
        (alice.id, "dissolved"),
        (carol.id, "dissolved"),
    }


async def test_the_group_routes_tell_a_direct_chats_members_it_is_no_group_and_others_nothing(
    alice: User, bob: User, carol: User
) -> None:
    direct = (await alice.open_direct(bob.id))["id"]
    assert (await alice.raw("GET", group_path(direct))).status_code == 200

    for method, tail, body in (
        ("PATCH", "", {"title": "茶友"}),
        ("PATCH", "", {"mute_all": True}),
        ("DELETE", "", None),
        ("POST", "/leave", None),
        ("POST", "/members", {"member_ids": [carol.id]}),
        ("DELETE", f"/members/{bob.id}", None),
        ("PUT", f"/admins/{bob.id}", None),
        ("PUT", f"/mutes/{bob.id}", None),
        ("POST", "/owner", {"user_id": bob.id}),
        ("POST", "/links", {}),
        ("GET", "/links", None),
        ("GET", "/join-requests", None),
    ):
        path = group_path(direct, tail)
        assert_error(await alice.raw(method, path, json=body), 409, "not_a_group")
        assert_error(await carol.raw(method, path, json=body), 404, "conversation_not_found")

    conversation = await bob.request("GET", group_path(direct))
    assert conversation["kind"] == "direct"
    assert {m["user_id"] for m in conversation["members"]} == {alice.id, bob.id}
    await sent(alice, direct)


# Settings and mutes ------------------------------------------------------------------------------


async def test_owner_and_admins_set_title_avatar_and_announcement_through_the_content_check(
    alice: User, bob: User, carol: User
) -> None:
    group = (await group_of(alice, "茶友", bob, carol))["id"]
    await alice.request("PUT", group_path(group, f"/admins/{bob.id}"))
    change = {"title": "新茶友", "announcement": "周六品茶", "avatar": "media:abc123"}

    updated = await bob.request("PATCH", group_path(group), json=change)

    assert updated["title"] == "新茶友"
    assert updated["group"] == {
        "avatar": "media:abc123", "announcement": "周六品茶", "mute_all": False,
        "members_invite": True, "dissolved": False,
    }  # fmt: skip
    assert (await changes(carol))[-1]["fields"] == ["announcement", "avatar", "title"]
    patch = group_path(group)
    assert_error(await carol.raw("PATCH", patch, json={"title": "x"}), 403, "group_admin_required")
    assert_error(await bob.raw("PATCH", patch, json={"title": BLOCKED}), 422, "name_restricted")
    assert_error(
        await bob.raw("PATCH", patch, json={"title": "见 www.example.com"}), 422, "name_url"
    )
    assert_error(await bob.raw("PATCH", patch, json={"avatar": "a b"}), 400, "avatar_invalid")
    assert_error(await bob.raw("PATCH", patch, json={}), 400, "group_unchanged")
    cleared = await bob.request("PATCH", patch, json={"announcement": "", "avatar": ""})
    assert (cleared["group"]["announcement"], cleared["group"]["avatar"]) == (None, None)


async def test_an_announcement_with_blocked_content_is_refused(
    alice: User, bob: User, admin: User
) -> None:
    term = f"禁词{alice.id}"
    answer = await admin.raw(
        "POST",
        "/api/v1/admin/lexicon/terms",
        json={"text": term, "category": "fraud", "severity": "critical"},
    )
    assert answer.status_code == 201, answer.text
    group = (await group_of(alice, "茶友", bob))["id"]

    refused = await alice.raw("PATCH", group_path(group), json={"announcement": f"看 {term}"})

    assert_error(refused, 422, "content_blocked")


async def test_a_muted_member_may_not_send_or_invite_until_unmuted(
    alice: User, bob: User, carol: User, make_user: MakeUser
) -> None:
    group = (await group_of(alice, "茶友", bob, carol))["id"]

    muted = await alice.request("PUT", group_path(group, f"/mutes/{bob.id}"))

    assert {m["user_id"]: m.get("muted") for m in muted["members"]}[bob.id] is True
    # Every view of the group says so: the group itself and the list of conversations.
    listed = (await carol.request("GET", "/api/v1/conversations"))["conversations"]
    for view in (await carol.request("GET", group_path(group)), *listed):
        assert {m["user_id"]: m.get("muted") for m in view["members"]} == {
            alice.id: None,
            bob.id: True,
            carol.id: None,
        }
    assert_error(await send(bob, group), 403, "member_muted")
    assert_error(await invite(bob, group, await make_user("dave")), 403, "member_muted")
    await sent(carol, group)
    await alice.request("DELETE", group_path(group, f"/mutes/{bob.id}"))
    await sent(bob, group)


async def test_mute_all_leaves_only_the_owner_and_admins_sending(
    alice: User, bob: User, carol: User
) -> None:
    group = (await group_of(alice, "茶友", bob, carol))["id"]
    await alice.request("PUT", group_path(group, f"/admins/{bob.id}"))

    await bob.request("PATCH", group_path(group), json={"mute_all": True})

    assert_error(await send(carol, group), 403, "member_muted")
    await sent(alice, group)
    await sent(bob, group)
    assert_error(
        await bob.raw("PUT", group_path(group, f"/mutes/{alice.id}")), 403, "group_owner_required"
    )
    await alice.request("PATCH", group_path(group), json={"mute_all": False})
    await sent(carol, group)
    # An admin the owner muted publishes nothing to everyone either.
    await alice.request("PUT", group_path(group, f"/mutes/{bob.id}"))
    announced = await bob.raw("PATCH", group_path(group), json={"announcement": "周六品茶"})
    assert_error(announced, 403, "member_muted")


async def test_group_changes_arrive_in_order_with_the_messages(alice: User, bob: User) -> None:
    group = (await group_of(alice, "茶友", bob))["id"]
    _, since = await full_sync(bob)

    await sent(alice, group, "一")
    await alice.request("PATCH", group_path(group), json={"announcement": "二"})
    await sent(alice, group, "三")

    events, _ = await full_sync(bob, since)
    shown = [
        e["message"]["text"] if e["type"] == "message" else e["change"]["action"] for e in events
    ]
    assert shown == ["一", "updated", "三"]
    assert events[1]["conversation"]["group"]["announcement"] == "二"


# Who reads the history; sanctions ---------------------------------------------------------


async def test_only_staff_read_a_groups_membership_history(
    alice: User, bob: User, reviewer: User
) -> None:
    group = (await group_of(alice, "茶友", bob))["id"]

    assert await history(reviewer, group) == [
        (alice.id, "joined", None),
        (bob.id, "joined", alice.id),
    ]
    path = f"/api/v1/admin/groups/{group}/history"
    assert_error(await alice.raw("GET", path), 403, "role_required")
    assert_error(
        await reviewer.raw("GET", "/api/v1/admin/groups/999999999/history"), 404, "group_not_found"
    )


async def test_a_sanctioned_user_may_not_invite_link_or_retitle(
    alice: User, bob: User, carol: User, reviewer: User
) -> None:
    group = (await group_of(alice, "茶友", bob))["id"]
    await applied(reviewer, "user", alice.id, "suspend_updates", days=1)

    assert_error(await invite(alice, group, carol), 403, "updates_suspended")
    assert_error(
        await alice.raw("POST", group_path(group, "/links"), json={}), 403, "updates_suspended"
    )
    assert_error(
        await alice.raw("PATCH", group_path(group), json={"title": "新"}), 403, "updates_suspended"
    )


async def test_a_sanctioned_group_takes_no_one_new_and_no_new_text(
    alice: User, bob: User, carol: User, make_user: MakeUser, reviewer: User
) -> None:
    group = (await group_of(alice, "茶友", bob))["id"]
    link = await new_link(alice, group)
    await applied(reviewer, "group", group, "suspend_posting", days=1)

    assert_error(await invite(alice, group, carol), 403, "group_posting_suspended")
    assert_error(
        await carol.raw("POST", LINKS, json={"token": link["token"]}),
        403,
        "group_posting_suspended",
    )
    assert_error(
        await alice.raw("POST", group_path(group, "/links"), json={}),
        403,
        "group_posting_suspended",
    )
    assert_error(
        await alice.raw("PATCH", group_path(group), json={"announcement": "新"}),
        403,
        "group_posting_suspended",
    )
    # An outsider learns nothing of the group, its sanction included, from the managers' routes.
    for method, tail, body in (
        ("POST", "/links", {}),
        ("PATCH", "", {"announcement": "新"}),
        ("POST", "/owner", {"user_id": bob.id}),
        ("POST", f"/join-requests/{carol.id}/approve", None),
    ):
        answer = await carol.raw(method, group_path(group, tail), json=body)
        assert_error(answer, 404, "conversation_not_found")
    # Keeping order still works: the owner may mute and remove.
    await alice.request("PUT", group_path(group, f"/mutes/{bob.id}"))
    assert (await alice.raw("DELETE", group_path(group, f"/members/{bob.id}"))).status_code == 204


async def test_an_admin_whose_rights_a_sanction_removes_is_held_by_mute_all(
    alice: User, bob: User, carol: User, reviewer: User
) -> None:
    group = (await group_of(alice, "茶友", bob, carol))["id"]
    await alice.request("PUT", group_path(group, f"/admins/{bob.id}"))
    await alice.request("PATCH", group_path(group), json={"mute_all": True})
    await sent(bob, group)  # an admin: not muted

    await applied(reviewer, "group", group, "remove_rights", member_id=bob.id)

    assert_error(await send(bob, group), 403, "member_muted")


@pytest.mark.parametrize("way", ["left", "removed"])
async def test_an_owner_a_sanction_demoted_hands_the_group_on_when_going(
    way: str, alice: User, bob: User, carol: User, make_user: MakeUser, reviewer: User
) -> None:
    """A group has an owner while it has members: the owner a remove_rights sanction demoted
    passes it on as an owner going would, and the sanction's end makes them an admin of the
    group they came back to, not its second owner."""
    dave = await make_user("dave")
    group = (await group_of(alice, "茶友", bob, carol, dave))["id"]
    await alice.request("PUT", group_path(group, f"/admins/{carol.id}"))
    removal = await applied(reviewer, "group", group, "remove_rights", member_id=alice.id)
    # Anyone else going changes nothing: the group waits for its owner's rights.
    assert (await dave.raw("POST", group_path(group, "/leave"))).status_code == 204
    assert await members_of(bob, group) == {alice.id: "member", bob.id: "member", carol.id: "admin"}

    if way == "left":
        gone = await alice.raw("POST", group_path(group, "/leave"))
    else:
        gone = await carol.raw("DELETE", group_path(group, f"/members/{alice.id}"))

    assert gone.status_code == 204, gone.text
    assert await members_of(bob, group) == {bob.id: "member", carol.id: "owner"}
    remover = alice if way == "left" else carol
    assert (await history(reviewer, group))[-2:] == [
        (carol.id, "made_owner", alice.id),
        (alice.id, way, remover.id),
    ]

    assert (await invite(carol, group, alice)).json()["added"] == [alice.id]
    await lifted(reviewer, removal["id"])

    assert await members_of(bob, group) == {
        bob.id: "member",
        carol.id: "owner",
        alice.id: "admin",
    }


@pytest.mark.parametrize("way", ["invitation", "link", "added"])
async def test_joining_any_other_way_withdraws_a_waiting_request_so_a_removed_member_stays_out(
    way: str, alice: User, carol: User
) -> None:
    """A request to join still waiting from before would let a removed member back in at an
    admin's approval, unasked."""
    group = (await alice.create_group("茶友", [carol.id] if way == "invitation" else []))["id"]
    asking = await new_link(alice, group, needs_approval=True)
    await carol.request("POST", LINKS, json={"token": asking["token"]})
    requests = group_path(group, "/join-requests")
    assert [r["user_id"] for r in (await alice.request("GET", requests))["requests"]] == [carol.id]

    if way == "invitation":
        await carol.accept_invitation(group)
    elif way == "link":
        link = await new_link(alice, group)
        await carol.request("POST", LINKS, json={"token": link["token"]})
    else:
        assert (await invite(alice, group, carol)).json()["added"] == [carol.id]

    assert (await alice.request("GET", requests))["requests"] == []
    assert (await alice.raw("DELETE", group_path(group, f"/members/{carol.id}"))).status_code == 204
    approve = group_path(group, f"/join-requests/{carol.id}/approve")
    assert_error(await alice.raw("POST", approve), 404, "join_request_not_found")
    assert carol.id not in await members_of(alice, group)
