"""One limiter for the limits counted per person or per address (the `limits` library). With
`bus_url = "redis://…"` the windows live in that Redis, so every process counts
against the same ones; with `memory://`, in this process.

While the shared storage does not answer, each process counts in its own memory instead (a
warning says so once): a limit then holds per process, and a request is never refused or
failed for it.

A limit is a `limits` rate string such as "5/minute;20/hour": several windows at once, so an
attacker who keeps failing waits longer and longer while a person who mistypes twice does not
notice."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter, SlidingWindowCounterRateLimiter
from limits.errors import StorageError

log = logging.getLogger(__name__)

T = TypeVar("T")
REDIS_SCHEMES = ("redis://", "rediss://")
# Seconds a shared storage may take to answer before this process counts on its own.
SHARED_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Limit:
    name: str  # the setting that sets it, for logs and docs
    windows: tuple[RateLimitItem, ...]

    @classmethod
    def parse(cls, name: str, rates: str) -> Limit:
        return cls(name, tuple(parse_many(rates)))


# In this process, counters of a window and the one before it, weighted (limits' sliding window
# counter): `limits`' moving window in memory makes an expiry pass that hops to a thread for
# every key, and fails with a KeyError when a window is cleared during the pass. Shared in
# Redis, the moving window itself.
Windows = MovingWindowRateLimiter | SlidingWindowCounterRateLimiter


class RateLimits:
    def __init__(
        self, shared: Storage | None = None, close: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self._local = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._shared = MovingWindowRateLimiter(shared) if shared is not None else None
        self._shared_failing = False
        self._close = close

    @classmethod
    def for_bus(cls, bus_url: str, *, key_prefix: str) -> RateLimits:
        """Windows in the bus's Redis when it is one (shared by every process), else here."""
        if not bus_url.startswith(REDIS_SCHEMES):
            return cls()
        from redis.asyncio import ConnectionPool  # the redis extra; only a Redis bus gets here

        # A pool of our own, for `limits` does not close the connections it opens.
        pool = ConnectionPool.from_url(
            bus_url,
            socket_timeout=SHARED_TIMEOUT_SECONDS,
            socket_connect_timeout=SHARED_TIMEOUT_SECONDS,
            client_name=key_prefix,  # as the bus names its own: CLIENT LIST tells them apart
        )
        storage = RedisStorage(
            f"async+{bus_url}",
            implementation="redispy",  # redis-py, the bus's client; not coredis
            wrap_exceptions=True,
            key_prefix=key_prefix,
            connection_pool=pool,  # type: ignore[arg-type]  # documented; typed too narrowly
        )
        return cls(storage, close=pool.aclose)

    async def close(self) -> None:
        """Close the connections to the shared storage, if any."""
        if self._close is not None:
            await self._close()

    async def wait_for(self, limit: Limit, *key: str) -> int | None:
        """Seconds until one more event under `key` fits every window; None if it fits now.
        Records nothing."""
        return await self._counted(lambda limiter: _wait_for(limiter, limit, key))

    async def hit(self, limit: Limit, *key: str) -> int | None:
        """Record one event under `key` in every window; the wait if one was already full (the
        event then counts in none)."""

        async def hit(limiter: Windows) -> int | None:
            wait = await _wait_for(limiter, limit, key)
            if wait is None:
                for window in limit.windows:
                    await limiter.hit(window, limit.name, *key)
            return wait

        return await self._counted(hit)

    async def forget(self, limit: Limit, *key: str) -> None:
        async def forget(limiter: Windows) -> None:
            for window in limit.windows:
                await limiter.clear(window, limit.name, *key)

        await self._counted(forget)

    async def _counted(self, count: Callable[[Windows], Awaitable[T]]) -> T:
        """`count` on the shared windows, or on this process's while they do not answer."""
        if self._shared is None:
            return await count(self._local)
        try:
            result = await count(self._shared)
        except StorageError as exc:
            if not self._shared_failing:
                self._shared_failing = True
                log.warning(
                    "the shared rate-limit storage failed (%s): counting in this process "
                    "until it answers again",
                    type(exc.storage_error).__name__,
                )
            return await count(self._local)
        if self._shared_failing:
            self._shared_failing = False
            log.warning("the shared rate-limit storage answers again: counting there")
        return result


async def _wait_for(limiter: Windows, limit: Limit, key: tuple[str, ...]) -> int | None:
    waits = []
    for window in limit.windows:
        if not await limiter.test(window, limit.name, *key):
            stats = await limiter.get_window_stats(window, limit.name, *key)
            waits.append(max(1, math.ceil(stats.reset_time - time.time())))
    return max(waits) if waits else None
