"""Process-local copies of what the database holds, and the one way to forget them.

A service caches what it checks on every request (a session, a standing, the sanctions in
force, a conversation's members) in a `LocalCache` and, once a change to it commits, forgets
it through `Invalidations.forget(topic, key)`. In one process that is a call; the same call
also publishes the forget on the bus, and every other process forgets the key in its own caches
when it arrives (docs/architecture.md, "Across processes").
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Hashable
from enum import StrEnum
from typing import Any, Generic, TypeVar

import orjson

from townhall.bus.base import Bus

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Topic(StrEnum):
    """What a forget is about, and what its key is."""

    SESSION = "session"  # a token hash
    SESSIONS_OF_ACCOUNT = "sessions_of_account"  # an account id: every session it has
    STANDING = "standing"  # an account id
    SANCTIONS = "sanctions"  # (subject type, subject id)
    MEMBERS = "members"  # a conversation id
    LEXICON = "lexicon"  # 0: the operators' lexicon or the hash bank changed; load them again
    # (process, PDQ hash) banked or unbanked; (process, ""): a list imported, load the whole bank
    IMAGE_BANK = "image_bank"
    CONTACTS = "contacts"  # a direct pair's key (domain/messaging.py): either side's tie changed


INVALIDATE_CHANNEL = "invalidate"


class Invalidations:
    """Where every forget goes: each cache listens on its topics. With a bus, a forget also
    reaches the caches of every other process on it."""

    def __init__(self, bus: Bus | None = None) -> None:
        self._listeners: dict[Topic, list[Callable[[Any], None]]] = {}
        self._caches: list[LocalCache[Any, Any]] = []
        self._bus = bus
        if bus is not None:
            bus.subscribe(INVALIDATE_CHANNEL, self._received)
            bus.after_gap(self._empty_caches)

    def listen(self, topic: Topic, forget: Callable[[Any], None]) -> None:
        self._listeners.setdefault(topic, []).append(forget)

    def empty_after_gaps(self, cache: LocalCache[Any, Any]) -> None:
        """Empty `cache` whenever forgets from other processes may have been lost."""
        self._caches.append(cache)

    def _empty_caches(self) -> None:
        for cache in self._caches:
            cache.forget_where(_everything)

    def forget(self, topic: Topic, key: Hashable) -> None:
        self._forget_here(topic, key)
        if self._bus is not None:
            self._bus.publish(INVALIDATE_CHANNEL, orjson.dumps((topic, key)), self)

    def _received(self, payload: bytes, origin: object) -> None:
        if origin is self:
            return  # forgotten here already, when it was published
        topic, key = orjson.loads(payload)
        self._forget_here(Topic(topic), _hashable(key))

    def _forget_here(self, topic: Topic, key: Hashable) -> None:
        for forget in self._listeners.get(topic, ()):
            forget(key)


def _hashable(key: Any) -> Hashable:
    """A key as it was before JSON turned its tuples into lists."""
    return tuple(_hashable(part) for part in key) if isinstance(key, list) else key


def _always(_value: object) -> bool:
    return True


def _everything(_key: object, _value: object) -> bool:
    return True


def _never(_key: object, _value: object, _now: float) -> float:
    return math.inf


class LocalCache(Generic[K, V]):
    """Values read from the database, at most `maxsize` (the oldest go first) and, with
    `expires(key, value, now)`, each until the time it names on `clock`.

    A forget while a read is under way keeps that read's result out of the cache: the read may
    predate the change that caused the forget. Concurrent misses of one key share one read,
    unless a forget came in between.

    A dict rather than cachetools: a hit costs a lookup and a comparison (cachetools' TLRUCache
    took 1.7 µs a hit, on the path of every message) and a forget over every entry stays a
    dict comprehension (0.7 s over 100,000 entries in a TLRUCache).
    """

    def __init__(
        self,
        maxsize: int,
        *,
        expires: Callable[[K, V, float], float] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._maxsize = maxsize
        self._expires = expires or _never
        self._clock = clock if expires is not None else None
        self._entries: dict[K, tuple[V, float]] = {}
        self._forgets = 0
        self._loading: dict[K, tuple[int, asyncio.Future[V]]] = {}

    async def get(
        self,
        key: K,
        load: Callable[[], Awaitable[V]],
        *,
        keep: Callable[[V], bool] = _always,
    ) -> V:
        """The cached value, or `load()`'s, kept if `keep` says so (and nothing was forgotten
        meanwhile)."""
        entry = self._entries.get(key)
        if entry is not None:
            if self._clock is None or self._clock() < entry[1]:
                return entry[0]
            del self._entries[key]
        loading = self._loading.get(key)
        if loading is not None and loading[0] == self._forgets:
            return await asyncio.shield(loading[1])
        return await self._load(key, load, keep)

    async def _load(self, key: K, load: Callable[[], Awaitable[V]], keep: Callable[[V], bool]) -> V:
        forgets_before = self._forgets
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._loading[key] = (forgets_before, future)
        try:
            value = await load()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so a read no one else awaited stays quiet
            raise
        finally:
            if self._loading.get(key) == (forgets_before, future):  # not a later read's
                del self._loading[key]
        if self._forgets == forgets_before and keep(value):
            self._remember(key, value)
        future.set_result(value)
        return value

    def _remember(self, key: K, value: V) -> None:
        if len(self._entries) >= self._maxsize and key not in self._entries:
            del self._entries[next(iter(self._entries))]
        now = self._clock() if self._clock is not None else 0.0
        self._entries[key] = (value, self._expires(key, value, now))

    def forget(self, key: K) -> None:
        self._forgets += 1
        self._entries.pop(key, None)

    def forget_where(self, matches: Callable[[K, V], bool]) -> None:
        self._forgets += 1
        self._entries = {
            key: entry for key, entry in self._entries.items() if not matches(key, entry[0])
        }
