"""A closed account may log in, read its notices, appeal and leave, and nothing else: every write
route of the API, walked from the OpenAPI document so that a new route cannot slip past, refuses
it with 403. Nobody messages it directly while it is closed."""

from __future__ import annotations

import pytest

from tests.conftest import MakeUser, User
from tests.support import (
    OPEN_TO_CLOSED,
    STAFF_PREFIXES,
    applied,
    assert_error,
    full_sync,
    lifted,
    notices_of,
    send,
    sent,
    walk_write_routes,
    world_of,
)

pytestmark = pytest.mark.usefixtures("no_server_errors")


async def test_a_closed_account_is_refused_every_write_route_but_leaving_and_appealing(
    make_user: MakeUser, reviewer: User, admin: User
) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    world = await world_of(alice, bob, reviewer)
    closure = await applied(admin, "user", alice.id, "close", reason="a fraud ring")
    world.ids["sanction_id"] = closure["id"]

    walked = []
    async for method, path, answer in walk_write_routes(alice, world, leaving_out=OPEN_TO_CLOSED):
        staff = path.startswith(STAFF_PREFIXES)
        assert_error(answer, 403, "role_required" if staff else "account_closed")
        walked.append((method, path))
    assert ("POST", "/api/v1/reports") in walked and len(walked) > 20

    # What stays open: the notice, the appeal, logging out and leaving.
    assert notices_of((await full_sync(alice))[0], "sanction_applied")
    appeal = await alice.request(
        "POST", "/api/v1/appeals", json={"sanction_id": closure["id"], "statement": "误会"}
    )
    assert appeal["state"] == "pending"
    assert (await alice.raw("DELETE", "/api/v1/me")).status_code == 204


async def test_over_the_websocket_a_closed_account_sends_nothing(
    alice: User, bob: User, admin: User
) -> None:
    chat = (await alice.open_direct(bob.id))["id"]
    await applied(admin, "user", alice.id, "close")
    async with alice.websocket() as socket:
        client_id = await socket.send_message(chat, "你好")
        while True:
            frame = await socket.receive()
            if frame.get("client_id") == client_id:
                break
    assert frame["type"] == "error" and frame["error"]["code"] == "account_closed", frame
    assert_error(await alice.raw("POST", "/api/v1/me/phone/code"), 403, "account_closed")


async def test_a_direct_message_to_a_closed_account_is_refused_until_the_closure_is_lifted(
    alice: User, bob: User, admin: User
) -> None:
    chat = (await alice.open_direct(bob.id))["id"]
    last = await sent(alice, chat)  # the sender's view of bob is cached now
    closure = await applied(admin, "user", bob.id, "close")

    assert_error(await send(alice, chat), 409, "recipient_inactive")
    # What was sent just before may still be taken back.
    recall = f"/api/v1/conversations/{chat}/messages/{last['id']}/recall"
    assert (await alice.request("POST", recall))["recalled"] is True
    await lifted(admin, closure["id"])
    await sent(alice, chat)
