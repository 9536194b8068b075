"""Malformed input in bulk: bodies over every write route of /openapi.json and frames over the
WebSocket -- invalid UTF-8, deep nesting, wrong types, huge bodies and frames, binary frames --
each answered with its right 4xx or close code, while the server's memory grows by less than
50 MB and two users chatting throughout see every message acknowledged and delivered.

test_bad_input.py and test_websocket.py pin down each refusal on one route or socket; this module
is about volume, breadth over the routes, memory and the other clients. `make test` sends a few
hundred of each, `make drill` 10,000.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import MakeUser, Server, User
from tests.support import (
    WRITE_METHODS,
    assert_error,
    drill_scale,
    full_history,
    openapi_routes,
    request_bodies,
)
from townhall.client import LiveSocket

# The PostgreSQL run leaves it out (Makefile).
pytestmark = [
    pytest.mark.drill,
    pytest.mark.http_layer,
    pytest.mark.usefixtures("no_server_errors"),
]

BODIES = drill_scale(200, 10_000)
FRAMES = drill_scale(200, 10_000)
RSS_GROWTH_LIMIT_MB = 50
BODY_LIMIT = 65_536  # max_request_body_bytes, the same cap for a WebSocket frame
SENDERS = 4  # requests in flight at once
FRAME_BATCH = 50  # frames sent before their answers are read
WAIT = 10  # seconds: generous, only reached when something is wrong
CHAT_PAUSE = 0.02  # seconds between two messages of the chatting pair


def rss_mb(server: Server) -> float:
    """The server process's resident memory, from the kernel's own count."""
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    kilobytes = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(kilobytes) / 1024


# The chatting pair ------------------------------------------------------------------------------


@dataclass
class Chat:
    """What the pair exchanged while the malformed input flowed."""

    acknowledged: int = 0
    slowest_seconds: float = 0.0


@asynccontextmanager
async def chatting(alice: User, bob: User) -> AsyncIterator[Chat]:
    """Alice sends to Bob over the WebSocket until the block ends; each message must be acked to
    her and delivered to him, each within WAIT seconds, and every one must be in the history."""
    conversation = (await alice.open_direct(bob.id))["id"]
    chat = Chat()
    stop = asyncio.Event()
    async with alice.websocket() as talker, bob.websocket() as listener:
        talking = asyncio.create_task(talk(talker, listener, conversation, chat, stop))
        try:
            yield chat
        finally:
            stop.set()
            await talking  # raises if a message went unacknowledged or undelivered
    texts = [message["text"] for message in await full_history(bob, conversation)]
    assert texts == [f"message {n}" for n in range(chat.acknowledged)]


async def talk(
    talker: LiveSocket, listener: LiveSocket, conversation: int, chat: Chat, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        number = chat.acknowledged
        started = time.monotonic()
        client_id = await talker.send_message(conversation, f"message {number}", f"chat-{number}")
        ack = await asyncio.wait_for(talker.receive_until("ack"), WAIT)
        assert ack["client_id"] == client_id, ack
        delivered = await asyncio.wait_for(listener.receive_until("message"), WAIT)
        assert delivered["message"]["text"] == f"message {number}", delivered
        chat.acknowledged += 1
        chat.slowest_seconds = max(chat.slowest_seconds, time.monotonic() - started)
        await asyncio.sleep(CHAT_PAUSE)


@pytest.fixture
async def pair(make_user: MakeUser, fresh_server: Server) -> tuple[User, User]:
    return await make_user("alice", on=fresh_server), await make_user("bob", on=fresh_server)


# Malformed bodies ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Body:
    """A malformed request body and the answer it must get."""

    kind: str
    content: bytes
    status: int
    code: str | None
    content_type: str = "application/json"
    chunked: bool = False


Example = Any  # a valid body of the route, as request_bodies builds it
BodyKind = Callable[[Example, random.Random], Body | None]


def not_utf8(_: Example, rng: random.Random) -> Body:
    bad = bytes([0xFF, rng.randrange(0x80, 0xC0), 0xFE])
    return Body("not-utf8", b'{"x": "' + bad + b'"}', 400, "malformed_json")


def truncated(example: Example, rng: random.Random) -> Body:
    whole = json.dumps(example).encode()
    return Body("truncated", whole[: rng.randrange(1, len(whole))], 400, "malformed_json")


def not_json(_: Example, rng: random.Random) -> Body:
    text = rng.choice([b"hello", b"{'a': 1}", b"{,}", b"[1,]", b'{"a" 1}', b"undefined", b"}{"])
    return Body("not-json", text, 400, "malformed_json")


def binary(_: Example, rng: random.Random) -> Body:
    return Body(
        "binary", b"\xff\x00" + rng.randbytes(rng.randrange(1, 4096)), 400, "malformed_json"
    )


def deep_array(_: Example, rng: random.Random) -> Body:
    depth = rng.randrange(2_000, 30_000)
    return Body("deep-array", b"[" * depth + b"]" * depth, 400, "malformed_json")


def deep_object(_: Example, rng: random.Random) -> Body:
    depth = rng.randrange(2_000, 10_000)
    return Body("deep-object", b'{"a":' * depth + b"1" + b"}" * depth, 400, "malformed_json")


def wrong_type(example: Example, rng: random.Random) -> Body | None:
    if not isinstance(example, dict) or not example:
        return None
    name = rng.choice(sorted(example))
    wrong = [1] if isinstance(example[name], dict) else {"nested": [1]}
    content = json.dumps({**example, name: wrong}).encode()
    # A field of a few choices names itself in the code (`sanction_kind_invalid`).
    return Body("wrong-type", content, 400, None)


def unknown_field(example: Example, rng: random.Random) -> Body | None:
    if not isinstance(example, dict):
        return None
    content = json.dumps({**example, f"surplus_{rng.randrange(10**6)}": 1}).encode()
    return Body("unknown-field", content, 400, "invalid_request")


def not_an_object(example: Example, rng: random.Random) -> Body:
    content = json.dumps(rng.choice([[], [example], 0, "text", None, True])).encode()
    return Body("not-an-object", content, 400, "invalid_request")


def lone_surrogate(example: Example, rng: random.Random) -> Body | None:
    strings = sorted(name for name, value in example.items() if isinstance(value, str))
    if not strings:
        return None
    marker = "LONE-SURROGATE"
    content = json.dumps({**example, rng.choice(strings): marker}).replace(marker, "\\ud800")
    return Body("lone-surrogate", content.encode(), 400, "invalid_request")


def huge(_: Example, rng: random.Random) -> Body:
    content = b'{"x": "' + b"a" * (BODY_LIMIT + rng.randrange(1, 200_000)) + b'"}'
    return Body("huge", content, 413, "body_too_large", chunked=rng.random() < 0.5)


def wrong_content_type(example: Example, _: random.Random) -> Body:
    content = json.dumps(example).encode()
    return Body("text-plain", content, 400, "invalid_request", content_type="text/plain")


def empty(_: Example, __: random.Random) -> Body:
    return Body("empty", b"", 400, "invalid_request")


BODY_KINDS: list[BodyKind] = [
    not_utf8, truncated, not_json, binary, deep_array, deep_object, wrong_type, unknown_field,
    not_an_object, lone_surrogate, huge, wrong_content_type, empty,
]  # fmt: skip


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # with every path parameter 1
    example: Example


def write_routes(server: Server) -> list[Route]:
    """Every route of the document that takes a JSON body, with a valid body to spoil."""
    spec = httpx.get(f"{server.base_url}/openapi.json").json()
    routes = []
    for method, template in openapi_routes(spec, WRITE_METHODS):
        example = request_bodies(spec, method, template, {})[0]
        if example is not None:
            path = "/".join("1" if p.startswith("{") else p for p in template.split("/"))
            routes.append(Route(method, path, example))
    return routes


def bodies(routes: list[Route], count: int, rng: random.Random) -> Iterator[tuple[Route, Body]]:
    """`count` malformed bodies, round the routes and the kinds, each kind on every route."""
    made = 0
    while made < count:
        for kind in BODY_KINDS:
            route = routes[made % len(routes)]
            body = kind(route.example, rng)
            if body is not None and made < count:
                made += 1
                yield route, body


async def chunks(content: bytes, size: int = 16_384) -> AsyncIterator[bytes]:
    for start in range(0, len(content), size):
        yield content[start : start + size]


async def send_bodies(
    http: httpx.AsyncClient, spoiled: Iterator[tuple[Route, Body]], answered: Counter[str]
) -> None:
    async def sender() -> None:
        for route, body in spoiled:  # the senders share one iterator
            content = chunks(body.content) if body.chunked else body.content
            answer = await http.request(
                route.method,
                route.path,
                content=content,
                headers={"Content-Type": body.content_type},
            )
            assert_error(answer, body.status, body.code)
            answered[body.kind] += 1

    await asyncio.gather(*(sender() for _ in range(SENDERS)))


async def test_malformed_bodies_get_4xx_hold_memory_and_leave_others_be(
    fresh_server: Server, make_user: MakeUser, pair: tuple[User, User]
) -> None:
    mallory = await make_user("mallory", on=fresh_server)
    routes = write_routes(fresh_server)
    assert len(routes) >= 20, routes  # the document's write routes, not a handful
    rng = random.Random(14)
    answered: Counter[str] = Counter()
    headers = {"Authorization": f"Bearer {mallory.token}"}
    async with httpx.AsyncClient(base_url=fresh_server.base_url, headers=headers) as http:
        # One of each kind on each route first: what the server allocates once is not growth.
        await send_bodies(http, bodies(routes, len(routes) * len(BODY_KINDS), rng), Counter())
        before = rss_mb(fresh_server)
        started = time.monotonic()
        async with chatting(*pair) as chat:
            await send_bodies(http, bodies(routes, BODIES, rng), answered)
        seconds = time.monotonic() - started
    growth = rss_mb(fresh_server) - before

    report(f"{BODIES} malformed bodies over {len(routes)} routes", answered, growth, chat, seconds)
    assert sum(answered.values()) == BODIES
    assert len(answered) == len(BODY_KINDS)
    assert growth < RSS_GROWTH_LIMIT_MB
    assert chat.acknowledged > 0


def report(what: str, counts: Counter[str], growth: float, chat: Chat, seconds: float) -> None:
    """The figures docs/security.md quotes (shown with `pytest -s`)."""
    print(
        f"\n{what} in {seconds:.1f} s: server RSS {growth:+.1f} MB; {chat.acknowledged} chat"
        f" messages acked and delivered meanwhile, the slowest in {chat.slowest_seconds:.2f} s;"
        f" by kind: {dict(sorted(counts.items()))}"
    )


# Malformed frames ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """A malformed WebSocket frame and what it must get: an error frame with `code` on a socket
    that stays open, or the socket closed with `close_code` (after an error frame with `code`
    for a first frame)."""

    kind: str
    data: str | bytes
    code: str | None = None
    close_code: int | None = None
    first: bool = False  # sent instead of the auth frame
    as_text: bool = False  # bytes sent in a text frame, unchecked


FrameKind = Callable[[random.Random], Frame]
SEND = {"type": "send", "conversation_id": 1, "text": "hi", "client_id": "c-1"}


def frame_not_json(rng: random.Random) -> Frame:
    return Frame(
        "not-json",
        rng.choice(["}{", "{not json", "hello", "{'a': 1}", '{"type" "ping"}']),
        "malformed_json",
    )


def frame_truncated(rng: random.Random) -> Frame:
    whole = json.dumps(SEND)
    return Frame("truncated", whole[: rng.randrange(1, len(whole))], "malformed_json")


def frame_empty(_: random.Random) -> Frame:
    return Frame("empty", "", "malformed_json")


def frame_deep_object(rng: random.Random) -> Frame:
    depth = rng.randrange(2_000, 10_000)
    return Frame("deep-object", '{"a":' * depth + "1" + "}" * depth, "malformed_json")


def frame_deep_array(rng: random.Random) -> Frame:
    depth = rng.randrange(2_000, 30_000)
    return Frame("deep-array", "[" * depth + "]" * depth, "frame_invalid")


def frame_wrong_type(rng: random.Random) -> Frame:
    name = rng.choice(["conversation_id", "text", "client_id"])
    wrong = rng.choice(
        [{"nested": [1]}, [1], None, True] + (["1"] if name == "conversation_id" else [1.5])
    )
    return Frame("wrong-type", json.dumps({**SEND, name: wrong}), "frame_invalid")


def frame_unknown_type(rng: random.Random) -> Frame:
    kind = rng.choice(["subscribe", "SEND", "", 5, None, "auth"])
    return Frame("unknown-type", json.dumps({"type": kind, "token": "x"}), "frame_invalid")


def frame_out_of_range(rng: random.Random) -> Frame:
    data = rng.choice(
        [{**SEND, "conversation_id": n} for n in (0, -1, 2**63, 2**70)]
        + [{"type": "resume", "since": n} for n in (-1, 2**64)]
    )
    return Frame("out-of-range", json.dumps(data), "frame_invalid")


def frame_not_an_object(rng: random.Random) -> Frame:
    return Frame(
        "not-an-object", rng.choice(["null", "0", '"send"', "[]", "true", "1e400"]), "frame_invalid"
    )


def frame_lone_surrogate(_: random.Random) -> Frame:
    return Frame("lone-surrogate", json.dumps(SEND).replace('"hi"', '"\\ud800"'), "malformed_json")


def frame_binary(rng: random.Random) -> Frame:
    return Frame("binary", b"\xff\x00" + rng.randbytes(rng.randrange(1, 4096)), "malformed_json")


def frame_binary_not_utf8(rng: random.Random) -> Frame:
    bad = bytes([0xFF, rng.randrange(0x80, 0xC0)])
    return Frame("binary-not-utf8", json.dumps(SEND).encode().replace(b"hi", bad), "malformed_json")


def frame_text_not_utf8(rng: random.Random) -> Frame:
    bad = bytes([0xFF, rng.randrange(0x80, 0xC0)])
    data = json.dumps(SEND).encode().replace(b"hi", bad)
    return Frame("text-not-utf8", data, close_code=1007, as_text=True)


def frame_huge(rng: random.Random) -> Frame:
    size = BODY_LIMIT + rng.randrange(1, 1_000_000)
    data: str | bytes = "a" * size if rng.random() < 0.5 else b"a" * size
    return Frame("huge", data, close_code=1009)


def frame_before_auth(rng: random.Random) -> Frame:
    spoiled = rng.choice([frame_not_json, frame_deep_object, frame_binary, frame_binary_not_utf8])(
        rng
    )
    return Frame("before-auth", spoiled.data, "auth_required", close_code=4401, first=True)


FRAME_KINDS: list[FrameKind] = [
    frame_not_json, frame_truncated, frame_empty, frame_deep_object, frame_deep_array,
    frame_wrong_type, frame_unknown_type, frame_out_of_range, frame_not_an_object,
    frame_lone_surrogate, frame_binary, frame_binary_not_utf8, frame_text_not_utf8, frame_huge,
    frame_before_auth,
]  # fmt: skip


def frames(count: int, rng: random.Random) -> Iterator[Frame]:
    for number in range(count):
        yield FRAME_KINDS[number % len(FRAME_KINDS)](rng)


@asynccontextmanager
async def raw_socket(server: Server) -> AsyncIterator[ClientConnection]:
    async with connect(server.ws_url, compression=None, proxy=None, max_size=None) as socket:
        yield socket


async def authenticated(socket: ClientConnection, token: str) -> None:
    await socket.send(json.dumps({"type": "auth", "token": token}))
    ready = json.loads(await asyncio.wait_for(socket.recv(), WAIT))
    assert ready["type"] == "ready", ready


async def closing_frame(server: Server, token: str, frame: Frame) -> None:
    """A frame that ends its socket, on a socket of its own."""
    async with raw_socket(server) as socket:
        if not frame.first:
            await authenticated(socket, token)
        # The server may close on a frame's header, before a frame over the size limit is sent.
        with contextlib.suppress(ConnectionClosed):
            await socket.send(frame.data, text=True if frame.as_text else None)
        if frame.code is not None:
            said = json.loads(await asyncio.wait_for(socket.recv(), WAIT))
            assert said["error"]["code"] == frame.code, said
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(socket.recv(), WAIT)
        assert socket.close_code == frame.close_code, (frame.kind, socket.close_code)


async def answered_frames(socket: ClientConnection, batch: list[Frame]) -> None:
    """Send a batch on the open socket, then read one error frame per frame, in order."""
    for frame in batch:
        await socket.send(frame.data)
    for frame in batch:
        said = json.loads(await asyncio.wait_for(socket.recv(), WAIT))
        assert said["type"] == "error" and said["error"]["code"] == frame.code, (frame.kind, said)


async def send_frames(
    server: Server, token: str, spoiled: Iterator[Frame], answered: Counter[str]
) -> None:
    async with raw_socket(server) as socket:
        await authenticated(socket, token)
        batch: list[Frame] = []
        for frame in spoiled:
            if frame.close_code is not None:
                await closing_frame(server, token, frame)
            else:
                batch.append(frame)
            if len(batch) == FRAME_BATCH:
                await answered_frames(socket, batch)
                batch.clear()
            answered[frame.kind] += 1
        await answered_frames(socket, batch)
        await socket.send(json.dumps({"type": "ping"}))  # the socket still works
        assert json.loads(await asyncio.wait_for(socket.recv(), WAIT))["type"] == "pong"


async def test_malformed_frames_get_errors_or_close_codes_hold_memory_and_leave_others_be(
    fresh_server: Server, make_user: MakeUser, pair: tuple[User, User]
) -> None:
    mallory = await make_user("mallory", on=fresh_server)
    rng = random.Random(14)
    answered: Counter[str] = Counter()
    await send_frames(fresh_server, mallory.token, frames(len(FRAME_KINDS), rng), Counter())
    before = rss_mb(fresh_server)
    started = time.monotonic()
    async with chatting(*pair) as chat:
        await send_frames(fresh_server, mallory.token, frames(FRAMES, rng), answered)
    seconds = time.monotonic() - started
    growth = rss_mb(fresh_server) - before

    report(f"{FRAMES} malformed WebSocket frames", answered, growth, chat, seconds)
    assert sum(answered.values()) == FRAMES
    assert len(answered) == len(FRAME_KINDS)
    assert growth < RSS_GROWTH_LIMIT_MB
    assert chat.acknowledged > 0
