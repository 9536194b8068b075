"""Direct and group conversations: one direct per pair, group roles, the group size cap."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import MakeStaff, MakeUser, ServerPool, User
from tests.support import assert_error, group_of

NO_CONVERSATIONS: dict[str, Any] = {"conversations": [], "next_cursor": None}
NO_INVITATIONS: dict[str, Any] = {"invitations": [], "next_cursor": None}


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


async def test_a_group_has_its_creator_as_owner_and_nobody_else_until_they_accept(
    alice: User, bob: User, carol: User
) -> None:
    answer = await alice.raw(
        "POST",
        "/api/v1/conversations",
        json={
            "kind": "group",
            "title": "  Book club ",
            "description": "每周读一本书",
            "member_ids": [bob.id, carol.id, bob.id, alice.id],
        },
    )

    assert answer.status_code == 201
    created = answer.json()
    assert (created["kind"], created["title"]) == ("group", "Book club")
    assert created["description"] == "每周读一本书"
    assert created["members"] == [{"user_id": alice.id, "role": "owner"}]
    assert created["invited"] == [bob.id, carol.id]
    group_id = created["id"]
    assert_error(await bob.raw("GET", f"/api/v1/conversations/{group_id}"), 404)
    invitation = {
        "conversation_id": group_id,
        "title": "Book club",
        "description": "每周读一本书",
        "inviter_id": alice.id,
    }
    (event,) = (await bob.sync())["events"]
    assert event["type"] == "invitation"
    assert event["invitation"].items() >= invitation.items()
    (waiting,) = (await bob.request("GET", "/api/v1/invitations"))["invitations"]
    assert waiting.items() >= invitation.items()

    joined = await bob.accept_invitation(group_id)
    assert joined["members"] == [
        {"user_id": alice.id, "role": "owner"},
        {"user_id": bob.id, "role": "member"},
    ]
    assert await bob.request("GET", f"/api/v1/conversations/{group_id}") == joined
    assert (await bob.request("GET", "/api/v1/invitations"))["invitations"] == []
    told = [e["conversation"] for e in (await alice.sync())["events"]]
    assert told[-1] == joined
    assert_error(await bob.raw("POST", f"/api/v1/invitations/{group_id}/accept"), 404,
                 "invitation_not_found")  # fmt: skip

    declined = await carol.request("POST", f"/api/v1/invitations/{group_id}/decline")
    assert declined == {"conversation_id": group_id, "state": "declined"}
    assert_error(await carol.raw("GET", f"/api/v1/conversations/{group_id}"), 404)
    assert_error(await carol.raw("POST", f"/api/v1/invitations/{group_id}/accept"), 404)


async def test_every_member_sees_the_group_as_it_grows(alice: User, bob: User, carol: User) -> None:
    group = await group_of(alice, "Book club", bob)
    for member in (alice, bob):
        listed = await member.request("GET", "/api/v1/conversations")
        assert [c["id"] for c in listed["conversations"]] == [group["id"]]
        events = (await member.sync())["events"]
        assert [e["conversation"] for e in events if e["type"] == "conversation"][-1] == group
    assert (await carol.request("GET", "/api/v1/conversations")) == NO_CONVERSATIONS
    assert (await carol.sync())["events"] == []
    assert_error(await carol.raw("GET", f"/api/v1/conversations/{group['id']}"), 404)


async def test_a_group_with_an_unknown_member_is_not_created(alice: User, bob: User) -> None:
    answer = await alice.raw(
        "POST",
        "/api/v1/conversations",
        json={"kind": "group", "title": "Ghosts", "member_ids": [bob.id, 2**62]},
    )
    assert_error(answer, 404, "user_not_found")
    assert (await bob.request("GET", "/api/v1/invitations")) == NO_INVITATIONS
    assert (await alice.request("GET", "/api/v1/conversations")) == NO_CONVERSATIONS


async def test_staff_are_nobodys_chat_partners(alice: User, make_staff: MakeStaff) -> None:
    """A staff account answers as no user at all: not messaged, not invited, not even found."""
    for role in ("reviewer", "admin", "auditor"):
        staff = await make_staff(role)
        direct = await alice.raw(
            "POST", "/api/v1/conversations", json={"kind": "direct", "user_id": staff.id}
        )
        assert_error(direct, 404, "user_not_found")
        group = await alice.raw(
            "POST",
            "/api/v1/conversations",
            json={"kind": "group", "title": "Staff room", "member_ids": [staff.id]},
        )
        assert_error(group, 404, "user_not_found")


async def test_groups_are_capped_at_the_configured_size(
    servers: ServerPool, make_user: MakeUser
) -> None:
    capped = servers.shared(limits__max_group_members=3)
    owner, *others = [await make_user(name, on=capped) for name in ("olga", "pat", "quinn", "rui")]

    full = await group_of(owner, "Three of us", others[0], others[1])
    assert len(full["members"]) == 3
    too_many = await owner.raw(
        "POST",
        "/api/v1/conversations",
        json={"kind": "group", "title": "Four of us", "member_ids": [u.id for u in others]},
    )
    assert_error(too_many, 422, "group_too_large")
    conversations = await owner.request("GET", "/api/v1/conversations")
    assert [c["id"] for c in conversations["conversations"]] == [full["id"]]


async def test_one_person_creates_and_joins_only_as_many_groups_as_the_pack_allows(
    servers: ServerPool, make_user: MakeUser
) -> None:
    """Thirty groups with the same strangers in a fraction of a second was possible."""
    capped = servers.shared(policy_pack=servers.pack(max_created_per_day=2, max_joined=3))
    spammer, stranger, other = [await make_user(n, on=capped) for n in ("sam", "tess", "uma")]
    for title in ("群一", "群二"):
        await spammer.create_group(title, [stranger.id])
    refused = await spammer.raw(
        "POST",
        "/api/v1/conversations",
        json={"kind": "group", "title": "群三", "member_ids": [stranger.id]},
    )
    assert_error(refused, 429, "too_many_groups")
    assert 86_000 < refused.json()["error"]["retry_after"] <= 86_401
    invited = (await stranger.request("GET", "/api/v1/invitations"))["invitations"]
    assert len(invited) == 2
    assert (await stranger.request("GET", "/api/v1/conversations")) == NO_CONVERSATIONS

    # The stranger belongs to three groups at most, whoever made them.
    for invitation in invited:
        await stranger.accept_invitation(invitation["conversation_id"])
    third = await other.create_group("群四", [stranger.id])
    await stranger.accept_invitation(third["id"])
    fourth = await other.create_group("群五", [stranger.id])
    assert_error(
        await stranger.raw("POST", f"/api/v1/invitations/{fourth['id']}/accept"),
        422,
        "group_join_limit",
    )


async def test_group_titles_and_descriptions_pass_the_naming_rules_and_the_lexicon(
    alice: User, bob: User
) -> None:
    refused = {
        ("裸聊群", ""): "content_blocked",
        ("人民日报读者群", ""): "name_restricted",
        ("People's Daily readers", ""): "name_restricted",
        ("加微信 wx123456", ""): "name_contact_details",
        ("读书会", "详情见 www.example.com"): "name_url",
        ("读书会", "欢迎加入 一起裸聊"): "content_blocked",
    }
    for (title, description), code in refused.items():
        answer = await alice.raw(
            "POST",
            "/api/v1/conversations",
            json={
                "kind": "group",
                "title": title,
                "description": description,
                "member_ids": [bob.id],
            },
        )
        assert_error(answer, 422, code)
    assert (await bob.request("GET", "/api/v1/invitations")) == NO_INVITATIONS


async def test_conversations_and_invitations_are_listed_a_page_at_a_time(
    alice: User, bob: User, carol: User
) -> None:
    direct = await bob.open_direct(carol.id)
    groups = [await alice.create_group(f"Club {n}", [bob.id]) for n in range(3)]
    for group in groups[:2]:
        await bob.accept_invitation(group["id"])

    first = await bob.request("GET", "/api/v1/conversations", params={"limit": 2})
    assert [c["id"] for c in first["conversations"]] == [direct["id"], groups[0]["id"]]
    rest = await bob.request(
        "GET", "/api/v1/conversations", params={"limit": 2, "cursor": first["next_cursor"]}
    )
    assert [c["id"] for c in rest["conversations"]] == [groups[1]["id"]]
    assert rest["next_cursor"] is None

    late = await alice.create_group("Club 3", [bob.id])
    page = await bob.request("GET", "/api/v1/invitations", params={"limit": 1})
    assert [i["conversation_id"] for i in page["invitations"]] == [groups[2]["id"]]
    page = await bob.request(
        "GET", "/api/v1/invitations", params={"limit": 1, "cursor": page["next_cursor"]}
    )
    assert [i["conversation_id"] for i in page["invitations"]] == [late["id"]]
    last = await bob.request(
        "GET", "/api/v1/invitations", params={"limit": 1, "cursor": page["next_cursor"]}
    )
    assert last == NO_INVITATIONS
    assert_error(
        await bob.raw("GET", "/api/v1/conversations", params={"cursor": "a page"}),
        400,
        "cursor_invalid",
    )
