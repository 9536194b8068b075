"""Password hashing: argon2id in a pool of its own, a bounded number of hashes at once.

Each hash in flight holds the profile's memory (64 MiB for `rfc9106_low_memory`) for its whole
run: in the event loop's default pool (6 threads on 2 cores, up to 32) 20 clients registering at
once took the server from 150 to 521 MB. Here the rest wait their turn in the pool's queue, and
a burst costs time, never an error.
"""

from __future__ import annotations

import asyncio
import math
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

PASSWORD_PROFILES = {
    "rfc9106_low_memory": profiles.RFC_9106_LOW_MEMORY,
    "cheapest": profiles.CHEAPEST,  # tests and benchmarks only
}


CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def hashes_at_once_for(parallelism: int, cores: int) -> int:
    """As many hashes as the cores run lanes apart: libargon2 runs each of a hash's lanes in a
    thread of its own, so one hash of 4 lanes alone keeps several cores busy (1.4 of 2, measured),
    and more at once would buy a little speed for much memory."""
    return max(1, cores // parallelism)


def usable_cores(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """The cores this process may run on, and no more than its container's CPU quota (cgroup
    v2's cpu.max: "200000 100000" is two CPUs): a pod limited to 2 CPUs on a 64-core node is
    given 2, and so the memory of 2 // lanes hashes, not of 16."""
    affinity = getattr(os, "sched_getaffinity", None)  # Linux; elsewhere every core counts
    cores = len(affinity(0)) if affinity else os.cpu_count() or 1
    try:
        quota, period = cpu_max.read_text().split()
        return max(1, min(cores, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):  # no cgroup v2 here, or "max": no quota
        return cores


class PasswordHashing:
    """Hashes passwords and checks them against stored hashes, off the event loop, at most
    `at_once` at a time (None: as many as the usable cores run, see `hashes_at_once_for`)."""

    def __init__(self, hasher: PasswordHasher, *, at_once: int | None = None) -> None:
        self._hasher = hasher
        self.at_once = at_once or hashes_at_once_for(hasher.parallelism, usable_cores())
        self._pool = ThreadPoolExecutor(self.at_once, thread_name_prefix="passwords")
        # Checked against when there is no account, so that costs what a wrong password does.
        self._decoy_hash = hasher.hash(secrets.token_urlsafe(16))

    @classmethod
    def of_profile(cls, profile: str, *, at_once: int | None = None) -> PasswordHashing:
        return cls(PasswordHasher.from_parameters(PASSWORD_PROFILES[profile]), at_once=at_once)

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self._hasher.hash, password
        )

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """Whether `password` is the one `stored_hash` was made from; None (no such account)
        is checked against the decoy, and is never a match."""
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self._matches, stored_hash, password
        )

    def _matches(self, stored_hash: str | None, password: str) -> bool:
        try:
            matches = self._hasher.verify(
                self._decoy_hash if stored_hash is None else stored_hash, password
            )
        except (VerificationError, InvalidHashError):
            return False
        return matches and stored_hash is not None

    async def close(self) -> None:
        """Drop the hashes still queued, and wait off the event loop for those under way."""
        await asyncio.to_thread(self._pool.shutdown, cancel_futures=True)
