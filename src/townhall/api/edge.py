"""The edge: what every request gets on its way in and every answer on its way out, in one ASGI
layer, the outermost.

- A request id: the client's `X-Request-ID` if it is a UUID (a proxy's `$request_id` is), else
  a new one. Every line logged while serving the request or the socket carries it, and the
  answer echoes it.
- The security headers (api/headers.py), on every HTTP answer, refusals included.
- The metrics and the access log (api/metrics.py): each request counted and timed by its route's
  template, and one line on `townhall.access`.

They were four layers (asgi-correlation-id's among them). Each wrapped the ASGI `send` and
added a coroutine to every request: together about 35 µs of CPU a request, a quarter of an empty
`/sync` (docs/benchmarks.md, "The edge")."""

from __future__ import annotations

import random
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.contextvars import bind_contextvars, clear_contextvars

from townhall.api.headers import security_headers
from townhall.api.metrics import Metrics, log_request

REQUEST_ID = b"x-request-id"


class Edge:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        clear_contextvars()
        bind_contextvars(request_id=request_id)
        if kind != "http":
            await self.app(scope, receive, send)  # a WebSocket: the gateway counts and logs it
            return
        added = (*security_headers(scope), (REQUEST_ID, request_id.encode()))
        status = 500  # unless the app starts an answer

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = _with(message.get("headers", ()), added)
            await send(message)

        in_progress = self.metrics.in_progress
        in_progress.inc()
        started = time.perf_counter()
        try:
            await self.app(scope, receive, answer)
        finally:
            seconds = time.perf_counter() - started
            in_progress.dec()
            self.metrics.answered(scope, status, seconds)
            log_request(scope, status, seconds)


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == REQUEST_ID:
            given = value.decode("latin-1")
            try:
                uuid.UUID(given)
            except ValueError:
                break
            return given
    # Not a secret (a client may name its own): no system call for entropy, as uuid4's.
    return f"{random.getrandbits(128):032x}"


def _with(
    headers: list[tuple[bytes, bytes]], added: tuple[tuple[bytes, bytes], ...]
) -> list[tuple[bytes, bytes]]:
    """The answer's headers and those it did not set itself (what a route set stays)."""
    present = {name.lower() for name, _ in headers}
    return [*headers, *(header for header in added if header[0] not in present)]
