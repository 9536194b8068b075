"""The WebSocket gateway: auth, live delivery, sends and acks, resume, and slow consumers."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
from starlette.datastructures import State
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import MakeUser, Server, ServerPool, User
from tests.support import full_sync, group_of, messages_of
from townhall.api.metrics import Metrics
from townhall.api.ws import MAX_SENDS_IN_FLIGHT, WebSocketGateway
from townhall.client import LiveSocket

WAIT = 10  # seconds: generous, only reached when something is wrong
# Objects nested past the interpreter's recursion limit, well under the frame limit: the decoder
# raises RecursionError rather than a decode error.
DEEPLY_NESTED = '{"a":' * 5_000 + "1" + "}" * 5_000
# Binary frames whose strings are not UTF-8: the decoder raises UnicodeDecodeError.
NOT_UTF8_AUTH = b'{"type": "auth", "token": "\xff\xfe"}'
NOT_UTF8_SEND = b'{"type": "send", "conversation_id": 1, "text": "\xff", "client_id": "c"}'


def ws_url(user: User) -> str:
    return "ws" + user.base_url.removeprefix("http") + "/api/v1/ws"


@asynccontextmanager
async def raw_socket(url: str, **options: Any) -> AsyncIterator[ClientConnection]:
    async with connect(url, compression=None, proxy=None, **options) as connection:
        yield connection


async def receive(connection: ClientConnection) -> dict[str, Any]:
    return orjson.loads(await asyncio.wait_for(connection.recv(), WAIT))


async def next_frame(socket: LiveSocket) -> dict[str, Any]:
    return await asyncio.wait_for(socket.receive(), WAIT)


async def assert_nothing_pending(socket: LiveSocket) -> None:
    """A ping is answered in order, so a pong next means no other frame was waiting."""
    await socket.send_frame({"type": "ping"})
    frame = await next_frame(socket)
    assert frame["type"] == "pong", frame


async def closed_with(connection: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed):
        while True:
            await asyncio.wait_for(connection.recv(), WAIT)
    return connection.close_code


@pytest.fixture
async def chat(alice: User, bob: User) -> int:
    return (await alice.open_direct(bob.id))["id"]


async def test_a_valid_token_gets_ready_with_the_cursor(alice: User) -> None:
    _, cursor = await full_sync(alice)
    async with alice.websocket() as live:
        assert set(live.ready) == {"type", "user_id", "cursor"}
        assert live.ready["type"] == "ready"
        assert live.ready["user_id"] == alice.id
        assert live.ready["cursor"] >= cursor
        await assert_nothing_pending(live)


@pytest.mark.parametrize(
    ("first_frame", "code"),
    [
        ({"type": "auth", "token": "not-a-token"}, "token_invalid"),
        ({"type": "auth", "token": ""}, "token_invalid"),
        ({"type": "auth"}, "auth_required"),
        ({"type": "ping"}, "auth_required"),
        ("not json at all", "auth_required"),
        (DEEPLY_NESTED, "auth_required"),
        (NOT_UTF8_AUTH, "auth_required"),
    ],
)
async def test_a_socket_without_a_valid_token_is_refused(
    alice: User, first_frame: Any, code: str
) -> None:
    async with raw_socket(ws_url(alice)) as connection:
        raw = first_frame
        if not isinstance(first_frame, str | bytes):
            raw = orjson.dumps(first_frame).decode()
        await connection.send(raw)
        frame = await receive(connection)
        assert frame["type"] == "error"
        assert frame["error"]["code"] == code
        assert await closed_with(connection) == 4401


async def test_a_logged_out_token_is_refused(alice: User) -> None:
    token = alice.token
    await alice.log_out()
    async with raw_socket(ws_url(alice)) as connection:
        await connection.send(orjson.dumps({"type": "auth", "token": token}).decode())
        assert (await receive(connection))["error"]["code"] == "token_revoked"
        assert await closed_with(connection) == 4401


async def test_a_socket_that_never_authenticates_is_closed_after_the_timeout(
    servers: ServerPool,
) -> None:
    impatient = servers.shared(ws_auth_timeout_seconds=1)
    started = time.monotonic()
    async with raw_socket(impatient.ws_url) as connection:
        frame = await receive(connection)
        code = await closed_with(connection)
    elapsed = time.monotonic() - started

    assert frame["error"]["code"] == "auth_timeout"
    assert code == 4401
    assert 0.8 < elapsed < 3


async def test_a_message_sent_over_http_is_pushed_as_sync_shows_it(
    alice: User, bob: User, chat: int
) -> None:
    async with bob.websocket() as live:
        sent = await alice.send(chat, "pushed to you")
        frame = await next_frame(live)

        assert frame == {"type": "message", "cursor": frame["cursor"], "message": sent}
        page = await bob.sync(since=live.ready["cursor"])
        assert page["events"] == [frame]


async def test_a_send_is_acked_to_its_socket_and_pushed_to_everyone_else(
    alice: User, bob: User, chat: int
) -> None:
    async with (
        alice.websocket() as phone,
        alice.websocket() as laptop,
        bob.websocket() as bobs,
    ):
        client_id = await phone.send_message(chat, "sent from my phone", "phone-1")
        ack = await next_frame(phone)

        assert ack["type"] == "ack"
        assert ack["client_id"] == client_id
        assert ack["duplicate"] is False
        message = ack["message"]
        assert message["text"] == "sent from my phone"
        assert message["sender_id"] == alice.id
        event = {"type": "message", "cursor": ack["cursor"], "message": message}
        assert await next_frame(bobs) == event
        assert await next_frame(laptop) == event  # the sender's other devices see it too
        await assert_nothing_pending(phone)  # the sending socket got the ack, not the event
        assert messages_of((await bob.sync(since=bobs.ready["cursor"]))["events"]) == [message]


async def test_a_resend_over_the_socket_is_acked_as_a_duplicate_and_not_pushed_again(
    alice: User, bob: User, chat: int
) -> None:
    async with alice.websocket() as phone, bob.websocket() as bobs:
        await phone.send_message(chat, "once", "dup-1")
        first = await next_frame(phone)
        assert (await next_frame(bobs))["message"] == first["message"]

        await phone.send_message(chat, "once", "dup-1")
        again = await next_frame(phone)

        assert again["type"] == "ack"
        assert again["duplicate"] is True
        assert again["message"] == first["message"]
        assert again["cursor"] == first["cursor"]
        await assert_nothing_pending(bobs)


async def test_sends_in_flight_are_stored_in_the_order_their_frames_came(
    alice: User, chat: int
) -> None:
    """Each send is checked and queued before the next frame is read, whatever its check reads:
    a reply (whose check reads the message it answers) keeps its place among the plain sends
    that follow it at once, and their acks come in that order."""
    async with alice.websocket() as phone:
        await phone.send_message(chat, "the question", "order-0")
        question = (await next_frame(phone))["message"]
        reply = {"type": "send", "conversation_id": chat, "text": "the answer"}
        await phone.send_frame({**reply, "client_id": "order-1", "reply_to": question["id"]})
        for n in range(2, 12):
            await phone.send_message(chat, f"then {n}", f"order-{n}")
        acks = [await next_frame(phone) for _ in range(11)]
    assert [ack["client_id"] for ack in acks] == [f"order-{n}" for n in range(1, 12)]
    first = question["seq"] + 1
    assert [ack["message"]["seq"] for ack in acks] == list(range(first, first + 11))


async def test_sends_refused_at_their_commit_are_answered_and_free_their_place(
    alice: User, chat: int
) -> None:
    """A client id reused for other text is refused by the write itself, after the checks: each
    such send still gets its error frame, and gives back its place among the sends in flight
    (more of them than a socket may have at once)."""
    async with alice.websocket() as phone:
        await phone.send_message(chat, "the first text", "reused-1")
        assert (await next_frame(phone))["type"] == "ack"
        refusals = MAX_SENDS_IN_FLIGHT + 44
        for n in range(refusals):
            await phone.send_message(chat, f"other text {n}", "reused-1")
        answers = [await next_frame(phone) for _ in range(refusals)]
        assert {(a["type"], a["client_id"], a["error"]["code"]) for a in answers} == {
            ("error", "reused-1", "client_id_reused")
        }
        await assert_nothing_pending(phone)


async def test_a_refused_send_is_an_error_frame_naming_its_client_id(
    alice: User, bob: User, carol: User, chat: int
) -> None:
    async with carol.websocket() as live:
        await live.send_message(chat, "let me in", "intruder-1")
        refused = await next_frame(live)
        assert refused == {
            "type": "error",
            "client_id": "intruder-1",
            "error": {"code": "conversation_not_found", "message": refused["error"]["message"]},
        }
        await live.send_frame(
            {"type": "send", "conversation_id": 2**62, "text": "hi", "client_id": "c-2"}
        )
        assert (await next_frame(live))["error"]["code"] == "conversation_not_found"
        await assert_nothing_pending(live)
    async with alice.websocket() as live:
        await live.send_message(chat, "   ", "blank-1")
        blank = await next_frame(live)
        assert (blank["client_id"], blank["error"]["code"]) == ("blank-1", "text_empty")
    assert (await bob.history(chat))["messages"] == []


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "malformed_json"),
        ("", "malformed_json"),
        (DEEPLY_NESTED, "malformed_json"),
        (NOT_UTF8_SEND, "malformed_json"),
        ('{"type": "subscribe"}', "frame_invalid"),
        (
            '{"type": "send", "conversation_id": "1", "text": "hi", "client_id": "c"}',
            "frame_invalid",
        ),
        ('{"type": "auth", "token": "again"}', "frame_invalid"),
    ],
)
async def test_a_bad_frame_is_answered_and_the_socket_stays_open(
    alice: User, bob: User, chat: int, raw: str | bytes, code: str
) -> None:
    async with alice.websocket() as live:
        await live.connection.send(raw)
        frame = await next_frame(live)
        assert frame["type"] == "error"
        assert frame["error"]["code"] == code
        assert "client_id" not in frame

        await live.send_message(chat, "still here", "after-bad-frame")
        assert (await next_frame(live))["type"] == "ack"
    assert [m["text"] for m in (await bob.history(chat))["messages"]] == ["still here"]


async def test_auth_with_since_replays_what_was_missed_in_order(
    alice: User, bob: User, chat: int
) -> None:
    _, cursor = await full_sync(bob)
    missed = [await alice.send(chat, f"while you were away {i}") for i in range(5)]

    async with bob.websocket(since=cursor) as live:
        replayed = [await next_frame(live) for _ in missed]
        await assert_nothing_pending(live)

    assert [frame["message"] for frame in replayed] == missed
    assert replayed == (await bob.sync(since=cursor))["events"]


async def test_a_resume_frame_replays_from_the_given_cursor(
    alice: User, bob: User, chat: int
) -> None:
    _, cursor = await full_sync(bob)
    async with bob.websocket() as live:
        live_frames = []
        for i in range(3):
            await alice.send(chat, f"live {i}")
            live_frames.append(await next_frame(live))

        await live.send_frame({"type": "resume", "since": cursor})
        replayed = [await next_frame(live) for _ in range(3)]

        assert replayed == live_frames
        await assert_nothing_pending(live)


async def send_over(live: LiveSocket, conversation_id: int, count: int, prefix: str) -> list[dict]:
    """Sends `count` messages without waiting between them; returns the acked messages."""
    for i in range(count):
        await live.send_message(conversation_id, f"{prefix} {i}", f"{prefix}-{i}")
    acks = []
    while len(acks) < count:
        frame = await next_frame(live)
        assert frame["type"] == "ack", frame
        acks.append(frame["message"])
    return acks


async def test_replay_and_live_events_together_deliver_each_message_once_in_order(
    alice: User, bob: User, chat: int
) -> None:
    _, cursor = await full_sync(bob)
    async with alice.websocket() as alices:
        missed = await send_over(alices, chat, 650, "missed")  # more than one replay page
        async with bob.websocket(since=cursor) as live:
            during = asyncio.create_task(send_over(alices, chat, 100, "during"))
            frames = [await next_frame(live) for _ in range(750)]
            sent_during = await during
            await assert_nothing_pending(live)

    cursors = [frame["cursor"] for frame in frames]
    assert cursors == sorted(set(cursors))
    received = [frame["message"] for frame in frames]
    assert sorted(m["id"] for m in received) == sorted(m["id"] for m in missed + sent_during)
    assert [m["seq"] for m in received] == list(range(1, 751))


async def test_a_group_message_reaches_every_members_socket(
    alice: User, bob: User, carol: User, make_user: MakeUser
) -> None:
    outsider = await make_user("dan")
    group = await group_of(alice, "Trio", bob, carol)
    async with (
        alice.websocket() as alices,
        bob.websocket() as bobs,
        carol.websocket() as carols,
        outsider.websocket() as outsiders,
    ):
        await bobs.send_message(group["id"], "hello, group", "group-1")
        ack = await next_frame(bobs)
        event = {"type": "message", "cursor": ack["cursor"], "message": ack["message"]}
        assert await next_frame(alices) == event
        assert await next_frame(carols) == event
        await assert_nothing_pending(outsiders)


@asynccontextmanager
async def reader_that_stops(user: User) -> AsyncIterator[ClientConnection]:
    """An authenticated socket whose owner stops reading: tiny buffers on the client side."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    host, port = user.base_url.removeprefix("http://").split(":")
    sock.connect((host, int(port)))
    sock.setblocking(False)
    async with raw_socket(ws_url(user), sock=sock, max_queue=1, max_size=None) as connection:
        await connection.send(orjson.dumps({"type": "auth", "token": user.token}).decode())
        assert (await receive(connection))["type"] == "ready"
        yield connection


