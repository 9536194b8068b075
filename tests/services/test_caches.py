"""The one cache of database reads every service uses, and forgetting through Invalidations."""

from __future__ import annotations

import asyncio

import pytest

from townhall.services.caches import Invalidations, LocalCache, Topic


class Reads:
    """A stand-in for the database: each read returns the current value and is counted."""

    def __init__(self, value: str = "v1") -> None:
        self.value = value
        self.count = 0
        self.gate: asyncio.Event | None = None

    async def __call__(self) -> str:
        self.count += 1
        value = self.value  # what the database held when the read began
        if self.gate is not None:
            await self.gate.wait()
        return value


async def test_a_read_is_kept_until_forgotten() -> None:
    cache: LocalCache[int, str] = LocalCache(10)
    reads = Reads()
    assert await cache.get(1, reads) == await cache.get(1, reads) == "v1"
    reads.value = "v2"
    cache.forget(1)
    assert await cache.get(1, reads) == "v2"
    assert reads.count == 2


async def test_a_read_begun_before_a_forget_is_not_kept() -> None:
    cache: LocalCache[int, str] = LocalCache(10)
    reads = Reads()
    reads.gate = asyncio.Event()
    stale = asyncio.create_task(cache.get(1, reads))
    await asyncio.sleep(0)
    reads.value = "v2"  # a change commits and forgets while the read is under way
    cache.forget(1)
    late = asyncio.create_task(cache.get(1, reads))  # begun after the forget: a read of its own
    await asyncio.sleep(0)
    reads.gate.set()
    assert (await stale, await late) == ("v1", "v2")
    reads.gate = None
    assert await cache.get(1, reads) == "v2"


async def test_concurrent_misses_share_one_read() -> None:
    cache: LocalCache[int, str] = LocalCache(10)
    reads = Reads()
    reads.gate = asyncio.Event()
    waiting = [asyncio.create_task(cache.get(1, reads)) for _ in range(20)]
    await asyncio.sleep(0)
    reads.gate.set()
    assert await asyncio.gather(*waiting) == ["v1"] * 20
    assert reads.count == 1


async def test_a_failed_read_reaches_everyone_waiting_and_is_not_kept() -> None:
    cache: LocalCache[int, str] = LocalCache(10)

    async def broken() -> str:
        await asyncio.sleep(0)
        raise LookupError("gone")

    waiting = [asyncio.create_task(cache.get(1, broken)) for _ in range(3)]
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, LookupError) for r in results)
    assert await cache.get(1, Reads()) == "v1"


async def test_what_keep_refuses_is_read_again() -> None:
    cache: LocalCache[int, str] = LocalCache(10)
    reads = Reads("")
    await cache.get(1, reads, keep=bool)
    await cache.get(1, reads, keep=bool)
    assert reads.count == 2


async def test_the_oldest_entry_makes_room_at_the_cap() -> None:
    cache: LocalCache[int, str] = LocalCache(2)
    reads = Reads()
    for key in (1, 2, 3):
        await cache.get(key, reads)
    await cache.get(3, reads)
    await cache.get(2, reads)
    assert reads.count == 3
    await cache.get(1, reads)
    assert reads.count == 4


async def test_an_entry_lasts_until_the_time_it_names() -> None:
    now = [100.0]
    cache: LocalCache[int, str] = LocalCache(
        10, expires=lambda _key, _value, at: at + 30, clock=lambda: now[0]
    )
    reads = Reads()
    await cache.get(1, reads)
    now[0] = 129.999
    await cache.get(1, reads)
    assert reads.count == 1
    now[0] = 130.0
    await cache.get(1, reads)
    assert reads.count == 2


async def test_forget_where_drops_exactly_the_matching_entries() -> None:
    cache: LocalCache[tuple[str, int], str] = LocalCache(10)
    reads = Reads()
    for key in (("user", 1), ("user", 2), ("group", 1)):
        await cache.get(key, reads)
    cache.forget_where(lambda key, _value: key[0] == "user")
    await cache.get(("group", 1), reads)
    assert reads.count == 3
    await cache.get(("user", 2), reads)
    assert reads.count == 4


@pytest.mark.parametrize("topic", list(Topic))
async def test_a_forget_reaches_every_cache_listening_on_its_topic(topic: Topic) -> None:
    invalidations = Invalidations()
    caches: list[LocalCache[int, str]] = [LocalCache(10), LocalCache(10)]
    for cache in caches:
        invalidations.listen(topic, cache.forget)
    reads = Reads()
    for cache in caches:
        await cache.get(1, reads)
    invalidations.forget(topic, 1)
    for cache in caches:
        await cache.get(1, reads)
    assert reads.count == 4
