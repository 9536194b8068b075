"""Deregistration: the profile and credentials go at once, the identity after the pack's
retention (`townhall admin purge-identities`, and hourly in the server); the user leaves every
group (handing on those they own), their ties to everyone go, and nobody messages them again."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx
import pytest

from tests.conftest import (
    PASSWORD,
    MakeStaff,
    MakeUser,
    Server,
    ServerPool,
    User,
    fresh_identity,
    moved,
    post_registration,
    unique_handle,
)
from tests.support import (
    applied,
    assert_error,
    befriend,
    full_sync,
    group_of,
    query_db,
    send,
    sent,
    write_db,
)


async def log_in(server: Server, handle: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        return await http.post("/api/v1/sessions", json={"handle": handle, "password": PASSWORD})


async def test_deregistering_ends_every_session_and_frees_handle_and_identity(
    server: Server, make_user: MakeUser
) -> None:
    identity = fresh_identity()
    leaving = await make_user("leaving", identity=identity)
    friend = await make_user("friend")
    chat = (await friend.open_direct(leaving.id))["id"]
    await leaving.send(chat, "goodbye")
    other_device = (await log_in(server, leaving.handle)).json()["token"]

    async with leaving.websocket() as live:
        answer = await leaving.raw("DELETE", "/api/v1/me")
        assert answer.status_code == 204
        assert answer.content == b""
        closing = await asyncio.wait_for(live.receive_until("signed_out"), 5)
    assert closing == {"type": "signed_out"}

    for token in (leaving.token, other_device):
        headers = {"Authorization": f"Bearer {token}"}
        assert_error(await leaving.raw("GET", "/api/v1/me", headers=headers), 401)
        assert_error(await leaving.raw("DELETE", "/api/v1/me", headers=headers), 401)
    assert_error(await log_in(server, leaving.handle), 401, "login_failed")

    # The handle and the identity are free for a new account.
    again = await post_registration(server, identity, handle=leaving.handle)
    assert again.status_code == 201, again.text
    assert again.json()["id"] != leaving.id
    assert again.json()["identity"]["status"] == "provider_verified"
    assert (await log_in(server, leaving.handle)).status_code == 201
    # The friend's chat keeps its history; the old account is not the new one.
    history = await friend.history(chat)
    assert [(m["sender_id"], m["text"]) for m in history["messages"]] == [(leaving.id, "goodbye")]


async def test_a_deregistered_account_is_nobody_to_chat_with_invite_or_befriend(
    make_user: MakeUser,
) -> None:
    leaving, friend, other = (
        await make_user("leaving"),
        await make_user("friend"),
        await make_user(),
    )
    group = (await friend.create_group("茶话会", [other.id]))["id"]
    assert (await leaving.raw("DELETE", "/api/v1/me")).status_code == 204

    for method, path, body in (
        ("POST", "/api/v1/conversations", {"kind": "direct", "user_id": leaving.id}),
        (
            "POST",
            "/api/v1/conversations",
            {"kind": "group", "title": "再", "member_ids": [leaving.id]},
        ),
        ("POST", f"/api/v1/conversations/{group}/members", {"member_ids": [leaving.id]}),
        ("POST", "/api/v1/friend-requests", {"user_id": leaving.id, "greeting": ""}),
    ):
        assert_error(await friend.raw(method, path, json=body), 404, "user_not_found")
    members = await friend.request("GET", f"/api/v1/conversations/{group}")
    assert leaving.id not in [m["user_id"] for m in members["members"]]


async def test_a_deregistered_identity_stays_revealable_during_retention(
    make_user: MakeUser, make_staff: MakeStaff
) -> None:
    identity = fresh_identity()
    leaving = await make_user("leaving", identity=identity)
    assert (await leaving.raw("DELETE", "/api/v1/me")).status_code == 204
    reviewer = await make_staff("reviewer")
    revealed = await reviewer.raw(
        "POST",
        f"/api/v1/admin/identities/{leaving.id}/reveal",
        json={"reason": "request from the authority", "reference": "request:TEST-118"},
    )
    assert revealed.status_code == 200, revealed.text
    assert revealed.json()["identity"] == identity


async def test_a_handle_like_a_deregistered_one_does_not_block_deregistration(
    server: Server, make_user: MakeUser
) -> None:
    victim = await make_user("victim")  # account ids are no secret: every chat shows them
    squat = await post_registration(server, fresh_identity(), handle=f"deleted-{victim.id}")
    if squat.status_code != 201:  # a fix may reserve the handles deregistration uses
        assert_error(squat, 400, "handle_invalid")
    answer = await victim.raw("DELETE", "/api/v1/me")
    assert answer.status_code == 204, answer.text
    assert_error(await victim.raw("GET", "/api/v1/me"), 401)


def purge(server: Server, *args: str) -> int:
    done = server.admin("purge-identities", *args)
    assert done.returncode == 0, done.stderr
    return int(re.search(r"(\d+) identities", done.stdout)[1])  # type: ignore[index]


def identity_rows(server: Server) -> set[int]:
    return {row[0] for row in query_db(server.data_dir, "SELECT account_id FROM identities")}


async def test_purge_deletes_only_identities_past_their_retention(
    servers: ServerPool, fresh_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    # Deregistered under the default pack: kept 180 days.
    kept = await make_user("kept", on=fresh_server)
    assert (await kept.raw("DELETE", "/api/v1/me")).status_code == 204
    fresh_server.stop()
    # The same data under a pack that keeps identities no longer than the deregistration.
    server = servers.start(
        data_dir=fresh_server.data_dir,
        policy_pack=servers.pack(retention_days_after_deregistration=0),
    )
    try:
        active = await make_user("active", on=server)
        purged_identity = fresh_identity()
        gone = await make_user("gone", on=server, identity=purged_identity, confirm_phone=False)
        assert (await gone.raw("POST", "/api/v1/me/phone/code")).status_code == 202
        assert (await gone.raw("DELETE", "/api/v1/me")).status_code == 204
        everyone = {kept.id, active.id, gone.id}
        assert identity_rows(server) == everyone

        assert purge(server) == 1  # a dry run counts, and deletes nothing
        assert identity_rows(server) == everyone

        assert purge(server, "--for-real") == 1
        assert identity_rows(server) == {kept.id, active.id}
        codes = query_db(
            server.data_dir, "SELECT count(*) FROM phone_codes WHERE account_id = ?", gone.id
        )
        assert codes == [(0,)]
        assert purge(server) == 0

        reviewer = await make_staff("reviewer", on=server)
        for user, status in ((gone, 404), (kept, 200), (active, 200)):
            answer = await reviewer.raw(
                "POST",
                f"/api/v1/admin/identities/{user.id}/reveal",
                json={"reason": "retention check", "reference": "request:TEST-118"},
            )
            assert answer.status_code == status, answer.text
        assert (await active.me())["identity"]["status"] == "provider_verified"
        again = await post_registration(server, purged_identity, handle=unique_handle("back"))
        assert again.status_code == 201, again.text
    finally:
        server.stop()


async def test_the_server_purges_by_itself(servers: ServerPool, make_user: MakeUser) -> None:
    server = servers.start(
        policy_pack=servers.pack(retention_days_after_deregistration=0),
        identity_purge_interval_seconds=1,
    )
    try:
        staying = await make_user("staying", on=server)
        leaving = await make_user("leaving", on=server)
        assert (await leaving.raw("DELETE", "/api/v1/me")).status_code == 204
        deadline = time.monotonic() + 10
        while leaving.id in identity_rows(server) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert identity_rows(server) == {staying.id}
        assert "purged 1 identities" in server.log()
    finally:
        server.stop()


# What a deregistered user leaves behind: groups, ties, chats --------------------------------------


def group_path(group_id: int, tail: str = "") -> str:
    return f"/api/v1/conversations/{group_id}{tail}"


async def deregistered(user: User) -> None:
    answer = await user.raw("DELETE", "/api/v1/me")
    assert answer.status_code == 204, answer.text


async def members_of(user: User, group_id: int) -> dict[int, str]:
    group = await user.request("GET", group_path(group_id))
    return {m["user_id"]: m["role"] for m in group["members"]}


async def changes(user: User, group_id: int) -> list[dict[str, Any]]:
    """The `change` of each event about the group the user received, in order."""
    events, _ = await full_sync(user)
    return [
        e["change"]
        for e in events
        if e["type"] == "conversation" and e["conversation"]["id"] == group_id and "change" in e
    ]


async def history(reviewer: User, group_id: int) -> list[tuple[int, str, int | None]]:
    page = await reviewer.request("GET", f"/api/v1/admin/groups/{group_id}/history")
    return [(e["user_id"], e["change"], e["actor_id"]) for e in page["history"]]


async def contact_ids(user: User) -> set[int]:
    return {c["user_id"] for c in (await user.request("GET", "/api/v1/contacts"))["contacts"]}


async def requesters(user: User) -> set[int]:
    page = await user.request("GET", "/api/v1/friend-requests")
    return {r["requester_id"] for r in page["requests"]}


@pytest.mark.usefixtures("no_server_errors")
async def test_a_group_the_deregistered_user_owned_passes_to_its_longest_serving_admin(
    make_user: MakeUser, reviewer: User
) -> None:
    owner, first, second, third = [await make_user(n) for n in ("owner", "m", "a", "b")]
    group = (await group_of(owner, "茶友", first, second, third))["id"]
    # Made admin in the other order: what counts is who has been in the group longest.
    for admin in (third, second):
        await owner.request("PUT", group_path(group, f"/admins/{admin.id}"))

    await deregistered(owner)

    assert await members_of(first, group) == {
        first.id: "member",
        second.id: "owner",
        third.id: "admin",
    }
    for member in (first, second, third):
        assert (await changes(member, group))[-2:] == [
            {"action": "made_owner", "by": owner.id, "user_ids": [second.id]},
            {"action": "left", "by": owner.id, "user_ids": [owner.id]},
        ]
    assert (await history(reviewer, group))[-2:] == [
        (second.id, "made_owner", owner.id),
        (owner.id, "left", owner.id),
    ]
    # The new owner runs the group: hands it on, names admins, dissolves it.
    await second.request("PUT", group_path(group, f"/admins/{first.id}"))
    assert (await second.raw("DELETE", group_path(group))).status_code == 204


@pytest.mark.usefixtures("no_server_errors")
async def test_without_admins_the_longest_serving_member_takes_over_and_a_group_of_one_ends(
    server: Server, make_user: MakeUser, reviewer: User
) -> None:
    owner, late, early = [await make_user(n) for n in ("owner", "late", "early")]
    shared = (await owner.create_group("茶友", [late.id, early.id]))["id"]
    for member in (early, late):  # `early` joins first, though registered after `late`
        await member.accept_invitation(shared)
    alone = (await owner.create_group("独处", []))["id"]

    await deregistered(owner)

    assert await members_of(late, shared) == {early.id: "owner", late.id: "member"}
    assert (await changes(late, shared))[-2] == {
        "action": "made_owner",
        "by": owner.id,
        "user_ids": [early.id],
    }
    # Nobody else was in it: it ends as its owner's dissolving it would.
    assert (await history(reviewer, alone))[-1] == (owner.id, "dissolved", owner.id)
    ended = query_db(
        server.data_dir,
        "SELECT dissolved_at IS NOT NULL, (SELECT count(*) FROM members WHERE conversation_id = ?)"
        " FROM conversations WHERE id = ?",
        alone,
        alone,
    )
    assert ended == [(1, 0)]


@pytest.mark.usefixtures("no_server_errors")
async def test_an_owner_a_sanction_demoted_still_hands_the_group_on(
    make_user: MakeUser, reviewer: User
) -> None:
    owner, member = await make_user("owner"), await make_user("member")
    group = (await group_of(owner, "茶友", member))["id"]
    await applied(reviewer, "group", group, "remove_rights", member_id=owner.id)
    assert await members_of(member, group) == {owner.id: "member", member.id: "member"}

    await deregistered(owner)

    assert await members_of(member, group) == {member.id: "owner"}
    assert (await history(reviewer, group))[-2:] == [
        (member.id, "made_owner", owner.id),
        (owner.id, "left", owner.id),
    ]


@pytest.mark.usefixtures("no_server_errors")
async def test_a_deregistered_admin_or_member_is_in_no_group_any_more(
    server: Server, make_user: MakeUser, reviewer: User
) -> None:
    owner, leaving, other = [await make_user(n) for n in ("owner", "leaving", "other")]
    run = (await group_of(owner, "茶友", leaving, other))["id"]
    await owner.request("PUT", group_path(run, f"/admins/{leaving.id}"))
    joined = (await group_of(owner, "读书会", leaving))["id"]
    waiting = (await owner.create_group("等你", [leaving.id]))["id"]  # invited, never answered
    invitations = "SELECT count(*) FROM invitations WHERE conversation_id = ?"
    assert query_db(server.data_dir, invitations, waiting) == [(1,)]

    await deregistered(leaving)

    assert await members_of(owner, run) == {owner.id: "owner", other.id: "member"}
    assert await members_of(owner, joined) == {owner.id: "owner"}
    for member in (owner, other):
        assert (await changes(member, run))[-1] == {
            "action": "left",
            "by": leaving.id,
            "user_ids": [leaving.id],
        }
    assert (leaving.id, "left", leaving.id) in await history(reviewer, joined)
    # Nobody can let the account back in by an invitation it never answered.
    assert query_db(server.data_dir, invitations, waiting) == [(0,)]


@pytest.mark.usefixtures("no_server_errors")
async def test_deregistering_takes_the_user_out_of_everyones_contacts_and_friend_requests(
    server: Server, make_user: MakeUser
) -> None:
    leaving, friend, asking, asked, blocker, blocked = [
        await make_user(n) for n in ("leaving", "friend", "asking", "asked", "blocker", "blocked")
    ]
    await befriend(leaving, friend)
    await asking.request_friend(leaving.id, "你好")
    await leaving.request_friend(asked.id, "你好")
    for owner, other in ((blocker, leaving), (leaving, blocked)):
        await owner.request("PUT", f"/api/v1/contacts/{other.id}/block")
    assert leaving.id in await contact_ids(friend)
    assert leaving.id in await requesters(asked)
    _, since = await full_sync(friend)

    await deregistered(leaving)

    for user in (friend, asking, asked, blocker, blocked):
        assert leaving.id not in await contact_ids(user)
        assert leaving.id not in await requesters(user)
    told, _ = await full_sync(friend, since)
    assert [e["contact"] for e in told if e["type"] == "contact"] == [
        {
            "user_id": leaving.id,
            "friend": False,
            "friend_since": None,
            "remark": None,
            "blocked": False,
        }
    ]
    left_over = query_db(
        server.data_dir,
        "SELECT (SELECT count(*) FROM contacts WHERE ? IN (owner_id, contact_id)),"
        " (SELECT count(*) FROM friend_requests WHERE ? IN (requester_id, addressee_id))",
        leaving.id,
        leaving.id,
    )
    assert left_over == [(0, 0)]


@pytest.mark.usefixtures("no_server_errors")
async def test_a_direct_message_to_a_deregistered_account_is_refused(
    servers: ServerPool, make_user: MakeUser
) -> None:
    """Under cn-2014, where only friends chat: deregistering ends the friendship too, and the
    friend is told the account is gone, not to send a friend request."""
    cn = servers.shared(policy_pack="cn-2014")
    leaving, friend = await make_user("leaving", on=cn), await make_user("friend", on=cn)
    await befriend(friend, leaving)
    chat = (await friend.open_direct(leaving.id))["id"]
    await sent(friend, chat, "在吗")  # the chat's members are cached now
    await sent(friend, chat, "说错了")

    await deregistered(leaving)

    assert_error(await send(friend, chat, "还在吗"), 409, "recipient_inactive")
    async with friend.websocket() as socket:
        client_id = await socket.send_message(chat, "还在吗")
        while (frame := await socket.receive()).get("client_id") != client_id:
            pass
    assert frame["type"] == "error" and frame["error"]["code"] == "recipient_inactive", frame
    # What was said stays readable, and may still be taken back.
    history = await friend.history(chat)
    assert [m["text"] for m in history["messages"]] == ["说错了", "在吗"]  # newest first
    last = history["messages"][0]["id"]
    recall = f"/api/v1/conversations/{chat}/messages/{last}/recall"
    assert (await friend.request("POST", recall))["recalled"] is True


@pytest.mark.usefixtures("no_server_errors")
async def test_a_closed_owner_may_deregister_and_still_hands_the_group_on(
    make_user: MakeUser, admin: User
) -> None:
    owner, member = await make_user("owner"), await make_user("member")
    group = (await group_of(owner, "茶友", member))["id"]
    await applied(admin, "user", owner.id, "close", reason="a fraud ring")

    await deregistered(owner)

    assert await members_of(member, group) == {member.id: "owner"}


async def test_accounts_deregistered_by_an_earlier_release_leave_groups_and_ties_at_start(
    servers: ServerPool, fresh_server: Server, make_user: MakeUser
) -> None:
    """A release before deregistering cut them left a deregistered account in its groups,
    owning some, and in everyone's contacts: the next start cuts them."""
    owner, member, friend = [await make_user(n, on=fresh_server) for n in ("gone", "m", "f")]
    group = (await group_of(owner, "茶友", member))["id"]
    await befriend(owner, friend)
    fresh_server.stop()
    deregister = "UPDATE accounts SET status = 'deregistered' WHERE id = ?"
    write_db(fresh_server.data_dir, deregister, owner.id)

    again = servers.start(data_dir=fresh_server.data_dir)
    try:
        member, friend = moved(member, again), moved(friend, again)
        for _ in range(100):  # the start's work runs beside the first requests
            if await members_of(member, group) != {owner.id: "owner", member.id: "member"}:
                break
            await asyncio.sleep(0.05)
        assert await members_of(member, group) == {member.id: "owner"}
        assert (await changes(member, group))[-2:] == [
            {"action": "made_owner", "by": owner.id, "user_ids": [member.id]},
            {"action": "left", "by": owner.id, "user_ids": [owner.id]},
        ]
        assert owner.id not in await contact_ids(friend)
    finally:
        again.stop()
    left_over = query_db(
        again.data_dir,
        "SELECT (SELECT count(*) FROM members WHERE account_id = ?),"
        " (SELECT count(*) FROM contacts WHERE ? IN (owner_id, contact_id))",
        owner.id,
        owner.id,
    )
    assert left_over == [(0, 0)]