async def test_a_socket_that_does_not_keep_up_is_closed_and_can_resume(
    servers: ServerPool, make_user: MakeUser
) -> None:
    tight = servers.shared(ws_send_queue_frames=16)
    alice = await make_user("alice", on=tight)
    bob = await make_user("bob", on=tight)
    chat = (await alice.open_direct(bob.id))["id"]
    _, cursor = await full_sync(bob)
    count = 800  # about 6.5 MB: more than the kernel buffers between server and client hold

    async with reader_that_stops(bob) as stalled:
        sent = []
        for start in range(0, count, 50):
            sent += await asyncio.gather(
                *(alice.send(chat, f"{i:04} " + "x" * 8000) for i in range(start, start + 50))
            )
        assert (await alice.raw("GET", "/healthz")).status_code == 200

        received: list[dict] = []
        with pytest.raises(ConnectionClosed):
            while True:
                received.append(orjson.loads(await asyncio.wait_for(stalled.recv(), WAIT)))
        # 1013 when the server could still write its close frame; 1006 when the socket stayed
        # unwritable past the close timeout and the server dropped it.
        assert stalled.close_code in (1013, 1006)
        assert (await alice.raw("GET", "/healthz")).status_code == 200

    sent.sort(key=lambda message: message["seq"])
    assert [m["seq"] for m in sent] == list(range(1, count + 1))
    assert 0 < len(received) < count  # what the buffers held; the rest waits in the stream
    assert messages_of(received) == sent[: len(received)]
    async with bob.websocket(since=received[-1]["cursor"]) as resumed:
        rest = [await next_frame(resumed) for _ in range(count - len(received))]
        await assert_nothing_pending(resumed)
    assert messages_of(received + rest) == sent
    assert messages_of((await full_sync(bob, since=cursor))[0]) == sent


