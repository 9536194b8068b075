"""The one cache of database reads every service uses, and forgetting through Invalidations."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from tests.redis_here import drop_connections, redis_url, unique_prefix
from townhall.bus.memory import MemoryBus
from townhall.bus.redis import RedisBus
from townhall.domain.enforcement import SubjectType
from townhall.services.caches import INVALIDATE_CHANNEL, Invalidations, LocalCache, Topic


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


# Across processes ---------------------------------------------------------------------------------


@pytest.fixture
def prefix() -> str:
    return unique_prefix()


@pytest.fixture
async def two_nodes(prefix: str) -> AsyncIterator[tuple[Invalidations, Invalidations]]:
    """The Invalidations of two server processes on one Redis bus."""
    url = redis_url()
    buses = RedisBus(url, prefix=prefix), RedisBus(url, prefix=prefix)
    nodes = Invalidations(buses[0]), Invalidations(buses[1])
    for bus in buses:
        await bus.subscribe(INVALIDATE_CHANNEL, lambda _payload, _origin: None).ready()
    yield nodes
    for bus in buses:
        await bus.close()


KEYS = [
    (Topic.SESSION, "9f86d081884c7d659a2feaa0c55ad015"),
    (Topic.STANDING, 42),
    (Topic.SANCTIONS, ("user", 7)),
    (Topic.SANCTIONS, (SubjectType.PUBLIC_ACCOUNT, 3)),
]


async def test_a_forget_reaches_the_other_process_within_a_second_keys_intact(
    two_nodes: tuple[Invalidations, Invalidations],
) -> None:
    here, there = two_nodes
    forgotten_here: list[tuple[Topic, object]] = []
    forgotten_there: list[tuple[Topic, object]] = []
    for topic in Topic:
        here.listen(topic, lambda key, topic=topic: forgotten_here.append((topic, key)))
        there.listen(topic, lambda key, topic=topic: forgotten_there.append((topic, key)))
    started = time.monotonic()
    for topic, key in KEYS:
        here.forget(topic, key)
    assert forgotten_here == KEYS  # at once, in this process
    while len(forgotten_there) < len(KEYS):
        assert time.monotonic() - started < 1.0, forgotten_there
        await asyncio.sleep(0.005)
    assert forgotten_there == KEYS
    assert [type(key) for _, key in forgotten_there] == [type(key) for _, key in KEYS]
    # Received there, the forgets were not sent on again: nothing comes back here.
    there.forget(Topic.MEMBERS, 1)
    while len(forgotten_here) < len(KEYS) + 1:
        await asyncio.sleep(0.005)
    assert forgotten_here == [*KEYS, (Topic.MEMBERS, 1)]


async def test_a_forgotten_sanction_is_read_again_on_the_other_process(
    two_nodes: tuple[Invalidations, Invalidations],
) -> None:
    """The cache of sanctions in force keys a subject as a tuple; the other process's cache
    must drop that very entry."""
    here, there = two_nodes
    cache: LocalCache[tuple[str, int], str] = LocalCache(10)
    there.listen(Topic.SANCTIONS, cache.forget)
    reads = Reads()
    await cache.get((SubjectType.USER, 7), reads)
    reads.value = "v2"
    here.forget(Topic.SANCTIONS, (SubjectType.USER, 7))
    started = time.monotonic()
    while await cache.get((SubjectType.USER, 7), reads) != "v2":
        assert time.monotonic() - started < 1.0
        await asyncio.sleep(0.01)


async def test_caches_are_emptied_once_the_bus_is_back_after_losing_redis(
    two_nodes: tuple[Invalidations, Invalidations], prefix: str
) -> None:
    """Forgets sent while a process was cut off never reach it: it reads everything again."""
    _, there = two_nodes
    cache: LocalCache[int, str] = LocalCache(10)
    there.empty_after_gaps(cache)
    reads = Reads()
    await cache.get(1, reads)
    assert drop_connections(f"{prefix}bus") >= 2
    started = time.monotonic()
    while reads.count == 1:
        assert time.monotonic() - started < 5.0, "the cache was never emptied"
        await asyncio.sleep(0.01)
        await cache.get(1, reads)


async def test_on_the_memory_bus_a_forget_is_one_synchronous_call() -> None:
    invalidations = Invalidations(MemoryBus())
    forgotten: list[object] = []
    invalidations.listen(Topic.STANDING, forgotten.append)
    invalidations.forget(Topic.STANDING, 5)
    assert forgotten == [5]
