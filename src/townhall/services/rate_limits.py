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
# While the shared storage fails, how long this process counts on its own before it asks again:
# a storage that does not answer would otherwise cost every request its timeout.
SHARED_RETRY_SECONDS = 5.0

Counted = tuple[str, RateLimitItem, tuple[str, ...], int]  # (limit, window, key, period)


class LocalWindows:
    """The windows counted in this process: `limits`' sliding window counter, its counts and
    weights and waits reckoned as it reckons them (to the float), kept in one dict. `limits`'
    own memory storage took 10 µs a window for every send through its asynchronous calls and
    locks, 30 µs with the three windows of `sends_per_user` (docs/benchmarks.md, "The
    WebSocket path"); this takes about 2.

    A window of E seconds counts the events of its period (epoch-aligned) and weighs those of
    the period before by the share of it still within the last E seconds."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._counts: dict[Counted, int] = {}  # events in a period; only periods with some
        self._next_sweep = clock() + SWEEP_SECONDS

    def wait_for(self, limit: Limit, key: tuple[str, ...]) -> int | None:
        """Records nothing: a refused caller who keeps asking leaves no counts behind."""
        now = self._clock()
        waits = [self._wait(limit.name, window, key, now) for window in limit.windows]
        return max((wait for wait in waits if wait is not None), default=None)

    def hit(self, limit: Limit, key: tuple[str, ...]) -> int | None:
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        wait = self.wait_for(limit, key)
        if wait is None:
            for window in limit.windows:
                current = (limit.name, window, key, int(now / window.get_expiry()))
                self._counts[current] = self._counts.get(current, 0) + 1
        return wait

    def forget(self, limit: Limit, key: tuple[str, ...]) -> None:
        now = self._clock()
        for window in limit.windows:
            expiry = window.get_expiry()
            self._counts.pop((limit.name, window, key, int(now / expiry)), None)
            self._counts.pop((limit.name, window, key, int((now - expiry) / expiry)), None)

    def _wait(
        self, name: str, window: RateLimitItem, key: tuple[str, ...], now: float
    ) -> int | None:
        """None if one more event fits the window; else the seconds until its count next
        drops, with `limits`' arithmetic (its periods and time left are computed so)."""
        expiry = window.get_expiry()
        previous = self._counts.get((name, window, key, int((now - expiry) / expiry)), 0)
        current = self._counts.get((name, window, key, int(now / expiry)), 0)
        previous_left = (1 - (((now - expiry) / expiry) % 1)) * expiry if previous else 0.0
        if previous * previous_left / expiry + current < window.amount:
            return None
        current_left = (1 - ((now / expiry) % 1)) * expiry + expiry
        resets = [previous_left % (expiry / previous)] if previous else []
        if current:
            resets.append(current_left % expiry)
        # A limit of 0 refuses with nothing counted: a second, as `limits` answers.
        reset_at = now + min(resets, default=0.0)
        return max(1, math.ceil(reset_at - now))

    def _sweep(self, now: float) -> None:
        """Drop the counts of periods before the previous one: they weigh nothing."""
        self._next_sweep = now + SWEEP_SECONDS
        stale = [
            counted
            for counted in self._counts
            if counted[3] < int(now / counted[1].get_expiry()) - 1
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
        self._ask_shared_from = 0.0  # time.monotonic(): while it fails, not before this
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
        if self._shared is not None and self._asking_shared():
            counted = await self._on_shared(_shared_wait_for(self._shared, limit, key))
            if counted is not UNANSWERED:
                return counted
        return self._local.wait_for(limit, key)

    async def hit(self, limit: Limit, *key: str) -> int | None:
        """Record one event under `key` in every window; the wait if one was already full (the
        event then counts in none)."""
        if self._shared is not None and self._asking_shared():
            counted = await self._on_shared(_shared_hit(self._shared, limit, key))
            if counted is not UNANSWERED:
                return counted
        return self._local.hit(limit, key)

    async def forget(self, limit: Limit, *key: str) -> None:
        if self._shared is not None and self._asking_shared():
            await self._on_shared(_shared_forget(self._shared, limit, key))
        self._local.forget(limit, key)

    def _asking_shared(self) -> bool:
        return not self._shared_failing or time.monotonic() >= self._ask_shared_from

    async def _on_shared(self, counting: Awaitable[T]) -> T | Unanswered:
        """What `counting` on the shared windows gives, or UNANSWERED when they do not answer:
        this process then counts on its own, and asks them again after SHARED_RETRY_SECONDS."""
        try:
            result = await counting
        except StorageError as exc:
            self._ask_shared_from = time.monotonic() + SHARED_RETRY_SECONDS
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
