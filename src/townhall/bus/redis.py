"""The Redis bus: several server processes share one Redis, and a publish reaches them all.

One pub/sub connection per process follows the channels this process has subscribers on
(SUBSCRIBE when the first local subscriber comes, UNSUBSCRIBE when the last goes), so a process
receives only what its own users need. A publish is delivered to this process's subscribers at
once, with its origin, as MemoryBus does, and queued for a writer task that sends whatever is
queued to Redis in one call: publish never awaits. Each payload travels behind this bus's
tag, so the copy that comes back from Redis is recognised and not delivered twice.

Live pushes are best effort. While Redis is unreachable the bus counts and drops what it would
send, says so once in the log and reconnects by itself; clients catch up from the database by
their cursor (docs/architecture.md, "Across processes").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import time
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any

import redis.asyncio as redis
from redis.asyncio.connection import Connection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from townhall.bus.base import BusSubscription, Deliver, Subscribers

log = logging.getLogger(__name__)

TAG_BYTES = 8
# Publishes waiting for Redis; past this the newest are dropped (and counted) rather than
# letting a stalled Redis grow the process without bound.
OUTBOX_MAX = 100_000
PUBLISH_BATCH_MAX = 1_000
# One command for a whole batch: 2 µs of this process's CPU a publish, measured, against 18 µs
# for the same publishes pipelined one command each (redis-py packs every command in Python).
PUBLISH_ALL = """
for i = 1, #ARGV, 2 do redis.call('PUBLISH', ARGV[i], ARGV[i + 1]) end
return #ARGV / 2
"""
# Seconds before each reconnection attempt; the last one repeats while Redis stays away.
RECONNECT_DELAYS = (0.05, 0.25, 1.0, 2.0)
# A pub/sub connection quiet this long is pinged; one that stays quiet as long again is dead.
QUIET_SECONDS = 10.0
# How long `ready()` waits for Redis to confirm a subscription before giving up on it.
READY_WAIT_SECONDS = 1.0
FLUSH_ON_CLOSE_SECONDS = 1.0
# Always subscribed: a pub/sub connection reads nothing until it follows some channel.
CONTROL_CHANNEL = "bus"


class RedisBus:
    def __init__(self, url: str, *, prefix: str = "townhall:") -> None:
        # No retries inside redis-py: a failure reaches this bus, which reconnects on its own
        # schedule and keeps count of what it dropped meanwhile.
        # Named after the prefix, so that `CLIENT LIST` shows whose connections these are.
        self._client = redis.Redis.from_url(
            url,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=5,
            socket_timeout=5,
            client_name=f"{prefix}bus",
        )
        self._publish_all = self._client.register_script(PUBLISH_ALL)
        self._where = _address(self._client)
        self._prefix = prefix
        self._tag = os.urandom(TAG_BYTES)
        self._subscribers = Subscribers()
        self._changed = asyncio.Event()  # the set of channels with local subscribers changed
        self._confirmed: set[str] = set()  # channels Redis has confirmed on this connection
        self._waiting: dict[str, list[asyncio.Future[None]]] = {}
        self._outbox: deque[str | bytes] = deque()  # channel, payload, channel, payload, …
        self._queued = asyncio.Event()
        self._sending = False
        self.connected = True  # until a connection fails: publishes are sent, not dropped
        self._down_since: float | None = None
        self.dropped = 0  # publishes that never reached Redis
        self._after_gap: list[Callable[[], None]] = []
        self._gap = False  # the listener lost its connection: messages may have been missed
        self._heard = False  # something came on the pub/sub connection since the last look
        self._tasks: list[asyncio.Task[None]] = []

    def publish(self, channel: str, payload: bytes, origin: object = None) -> None:
        self._send(channel, payload)
        self.publish_here(channel, payload, origin)

    def publish_here(self, channel: str, payload: bytes, origin: object = None) -> None:
        for deliver in self._subscribers.of(channel):
            deliver(payload, origin)

    def subscribe(self, channel: str, deliver: Deliver) -> BusSubscription:
        self._start()
        if self._subscribers.add(channel, deliver):
            self._changed.set()
        return BusSubscription(
            partial(self._remove, channel, deliver), partial(self._confirmed_or_down, channel)
        )

    def after_gap(self, callback: Callable[[], None]) -> None:
        self._after_gap.append(callback)

    async def close(self) -> None:
        self._subscribers.clear()
        await self._flush()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.aclose()

    def _remove(self, channel: str, deliver: Deliver) -> None:
        if self._subscribers.remove(channel, deliver):
            self._changed.set()

    def _start(self) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._keep_listening(), name="redis bus listener"),
                asyncio.create_task(self._keep_sending(), name="redis bus sender"),
            ]

    # Sending -------------------------------------------------------------------------------

    def _send(self, channel: str, payload: bytes) -> None:
        self._start()
        if not self.connected or len(self._outbox) >= 2 * OUTBOX_MAX:
            self.dropped += 1
            return
        self._outbox.append(self._prefix + channel)
        self._outbox.append(self._tag + payload)
        self._queued.set()

    async def _keep_sending(self) -> None:
        while True:
            await self._queued.wait()
            self._queued.clear()
            self._sending = True
            try:
                while self._outbox:
                    await self._send_batch()
            finally:
                self._sending = False

    async def _send_batch(self) -> None:
        outbox = self._outbox
        batch = [outbox.popleft() for _ in range(min(len(outbox), 2 * PUBLISH_BATCH_MAX))]
        try:
            await self._publish_all(args=batch)
        except (redis.RedisError, OSError) as exc:
            self.dropped += len(batch) // 2
            self._warn_once(exc)

    async def _flush(self) -> None:
        """Give what is queued a moment to reach Redis before the connections close."""
        deadline = time.monotonic() + FLUSH_ON_CLOSE_SECONDS
        while (self._outbox or self._sending) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    # Listening -----------------------------------------------------------------------------

    async def _keep_listening(self) -> None:
        failures = 0
        while True:
            # A connection of its own, outside the pool: in pub/sub mode it takes no commands.
            connection = self._client.connection_pool.make_connection()
            try:
                await connection.connect()
                await connection.send_command("SUBSCRIBE", self._prefix + CONTROL_CHANNEL)
                self._came_back()
                failures = 0
                async with asyncio.TaskGroup() as group:
                    group.create_task(self._read(connection))
                    group.create_task(self._follow_subscribers(connection))
                    group.create_task(self._watch(connection))
            except Exception as exc:  # an ExceptionGroup from the tasks, or the subscribe
                self._went_down(exc)
            finally:
                await connection.disconnect(nowait=True)
            await asyncio.sleep(RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)])
            failures += 1

    async def _follow_subscribers(self, connection: Connection) -> None:
        """Keep the connection's channels those with local subscribers, in batches."""
        in_redis: set[str] = set()
        while True:
            self._changed.clear()
            wanted = set(self._subscribers.channels())
            if added := wanted - in_redis:
                await connection.send_command(
                    "SUBSCRIBE", *(self._prefix + channel for channel in added)
                )
            if self._gap:
                await self._close_gap(added)
            if gone := in_redis - wanted:
                self._confirmed.difference_update(gone)
                await connection.send_command(
                    "UNSUBSCRIBE", *(self._prefix + channel for channel in gone)
                )
            in_redis = wanted
            await self._changed.wait()

    async def _close_gap(self, channels: set[str]) -> None:
        """Once Redis follows the channels again, tell whoever asked that some messages may
        never have come: anything they said from then on arrives."""
        await asyncio.gather(*(self._confirmed_or_down(channel) for channel in channels))
        if self.connected:
            self._gap = False
            for callback in self._after_gap:
                callback()

    async def _read(self, connection: Connection) -> None:
        # Straight from the connection, not through redis-py's PubSub: 10 µs of CPU a message
        # less (18 µs with it), for what every cross-process delivery costs.
        while True:
            message = await connection.read_response(timeout=math.inf, push_request=True)
            self._heard = True
            self._on_message(message)

    async def _watch(self, connection: Connection) -> None:
        """Ping a connection that stays quiet; one that does not answer is dead."""
        pinged = False
        while True:
            self._heard = False
            await asyncio.sleep(QUIET_SECONDS)
            if self._heard:
                pinged = False
            elif pinged:
                raise ConnectionError(f"no answer from Redis in {2 * QUIET_SECONDS:g} s")
            else:
                await connection.send_command("PING")
                pinged = True

    def _on_message(self, message: list[Any] | bytes) -> None:
        if not isinstance(message, list):  # PONG, on a connection following no channel yet
            return
        kind = message[0]
        if kind == b"pong":
            return
        channel = message[1].decode()[len(self._prefix) :]
        if kind == b"message":
            self._deliver(channel, message[2])
            return
        kind = kind.decode()
        if kind == "subscribe":
            self._confirmed.add(channel)
            for waiter in self._waiting.pop(channel, ()):
                if not waiter.done():
                    waiter.set_result(None)
        elif kind == "unsubscribe":
            self._confirmed.discard(channel)

    def _deliver(self, channel: str, data: bytes) -> None:
        if data[:TAG_BYTES] == self._tag:
            return  # published here: delivered locally already
        payload = data[TAG_BYTES:]
        for deliver in self._subscribers.of(channel):
            try:
                deliver(payload, None)
            except Exception:
                log.exception("a subscriber of bus channel %s failed", channel)

    async def _confirmed_or_down(self, channel: str) -> None:
        """Wait until Redis delivers `channel` to this process, or a moment if it is down."""
        if channel in self._confirmed or not self.connected:
            return
        waiter = asyncio.get_running_loop().create_future()
        waiters = self._waiting.setdefault(channel, [])
        waiters.append(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, READY_WAIT_SECONDS)
        finally:
            if waiter in waiters:  # not answered: no longer waiting
                waiters.remove(waiter)
                if not waiters and self._waiting.get(channel) is waiters:
                    del self._waiting[channel]

    # Connection state ----------------------------------------------------------------------

    def _went_down(self, exc: BaseException) -> None:
        if not isinstance(_first_cause(exc), redis.RedisError | OSError):
            log.error("the bus's listener failed; it starts again", exc_info=exc)
        self.connected = False
        self._gap = True
        self._confirmed.clear()
        for waiters in self._waiting.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
        self._waiting.clear()
        self._warn_once(exc)

    def _warn_once(self, exc: BaseException) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning(
                "the bus lost Redis at %s (%s): live pushes to other processes are dropped "
                "until it is back; clients catch up by their cursor",
                self._where,
                type(_first_cause(exc)).__name__,
            )

    def _came_back(self) -> None:
        self.connected = True
        if self._down_since is not None:
            log.warning(
                "the bus is back on Redis at %s after %.1f s; %d publishes dropped so far",
                self._where,
                time.monotonic() - self._down_since,
                self.dropped,
            )
            self._down_since = None


def _address(client: redis.Redis) -> str:
    """Host and port of the client, for logs: never the URL, which may hold a password."""
    kwargs = client.connection_pool.connection_kwargs
    return f"{kwargs.get('host', kwargs.get('path', '?'))}:{kwargs.get('port', '')}"


def _first_cause(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc
