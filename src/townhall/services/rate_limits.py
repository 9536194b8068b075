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

import enum
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from limits import RateLimitItem, parse_many
from limits.aio.storage import RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
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


# Shared in Redis: `limits`' moving window, each event's time kept.
Shared = MovingWindowRateLimiter
SWEEP_SECONDS = 60.0


class LocalWindows:
    """The windows counted in this process: `limits`' sliding window counter (its counts and
    weights, its waits), kept in one dict. `limits`' own memory storage took 10 µs a window
    for every send through its asynchronous calls and locks, 30 µs with the three windows of
    `sends_per_user` (docs/benchmarks.md, "The WebSocket path"); this takes about 1.

    A window of E seconds counts the events of its period (epoch-aligned) and weighs those of
    the period before by the share of it still within the last E seconds."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        # (limit, window, key) → [period number, events in it, events in the period before]
        self._counts: dict[tuple[str, RateLimitItem, tuple[str, ...]], list[int]] = {}
        self._next_sweep = clock() + SWEEP_SECONDS

    def wait_for(self, limit: Limit, key: tuple[str, ...]) -> int | None:
        now = self._clock()
        waits = [
            wait
            for window in limit.windows
            if (wait := self._wait(self._counted(limit, window, key, now), window, now))
        ]
        return max(waits) if waits else None

    def hit(self, limit: Limit, key: tuple[str, ...]) -> int | None:
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        counts = [self._counted(limit, window, key, now) for window in limit.windows]
        waits = [
            wait
            for window, count in zip(limit.windows, counts, strict=True)
            if (wait := self._wait(count, window, now))
        ]
        if waits:
            return max(waits)
        for count in counts:
            count[1] += 1
        return None

    def forget(self, limit: Limit, key: tuple[str, ...]) -> None:
        for window in limit.windows:
            self._counts.pop((limit.name, window, key), None)

    def _counted(
        self, limit: Limit, window: RateLimitItem, key: tuple[str, ...], now: float
    ) -> list[int]:
        """The window's counts as of `now`, moved on to its present period."""
        period = int(now // window.get_expiry())
        count = self._counts.get((limit.name, window, key))
        if count is None:
            count = self._counts[(limit.name, window, key)] = [period, 0, 0]
        elif count[0] != period:
            count[2] = count[1] if count[0] == period - 1 else 0
            count[0], count[1] = period, 0
        return count

    @staticmethod
    def _wait(count: list[int], window: RateLimitItem, now: float) -> int | None:
        """None if one more event fits; else the seconds until the count next drops, as
        `limits` reckons them."""
        expiry = window.get_expiry()
        _, current, previous = count
        left_of_period = expiry - now % expiry
        if previous * left_of_period / expiry + current < window.amount:
            return None
        resets = [left_of_period % (expiry / previous)] if previous else []
        if current:
            resets.append(left_of_period)
        return max(1, math.ceil(min(resets, default=0.0)))  # a limit of 0: a second, as `limits`

    def _sweep(self, now: float) -> None:
        """Drop the counts of windows whose events all lie two periods back: they weigh
        nothing."""
        self._next_sweep = now + SWEEP_SECONDS
        stale = [
            counted
            for counted, (period, _, _) in self._counts.items()
            if period < int(now // counted[1].get_expiry()) - 1
        ]
        for counted in stale:
            del self._counts[counted]


class RateLimits:
    def __init__(
        self, shared: Storage | None = None, close: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self._local = LocalWindows()
        self._shared = Shared(shared) if shared is not None else None
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
        if self._shared is not None:
            counted = await self._on_shared(_shared_wait_for(self._shared, limit, key))
            if counted is not UNANSWERED:
                return counted
        return self._local.wait_for(limit, key)

    async def hit(self, limit: Limit, *key: str) -> int | None:
        """Record one event under `key` in every window; the wait if one was already full (the
        event then counts in none)."""
        if self._shared is not None:
            counted = await self._on_shared(_shared_hit(self._shared, limit, key))
            if counted is not UNANSWERED:
                return counted
        return self._local.hit(limit, key)

    async def forget(self, limit: Limit, *key: str) -> None:
        if self._shared is not None:
            await self._on_shared(_shared_forget(self._shared, limit, key))
        self._local.forget(limit, key)

    async def _on_shared(self, counting: Awaitable[T]) -> T | Unanswered:
        """What `counting` on the shared windows gives, or UNANSWERED while they do not answer
        (this process then counts on its own)."""
        try:
            result = await counting
        except StorageError as exc:
            if not self._shared_failing:
                self._shared_failing = True
                log.warning(
                    "the shared rate-limit storage failed (%s): counting in this process "
                    "until it answers again",
                    type(exc.storage_error).__name__,
                )
            return UNANSWERED
        if self._shared_failing:
            self._shared_failing = False
            log.warning("the shared rate-limit storage answers again: counting there")
        return result


class Unanswered(enum.Enum):
    UNANSWERED = enum.auto()


UNANSWERED = Unanswered.UNANSWERED


async def _shared_wait_for(shared: Shared, limit: Limit, key: tuple[str, ...]) -> int | None:
    waits = []
    for window in limit.windows:
        if not await shared.test(window, limit.name, *key):
            stats = await shared.get_window_stats(window, limit.name, *key)
            waits.append(max(1, math.ceil(stats.reset_time - time.time())))
    return max(waits) if waits else None


async def _shared_hit(shared: Shared, limit: Limit, key: tuple[str, ...]) -> int | None:
    wait = await _shared_wait_for(shared, limit, key)
    if wait is None:
        for window in limit.windows:
            await shared.hit(window, limit.name, *key)
    return wait


async def _shared_forget(shared: Shared, limit: Limit, key: tuple[str, ...]) -> None:
    for window in limit.windows:
        await shared.clear(window, limit.name, *key)
