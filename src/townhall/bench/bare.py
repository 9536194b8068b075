"""The bare ASGI app `townhall bench http` measures Townhall beside: served on the same stack
(uvicorn, uvloop, httptools), it reads a request's body and answers a small JSON object, and
does nothing else. What a request costs it is what the stack costs; the rest of Townhall's
figure is Townhall's."""

from __future__ import annotations

from typing import Any

BODY = b'{"ok":true}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more_body = True
    while more_body:
        message = await receive()
        more_body = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
