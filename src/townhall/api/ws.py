"""The WebSocket gateway: auth on the first frame, events pushed, sends acked after commit.

Each socket has one bounded outbox drained by one pump task, so frames leave in the order they
were committed. A client that cannot keep up is dropped (with close code 1013 when the socket
still takes a frame) rather than allowed to grow the server's memory; it reconnects and resumes
from its last cursor.

The gateway is an ASGI layer of its own, just inside the request id's, and serves its path on
uvicorn's receive and send themselves: through the router, Starlette's `WebSocket` and the
middleware between, every frame passed four more calls, and each socket kept a coroutine alive
in each layer (docs/benchmarks.md, "The WebSocket path").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import msgspec
import orjson
from starlette.datastructures import State
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.contextvars import bind_contextvars

from townhall.api.errors import error_body
from townhall.api.i18n import negotiate, translated
from townhall.api.metrics import Metrics, observed_socket
from townhall.bus.base import user_channel
from townhall.config import Settings
from townhall.domain.errors import DomainError, ErrorCode
from townhall.domain.events import LIVE_ONLY_PREFIXES, SIGNED_OUT_PREFIX
from townhall.domain.frames import (
    NOT_JSON,
    PingFrame,
    ResumeFrame,
    SendFrame,
    TypingFrame,
    auth_decoder,
    frame_cursor,
    frame_decoder,
)
from townhall.services.container import Services
from townhall.services.holds import Holds
from townhall.services.principal import Principal
from townhall.services.rendering import render_message
from townhall.store.message_log import Appended

log = logging.getLogger(__name__)

PATH = "/api/v1/ws"
CLOSE_UNAUTHENTICATED = 4401
CLOSE_SLOW_CONSUMER = 1013
CLOSE_POLICY = 1008
MAX_SENDS_IN_FLIGHT = 256
REPLAY_PAGE = 500
CLOSE_TIMEOUT_SECONDS = 1.0


class Socket:
    """One WebSocket as uvicorn hands it to the app: its ASGI receive and send."""

    __slots__ = ("_send", "receive", "scope")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self.receive = receive
        self._send = send

    def header(self, name: bytes) -> str | None:
        """The handshake's header `name` (lower case), if sent."""
        return next((v.decode("latin-1") for k, v in self.scope["headers"] if k == name), None)

    async def accept(self) -> bool:
        """Complete the handshake; False if the client left before it."""
        if (await self.receive())["type"] != "websocket.connect":
            return False
        await self._send({"type": "websocket.accept"})
        return True

    async def send_text(self, text: str) -> None:
        await self._send({"type": "websocket.send", "text": text})

    async def close(self, code: int, reason: str) -> None:
        await self._send({"type": "websocket.close", "code": code, "reason": reason})


class _Left(Exception):
    """The client closed the socket."""


class WebSocketGateway:
    """Serves `PATH`'s WebSockets; every other request goes on to `app`."""

    def __init__(self, app: ASGIApp, state: State, metrics: Metrics) -> None:
        self.app = app
        self.state = state  # the app's: its services and settings are set when it starts
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or _route_path(scope) != PATH:
            await self.app(scope, receive, send)
            return
        with observed_socket(self.metrics, scope):
            await gateway(Socket(scope, receive, send), self.state)


