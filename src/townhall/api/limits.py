"""An ASGI guard that refuses what no route takes: a request body over the configured size (413),
and a NUL character in the path or the query (400), which no name, term or filter holds and
PostgreSQL's text cannot (it answered a 500).

The body is read here, up to the limit, before the app sees it: a chunked upload without a
Content-Length is refused as soon as it passes the limit, and the app never parses a partial one.
A route that streams its body (a media upload, an image hash list) is let past: it counts the body
itself, within limits of its own (a media upload keeps none of it in memory).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from townhall.api.errors import error_response
from townhall.domain.errors import ErrorCode

# (method, path) of the routes that stream their body within caps of their own.
STREAMED_BODIES = frozenset(
    {("POST", "/api/v1/media"), ("POST", "/api/v1/admin/moderation/image-hashes")}
)


class RequestGuard:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _holds_nul(scope):
            nul = "the path or the query holds a NUL character (%00)"
            await error_response(ErrorCode.INVALID_REQUEST, nul)(scope, receive, send)
            return
        if (scope["method"], scope["path"]) in STREAMED_BODIES:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        if declared == b"0" or (declared is None and b"transfer-encoding" not in headers):
            await self.app(scope, receive, send)  # HTTP/1.1: no length and no chunks, no body
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replaying(bytes(body), receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            ErrorCode.BODY_TOO_LARGE, f"request bodies are limited to {self.max_bytes} bytes"
        )
        await response(scope, receive, send)


def _holds_nul(scope: Scope) -> bool:
    return b"%00" in scope["query_string"] or "\x00" in scope["path"]


def _replaying(body: bytes, receive: Receive) -> Receive:
    """Hand the buffered body over once, then pass on the real events (e.g. a disconnect)."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
