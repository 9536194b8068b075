"""The bare ASGI app the benchmarks measure Townhall beside: served on the same stack (uvicorn,
uvloop, httptools, websockets-sansio), it does only what the stack and the protocol require.
What a request or a message costs it is what the stack costs; the rest of Townhall's figure is
Townhall's.

- HTTP: it reads a request's body and answers a small JSON object.
- WebSocket: a relay. The first frame names the socket (`{"type": "auth", "token": NAME}`);
  each `{"type": "send", "conversation_id": NAME, …}` after it is acked to its sender and
  handed as a `message` event to the socket of that name, with the frames Townhall's gateway
  writes, so that one client drives both.
"""

from __future__ import annotations

import itertools
from typing import Any

import orjson

BODY = b'{"ok":true}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]

Send = Any
sockets: dict[str, Send] = {}  # a relay socket's name → its ASGI send
positions = itertools.count(1)


async def app(scope: dict[str, Any], receive: Any, send: Send) -> None:
    if scope["type"] == "http":
        await _answer(receive, send)
    elif scope["type"] == "websocket":
        await _relay(receive, send)


async def _answer(receive: Any, send: Send) -> None:
    more_body = True
    while more_body:
        message = await receive()
        more_body = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


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