def _route_path(scope: Scope) -> str:
    """The path within the app, as Starlette's router matches it: less the root path the app
    is served under (`--root-path`, or a mount), if the path is within it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root + "/") else path


class _Resume:
    __slots__ = ("number", "since")

    def __init__(self, since: int, number: int) -> None:
        self.since = since
        self.number = number  # the socket's resumes so far: a later one supersedes this one


class Replays:
    """How many replays run at once: a replay reads a user's history page by page, and many at
    once (one user's many sockets, or everyone's after a restart) would starve live traffic."""

    def __init__(self, *, per_user: int, in_all: int) -> None:
        self._per_user = per_user
        self._in_all = asyncio.Semaphore(in_all)
        self._users: dict[int, tuple[asyncio.Semaphore, int]] = {}

    @asynccontextmanager
    async def turn(self, account_id: int) -> AsyncIterator[None]:
        mine, waiting = self._users.get(account_id, (asyncio.Semaphore(self._per_user), 0))
        self._users[account_id] = (mine, waiting + 1)
        try:
            async with mine, self._in_all:
                yield
        finally:
            mine, waiting = self._users[account_id]
            if waiting == 1:
                del self._users[account_id]
            else:
                self._users[account_id] = (mine, waiting - 1)


class Connection:
    """One authenticated socket. Outbox items: bytes = an event frame, str = a control frame."""

    def __init__(
        self,
        websocket: Socket,
        principal: Principal,
        services: Services,
        outbox_max: int,
        replays: Replays,
    ) -> None:
        self.websocket = websocket
        self.replays = replays
        self.principal = principal
        self.services = services
        self.outbox: deque[bytes | str | _Resume] = deque()
        self.outbox_max = outbox_max
        self.wakeup = asyncio.Event()
        # Set when serving ends: the peer left, the pump failed, the outbox overflowed or the
        # session ended. One future, not a task and an Event for each way (~4 KB a socket).
        self.ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.overflowed = False
        self.signed_out = False
        self.skip_upto = 0  # after a replay, live events up to here were already sent
        self.resumes = 0
        self.in_flight = asyncio.Semaphore(MAX_SENDS_IN_FLIGHT)
        # Refusals in the language the browser asked for when it opened the socket.
        self.language = negotiate(websocket.header(b"accept-language"))

    def on_event(self, frame: bytes, origin: object) -> None:
        """Bus delivery. The socket that sent a message gets an ack instead of the event."""
        if origin is self:
            return
        if frame.startswith(LIVE_ONLY_PREFIXES):  # a live post or typing: no cursor, a control
            self._enqueue(frame.decode())
            return
        if frame.startswith(SIGNED_OUT_PREFIX):
            token_hash = orjson.loads(frame)["token_hash"]
            if token_hash in (None, self.principal.token_hash):
                self.signed_out = True
                self.end()
            return
        self._enqueue(frame)

    def _enqueue(self, item: bytes | str | _Resume) -> None:
        if len(self.outbox) >= self.outbox_max:
            self.overflowed = True  # the gateway closes the socket; nothing more is queued
            self.end()
            return
        self.outbox.append(item)
        self.wakeup.set()

    def resume(self, since: int) -> None:
        """Replay from `since`. A resume supersedes every earlier one of this socket: those
        still queued are dropped, and one being replayed stops at its next page."""
        self.resumes += 1
        if any(type(item) is _Resume for item in self.outbox):
            kept = [item for item in self.outbox if type(item) is not _Resume]
            self.outbox.clear()
            self.outbox.extend(kept)
        self._enqueue(_Resume(since, self.resumes))

    def end(self, _: object = None) -> None:
        """Stop serving (also a done callback of the pump and the receive loop)."""
        if not self.ended.done():
            self.ended.set_result(None)

    def send_control(self, frame: dict) -> None:
        self._enqueue(orjson.dumps(frame).decode())

    async def pump(self) -> None:
        """Drain the outbox into the socket, in order, until cancelled."""
        websocket = self.websocket
        outbox = self.outbox
        while True:
            if not outbox:
                self.wakeup.clear()
                await self.wakeup.wait()
                continue
            item = outbox.popleft()
            if type(item) is bytes:
                if self.skip_upto:
                    if frame_cursor(item) <= self.skip_upto:
                        continue
                    self.skip_upto = 0
                await websocket.send_text(item.decode())
            elif type(item) is str:
                await websocket.send_text(item)
            else:  # the one other kind of item: a resume
                assert isinstance(item, _Resume)
                async with self.replays.turn(self.principal.account_id):
                    await self._replay(item)

    async def _replay(self, resume: _Resume) -> None:
        sync = self.services.sync
        since = resume.since
        while resume.number == self.resumes:  # until done, or superseded by a later resume
            try:
                events, cursor = await sync.events_since(self.principal, since, limit=REPLAY_PAGE)
            except DomainError as exc:
                await self.websocket.send_text(orjson.dumps(self._refusal(None, exc)).decode())
                return
            for event in events:
                await self.websocket.send_text(orjson.dumps(event).decode())
            if events:
                self.skip_upto = max(self.skip_upto, events[-1]["cursor"])
            if len(events) < REPLAY_PAGE:
                return
            since = cursor
            await asyncio.sleep(0)  # a page at a time: live traffic goes between pages

    async def handle(self, raw: str | bytes) -> None:
        try:
            frame = frame_decoder.decode(raw)
        except msgspec.ValidationError as exc:
            self.send_control(_error(None, ErrorCode.FRAME_INVALID, str(exc)))
            return
        except NOT_JSON:
            self.send_control(_error(None, ErrorCode.MALFORMED_JSON, "the frame is not valid JSON"))
            return
        if type(frame) is SendFrame:
            # A read-only role (the auditor) may watch but never send: the send use case refuses
            # it like any other refusal, and the socket stays open.
            await self.in_flight.acquire()  # backpressure: stop reading while too many wait
            await self._send(frame)
        elif type(frame) is ResumeFrame:
            self.resume(frame.since)
        elif type(frame) is PingFrame:
            self.send_control({"type": "pong", "cursor": self.services.sync.current_cursor})
        elif type(frame) is TypingFrame:
            await self._typing(frame)

    async def _typing(self, frame: TypingFrame) -> None:
        try:
            await self.services.messaging.typing(self.principal, frame.conversation_id)
        except DomainError as exc:
            self.send_control(self._refusal(None, exc))

    async def _send(self, frame: SendFrame) -> None:
        """Check the send and queue it; the ack or the refusal goes out once it is committed.
        The checks run here, in the order the frames came, and the commit answers through a
        callback: no task per send (a task each cost about 2 µs a message, `bench websocket`)."""
        try:
            pending = await self.services.messaging.queue_send(
                self.principal,
                frame.conversation_id,
                text=frame.text,
                client_id=frame.client_id,
                origin=self,
                reply_to=frame.reply_to,
                mentions=frame.mentions,
                mention_everyone=frame.mention_everyone,
                media_ids=frame.media_ids,
            )
        except Exception as exc:
            self._answer(frame.client_id, exc)
            return
        pending.add_done_callback(partial(self._committed, frame.client_id))

    def _committed(self, client_id: str, pending: asyncio.Future[Appended]) -> None:
        if pending.cancelled():  # nothing here cancels it; a future can be, though: no answer
            self.in_flight.release()
            return
        self._answer(client_id, pending.exception() or pending.result())

    def _answer(self, client_id: str, outcome: Appended | BaseException) -> None:
        """A send's ack, or why it was refused; either way one more send may be read."""
        self.in_flight.release()
        if isinstance(outcome, DomainError):
            self.send_control(self._refusal(client_id, outcome))
        elif isinstance(outcome, BaseException):
            log.error("send over the WebSocket failed", exc_info=outcome)
            self.send_control(_error(client_id, ErrorCode.INTERNAL_ERROR, "the send failed"))
        else:
            self.send_control(
                {
                    "type": "ack",
                    "client_id": client_id,
                    "cursor": outcome.message.position,
                    "duplicate": outcome.duplicate,
                    "message": render_message(outcome.message),
                }
            )

    def _refusal(self, client_id: str | None, exc: DomainError) -> dict:
        return _error(
            client_id, exc.code, translated(exc.code, exc.message, self.language, exc.subjects)
        )