async def test_a_send_over_the_size_limit_is_refused_and_a_huge_frame_closes_the_socket(
    alice: User, bob: User, chat: int
) -> None:
    async with alice.websocket() as live:
        await live.send_message(chat, "中" * 2731, "too-big-1")  # 8193 bytes of UTF-8
        refused = await next_frame(live)
        assert (refused["client_id"], refused["error"]["code"]) == (
            "too-big-1",
            "message_too_large",
        )

        await live.send_message(chat, "x" * 70_000, "way-too-big-1")  # over the frame limit
        with pytest.raises(ConnectionClosed):
            await next_frame(live)
        assert live.connection.close_code == 1009
    assert (await bob.history(chat))["messages"] == []


async def test_a_text_frame_that_is_not_utf8_closes_with_1007_and_logs_no_traceback(
    server: Server, alice: User
) -> None:
    logged_before = server.log_file.stat().st_size
    async with alice.websocket() as live:
        await live.connection.send(b'{"type": "ping", "x": "\xff"}', text=True)
        with pytest.raises(ConnectionClosed):
            await next_frame(live)
        assert live.connection.close_code == 1007
    async with alice.websocket() as again:
        await assert_nothing_pending(again)
    logged = server.log_file.read_bytes()[logged_before:].decode(errors="replace")
    assert "Traceback" not in logged
    assert [level for level, event in server.logged("uvicorn.error") if "UTF-8" in event] == [
        "warning"
    ]


@pytest.mark.parametrize(
    ("path", "root_path", "served"),
    [
        ("/api/v1/ws", "", True),
        ("/prefix/api/v1/ws", "/prefix", True),  # under `--root-path /prefix`, or a mount
        ("/prefix/api/v1/ws", "", False),
        ("/api/v1/wsx", "", False),
        ("/api/v1/ws/", "", False),
    ],
)
async def test_the_gateway_serves_its_path_within_the_apps_root_and_passes_on_the_rest(
    path: str, root_path: str, served: bool
) -> None:
    """The gateway matches the path as the router would; whatever it does not serve goes on to
    the app (here a client gone before the handshake, so the gateway answers nothing)."""
    passed_on: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        passed_on.append(scope["path"])

    async def gone() -> dict[str, Any]:
        return {"type": "websocket.disconnect", "code": 1001}

    async def nothing_sent(message: dict[str, Any]) -> None:
        raise AssertionError(f"sent {message} to a client that left")

    gateway = WebSocketGateway(app, State(), Metrics(["127.0.0.1"]))
    scope = {"type": "websocket", "path": path, "root_path": root_path, "headers": []}
    await gateway(scope, gone, nothing_sent)
    assert passed_on == ([] if served else [path])
