"""Deregistration: the profile and credentials go at once, the identity after the pack's
retention (`townhall admin purge-identities`, and hourly in the server)."""

from __future__ import annotations

import asyncio
import re
import time

import httpx

from tests.conftest import (
    PASSWORD,
    MakeStaff,
    MakeUser,
    Server,
    ServerPool,
    fresh_identity,
    post_registration,
    unique_handle,
)
from tests.support import assert_error, query_db


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