def _error(client_id: str | None, code: ErrorCode, message: str) -> dict:
    frame: dict = {"type": "error", **error_body(code, message)}
    if client_id is not None:
        frame["client_id"] = client_id
    return frame


async def gateway(websocket: Socket, state: State) -> None:
    if not await websocket.accept():
        return
    services: Services = state.services
    settings = state.settings
    try:
        principal, since = await _authenticate(
            websocket, services, settings.ws_auth_timeout_seconds
        )
    except _Refused as refusal:
        await websocket.send_text(
            orjson.dumps(_error(None, refusal.code, refusal.message)).decode()
        )
        await websocket.close(CLOSE_UNAUTHENTICATED, refusal.code)
        return
    except _Left:
        return
    bind_contextvars(account_id=principal.account_id)
    sockets: Holds = state.sockets
    if not sockets.take(principal.account_id):
        limit = services.limits.sockets_per_user
        said = _error(None, ErrorCode.TOO_MANY_SOCKETS, f"at most {limit} sockets at once")
        await _close_with(websocket, CLOSE_POLICY, "too many sockets", said)
        return
    try:
        await _serve(websocket, principal, since, services, settings, state.replays)
    finally:
        sockets.release(principal.account_id)


async def _serve(
    websocket: Socket,
    principal: Principal,
    since: int | None,
    services: Services,
    settings: Settings,
    replays: Replays,
) -> None:
    connection = Connection(websocket, principal, services, settings.ws_send_queue_frames, replays)
    await services.live_posts.connect(principal.account_id)
    # Subscribe before reading the cursor: nothing committed after it can be missed.
    subscription = services.bus.subscribe(user_channel(principal.account_id), connection.on_event)
    tasks: list[asyncio.Task[None]] = []
    try:
        await subscription.ready()  # other processes' publishes reach it too
        connection.send_control(
            {
                "type": "ready",
                "user_id": principal.account_id,
                "cursor": services.sync.current_cursor,
            }
        )
        if since is not None:
            connection.resume(since)
        tasks = [
            asyncio.create_task(connection.pump()),
            asyncio.create_task(_receive_loop(websocket, connection)),
        ]
        for task in tasks:
            task.add_done_callback(connection.end)
        await connection.ended
    finally:
        subscription.close()
        services.live_posts.disconnect(principal.account_id)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if connection.signed_out:
        await _close_with(websocket, CLOSE_UNAUTHENTICATED, "signed out", {"type": "signed_out"})
    elif connection.overflowed:
        await _close_with(websocket, CLOSE_SLOW_CONSUMER, "slow consumer: reconnect and resume")


