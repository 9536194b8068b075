"""The bare ASGI app the benchmarks measure Townhall beside: served on the same stack (uvicorn,
uvloop, httptools, websockets-sansio), it does only what the stack and the protocol require.
What a request or a message costs it is what the stack costs; the rest of Townhall's figure is
Townhall's.

- HTTP: it reads a request's body and answers a small JSON object. Two paths relay messages
  by long poll: `POST /send/NAME` keeps the body for NAME and wakes its poll, and
  `GET /poll/NAME?since=N` answers what NAME was sent past the first N (`{"events", "next"}`),
  waiting for one if there is none yet.
- WebSocket: a relay. The first frame names the socket (`{"type": "auth", "token": NAME}`);
  each `{"type": "send", "conversation_id": NAME, …}` after it is acked to its sender and
  handed as a `message` event to the socket of that name, with the frames Townhall's gateway
  writes, so that one client drives both.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import orjson

BODY = b'{"ok":true}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]

Send = Any
sockets: dict[str, Send] = {}  # a relay socket's name → its ASGI send
positions = itertools.count(1)
mailboxes: dict[str, list[bytes]] = {}  # a long poll's name → the bodies sent to it
waiting: dict[str, asyncio.Future[None]] = {}  # a name → its poll waiting for a body


async def app(scope: dict[str, Any], receive: Any, send: Send) -> None:
    if scope["type"] == "http":
        await _answer(scope, receive, send)
    elif scope["type"] == "websocket":
        await _relay(receive, send)


async def _answer(scope: dict[str, Any], receive: Any, send: Send) -> None:
    body = b""
    more_body = True
    while more_body:
        message = await receive()
        body += message.get("body", b"")
        more_body = message.get("more_body", False)
    kind, _, name = scope["path"][1:].partition("/")
    if kind == "send":
        mailboxes.setdefault(name, []).append(body)
        if (poll := waiting.pop(name, None)) is not None:
            poll.set_result(None)
    elif kind == "poll":
        polled = await _polled(name, int(scope["query_string"].split(b"=")[1]))
        length = b"%d" % len(polled)
        await _respond(
            send, polled, [(b"content-type", b"application/json"), (b"content-length", length)]
        )
        return
    await _respond(send, BODY, HEADERS)


async def _polled(name: str, since: int) -> bytes:
    mailbox = mailboxes.setdefault(name, [])
    if len(mailbox) <= since:
        await waiting.setdefault(name, asyncio.get_running_loop().create_future())
    return b'{"events":[%b],"next":%d}' % (b",".join(mailbox[since:]), len(mailbox))


async def _respond(send: Send, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _relay(receive: Any, send: Send) -> None:
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    first = await receive()
    if first["type"] != "websocket.receive":
        return
    name = str(orjson.loads(_payload(first))["token"])
    sockets[name] = send
    await send({"type": "websocket.send", "text": '{"type":"ready","cursor":0}'})
    try:
        while (message := await receive())["type"] == "websocket.receive":
            frame = orjson.loads(_payload(message))
            position = next(positions)
            ack = {"type": "ack", "client_id": frame["client_id"], "cursor": position}
            await send({"type": "websocket.send", "text": orjson.dumps(ack).decode()})
            peer = sockets.get(str(frame["conversation_id"]))
            if peer is not None:
                event = {"type": "message", "cursor": position, "message": {"text": frame["text"]}}
                await peer({"type": "websocket.send", "text": orjson.dumps(event).decode()})
    finally:
        del sockets[name]


def _payload(message: dict[str, Any]) -> str | bytes:
    text = message.get("text")
    return text if text is not None else message.get("bytes") or b""
