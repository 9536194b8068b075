"""One limiter for the limits counted per person or per address (the `limits` library, moving
windows). Its storage is in this process today; several processes will share one in Redis.

A limit is a `limits` rate string such as "5/minute;20/hour": several windows at once, so an
attacker who keeps failing waits longer and longer while a person who mistypes twice does not
notice."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter


@dataclass(frozen=True, slots=True)
class Limit:
    name: str  # the setting that sets it, for logs and docs
    windows: tuple[RateLimitItem, ...]

    @classmethod
    def parse(cls, name: str, rates: str) -> Limit:
        return cls(name, tuple(parse_many(rates)))


class RateLimits:
    def __init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def wait_for(self, limit: Limit, *key: str) -> int | None:
        """Seconds until one more event under `key` fits every window; None if it fits now.
        Records nothing."""
        waits = []
        for window in limit.windows:
            if not await self._limiter.test(window, limit.name, *key):
                stats = await self._limiter.get_window_stats(window, limit.name, *key)
                waits.append(max(1, math.ceil(stats.reset_time - time.time())))
        return max(waits) if waits else None

    async def hit(self, limit: Limit, *key: str) -> int | None:
        """Record one event under `key` in every window; the wait if one was already full (the
        event then counts in none)."""
        wait = await self.wait_for(limit, *key)
        if wait is None:
            for window in limit.windows:
                await self._limiter.hit(window, limit.name, *key)
        return wait

    async def forget(self, limit: Limit, *key: str) -> None:
        for window in limit.windows:
            await self._limiter.clear(window, limit.name, *key)
