"""One account cannot take the server for itself: its sends, long polls and sockets are capped
(named settings), each refusal a clear 429 or close, and nobody else is affected."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from tests.conftest import MakeStaff, MakeUser, ServerPool, User
from tests.support import assert_error, public_account, send


async def test_sends_past_the_rate_are_refused_over_http_and_the_socket(
    servers: ServerPool, make_user: MakeUser
) -> None:
    """The window is a sliding window counter (limits'): at a minute's turn it weighs the last
    minute's sends a little less, floored, so one send more may fit there, never two."""
    server = servers.shared(limits__sends_per_user="5/minute")
    alice: User = await make_user("alice", on=server)
    bob: User = await make_user("bob", on=server)
    chat = (await alice.open_direct(bob.id))["id"]
    answers = [await send(alice, chat, f"hello {n}") for n in range(7)]
    statuses = [answer.status_code for answer in answers]
    accepted = statuses.index(429)
    assert accepted in (5, 6) and statuses[:accepted] == [201] * accepted, statuses
    refused = answers[accepted]
    assert_error(refused, 429, "too_many_messages")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    async with websockets.connect(server.ws_url) as socket:
        await socket.send(json.dumps({"type": "auth", "token": alice.token}))
        await socket.recv()
        frames = []
        for client_id in ("w1", "w2"):
            await socket.send(
                json.dumps(
                    {"type": "send", "conversation_id": chat, "text": "hi", "client_id": client_id}
                )
            )
            frames.append(json.loads(await asyncio.wait_for(socket.recv(), 10)))
            if frames[-1]["type"] == "error":
                break
    assert [frame["type"] for frame in frames] in (["error"], ["ack", "error"]), frames
    assert (frames[-1]["error"]["code"], frames[-1]["client_id"]) == (
        "too_many_messages",
        f"w{len(frames)}",
    )
    # Bob's budget is his own.
    assert (await send(bob, chat, "still here")).status_code == 201


async def test_forwards_past_their_rate_are_refused_and_plain_sends_go_on(
    servers: ServerPool, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    server = servers.shared(limits__forwards_per_user="2/hour")
    reviewer = await make_staff("reviewer", on=server)
    operator = await make_user("operator", on=server)
    account = await public_account(operator, reviewer)
    post = await operator.publish(account["id"], "春茶", "春茶上市")
    alice: User = await make_user("alice", on=server)
    bob: User = await make_user("bob", on=server)
    chat = (await alice.open_direct(bob.id))["id"]
    path = f"/api/v1/posts/{post['id']}/forwards"
    body = {"conversation_id": chat}
    answers = [await alice.raw("POST", path, json=body) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201]
    refused = await alice.raw("POST", path, json=body)
    assert_error(refused, 429, "too_many_forwards")
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert (await send(alice, chat, "a plain message")).status_code == 201
    assert (await bob.raw("POST", path, json=body)).status_code == 201


async def test_long_polls_past_the_cap_are_refused_at_once(
    servers: ServerPool, make_user: MakeUser
) -> None:
    server = servers.shared(limits__long_polls_per_user=2)
    alice: User = await make_user("alice", on=server)
    bob: User = await make_user("bob", on=server)
    since = (await alice.request("GET", "/api/v1/sync"))["next"]
    params = {"since": since, "timeout": 10}
    waiting = [
        asyncio.create_task(alice.request("GET", "/api/v1/sync", params=params)) for _ in range(2)
    ]
    await asyncio.sleep(0.5)
    third = await alice.raw("GET", "/api/v1/sync", params=params)
    assert_error(third, 429, "too_many_long_polls")
    bobs = asyncio.create_task(
        bob.request("GET", "/api/v1/sync", params={"since": 0, "timeout": 0})
    )
    assert "events" in await asyncio.wait_for(bobs, 10)
    for poll in waiting:
        poll.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)


async def test_sockets_past_the_cap_are_closed_with_the_reason(
    servers: ServerPool, make_user: MakeUser
) -> None:
    server = servers.shared(limits__sockets_per_user=2)
    alice: User = await make_user("alice", on=server)

    async def authed() -> websockets.ClientConnection:
        socket = await websockets.connect(server.ws_url)
        await socket.send(json.dumps({"type": "auth", "token": alice.token}))
        return socket

    first, second = await authed(), await authed()
    for socket in (first, second):
        assert json.loads(await socket.recv())["type"] == "ready"
    third = await authed()
    frame = json.loads(await asyncio.wait_for(third.recv(), 10))
    assert frame["error"]["code"] == "too_many_sockets"
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(third.recv(), 10)
    assert third.close_code == 1008
    await first.close()
    await asyncio.sleep(0.2)
    fourth = await authed()
    assert json.loads(await asyncio.wait_for(fourth.recv(), 10))["type"] == "ready"
    for socket in (second, fourth):
        await socket.close()
