"""Password hashing runs at most `at_once` hashes at a time, the rest waiting their turn, and
checks a password as the accounts service always has: an unknown account costs a check too."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import pytest
from argon2 import PasswordHasher, profiles

from townhall.services import passwords
from townhall.services.passwords import PasswordHashing, hashes_at_once_for

pytestmark = pytest.mark.database_free  # the PostgreSQL run leaves it out (Makefile)


class WatchedHasher(PasswordHasher):
    """The cheapest argon2id, noting how many hashes and checks are under way at once and the
    threads they ran on."""

    def __init__(self, parallelism: int = profiles.CHEAPEST.parallelism) -> None:
        super().__init__(time_cost=1, memory_cost=8 * parallelism, parallelism=parallelism)
        self._lock = threading.Lock()
        self._meeting: threading.Barrier | None = None
        self.under_way = 0
        self.most_under_way = 0
        self.checked: list[str | bytes] = []
        self.threads: set[threading.Thread] = set()

    def hold_until_under_way(self, count: int) -> None:
        """From now on each hash waits until `count` are under way."""
        self._meeting = threading.Barrier(count, timeout=10)

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        with self._under_way():
            return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self._lock:
            self.checked.append(hash)
        with self._under_way():
            return super().verify(hash, password)

    @contextmanager
    def _under_way(self) -> Iterator[None]:
        with self._lock:
            self.under_way += 1
            self.most_under_way = max(self.most_under_way, self.under_way)
            self.threads.add(threading.current_thread())
        try:
            if self._meeting is not None:
                self._meeting.wait()
            time.sleep(0.01)  # long enough for another hash, were it let in, to overlap
            yield
        finally:
            with self._lock:
                self.under_way -= 1


async def test_one_at_a_time_when_one_is_allowed() -> None:
    hasher = WatchedHasher()
    hashing = PasswordHashing(hasher, at_once=1)
    try:
        stored = await asyncio.gather(*(hashing.hash(f"password {i}") for i in range(4)))
        checked = await asyncio.gather(
            *(hashing.verify(hash_, f"password {i}") for i, hash_ in enumerate(stored))
        )
    finally:
        await hashing.close()
    assert checked == [True] * 4
    assert hasher.most_under_way == 1


async def test_as_many_at_once_as_allowed_and_the_rest_wait_their_turn() -> None:
    hasher = WatchedHasher()
    hashing = PasswordHashing(hasher, at_once=3)
    # Three at a time or none: a pool of two would leave them waiting, and a larger one would
    # let more in while the three are under way.
    hasher.hold_until_under_way(3)
    try:
        stored = await asyncio.gather(*(hashing.hash(f"password {i}") for i in range(6)))
    finally:
        await hashing.close()
    assert len(set(stored)) == 6
    assert hasher.most_under_way == 3


async def test_a_password_matches_only_the_hash_made_from_it() -> None:
    hashing = PasswordHashing(WatchedHasher(), at_once=1)
    try:
        stored = await hashing.hash("correct horse")
        assert await hashing.verify(stored, "correct horse")
        assert not await hashing.verify(stored, "wrong horse")
        assert not await hashing.verify("not a hash", "correct horse")
    finally:
        await hashing.close()


async def test_no_account_is_never_a_match_yet_costs_a_check() -> None:
    hasher = WatchedHasher()
    hashing = PasswordHashing(hasher, at_once=1)
    try:
        assert not await hashing.verify(None, "any password")
    finally:
        await hashing.close()
    [decoy] = hasher.checked
    assert isinstance(decoy, str) and decoy.startswith("$argon2id$")


async def test_closing_stops_the_pool_threads() -> None:
    hasher = WatchedHasher()
    hashing = PasswordHashing(hasher, at_once=2)
    hasher.threads.clear()  # the decoy was hashed at start, on this thread
    await asyncio.gather(hashing.hash("one"), hashing.hash("two"))
    await hashing.close()
    assert hasher.threads and not any(thread.is_alive() for thread in hasher.threads)


def test_by_default_as_many_at_once_as_the_cores_run_a_hash_lanes_apart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert hashes_at_once_for(parallelism=4, cores=2) == 1
    assert hashes_at_once_for(parallelism=4, cores=8) == 2
    assert hashes_at_once_for(parallelism=1, cores=2) == 2
    monkeypatch.setattr(passwords, "usable_cores", lambda: 16)
    four_lanes = WatchedHasher(parallelism=4)
    assert PasswordHashing(four_lanes).at_once == 4
    assert PasswordHashing(four_lanes, at_once=6).at_once == 6


@pytest.mark.parametrize(
    ("cpu_max", "cores"), [("200000 100000\n", 2), ("150000 100000\n", 2), ("max 100000\n", 8)]
)
def test_a_container_s_cpu_quota_caps_the_cores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cpu_max: str, cores: int
) -> None:
    monkeypatch.setattr(passwords.os, "sched_getaffinity", lambda _: set(range(8)))
    quota = tmp_path / "cpu.max"
    quota.write_text(cpu_max)
    assert passwords.usable_cores(quota) == cores
    assert passwords.usable_cores(tmp_path / "none") == 8  # no cgroup v2: the affinity


async def test_closing_drops_what_is_still_queued() -> None:
    hasher = WatchedHasher()
    hashing = PasswordHashing(hasher, at_once=1)
    started = threading.Event()
    release = threading.Event()

    def held(password: str | bytes, *, salt: bytes | None = None) -> str:
        started.set()
        release.wait(10)
        return "held"

    hasher.hash = held  # type: ignore[method-assign]
    under_way = asyncio.ensure_future(hashing.hash("one"))
    queued = asyncio.ensure_future(hashing.hash("two"))
    await asyncio.to_thread(started.wait, 10)
    closing = asyncio.ensure_future(hashing.close())
    await asyncio.sleep(0.05)
    release.set()
    await closing
    assert await under_way == "held"
    with pytest.raises(asyncio.CancelledError):
        await queued