async def _receive_loop(websocket: Socket, connection: Connection) -> None:
    receive = websocket.receive
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        await connection.handle(_payload(message))


def _payload(message: Message) -> str | bytes:
    text = message.get("text")
    return text if text is not None else message.get("bytes") or b""


async def _close_with(websocket: Socket, code: int, reason: str, frame: dict | None = None) -> None:
    """Say why, if the socket still takes frames; either way the connection is dropped."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
            if frame is not None:
                await websocket.send_text(orjson.dumps(frame).decode())
            await websocket.close(code, reason)


class _Refused(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


async def _authenticate(
    websocket: Socket, services: Services, timeout: float
) -> tuple[Principal, int | None]:
    try:
        message = await asyncio.wait_for(websocket.receive(), timeout)
    except TimeoutError as exc:
        raise _Refused(ErrorCode.AUTH_TIMEOUT, 'send {"type": "auth", "token"} first') from exc
    if message["type"] == "websocket.disconnect":
        raise _Left
    try:
        frame = auth_decoder.decode(_payload(message))
    except (msgspec.ValidationError, *NOT_JSON) as exc:
        raise _Refused(
            ErrorCode.AUTH_REQUIRED, 'the first frame must be {"type": "auth", "token"}'
        ) from exc
    try:
        principal = await services.accounts.authenticate(frame.token)
    except DomainError as exc:
        raise _Refused(exc.code, exc.message) from exc
    return principal, frame.since
