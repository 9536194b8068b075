"""The cache of checked sessions: a hit until its recheck time or the session's end, and never
kept when a session ended while it was being read."""

from __future__ import annotations

import asyncio

from townhall.services.caches import Invalidations
from townhall.services.known_sessions import KNOWN_SESSION_SECONDS, CheckedSession, KnownSessions
from townhall.services.principal import Principal

ALICE = Principal(1, "alice", "hash-a")
ALICE_PHONE = Principal(1, "alice", "hash-b")
BOB = Principal(2, "bob", "hash-c")
FAR = 10**15  # a session end far away, in ms


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Database:
    """The sessions on file, counting how often they are read."""

    def __init__(self, *sessions: CheckedSession) -> None:
        self.sessions = {s.principal.token_hash: s for s in sessions}
        self.reads = 0

    def checker(self, token_hash: str):  # type: ignore[no-untyped-def]
        async def check() -> CheckedSession:
            self.reads += 1
            return self.sessions[token_hash]

        return check


async def test_a_checked_session_is_known_until_it_must_be_checked_again() -> None:
    clock, db = Clock(100.0), Database(CheckedSession(ALICE, FAR))
    known = KnownSessions(Invalidations(), clock=clock)
    assert await known.principal("hash-a", db.checker("hash-a")) == ALICE
    clock.now = 100.0 + KNOWN_SESSION_SECONDS - 0.001
    await known.principal("hash-a", db.checker("hash-a"))
    assert db.reads == 1
    clock.now = 100.0 + KNOWN_SESSION_SECONDS
    await known.principal("hash-a", db.checker("hash-a"))
    assert db.reads == 2


async def test_a_session_is_not_known_past_its_own_end() -> None:
    clock, db = Clock(100.0), Database(CheckedSession(ALICE, expires_at_ms=100_500))
    known = KnownSessions(Invalidations(), clock=clock)
    await known.principal("hash-a", db.checker("hash-a"))
    clock.now = 100.4
    await known.principal("hash-a", db.checker("hash-a"))
    assert db.reads == 1
    clock.now = 100.5
    await known.principal("hash-a", db.checker("hash-a"))
    assert db.reads == 2


async def test_ending_one_session_or_all_of_an_account_forgets_exactly_those() -> None:
    db = Database(*(CheckedSession(p, FAR) for p in (ALICE, ALICE_PHONE, BOB)))
    known = KnownSessions(Invalidations(), clock=Clock(0.0))
    for token_hash in ("hash-a", "hash-b", "hash-c"):
        await known.principal(token_hash, db.checker(token_hash))

    async def reads_of(*token_hashes: str) -> int:
        before = db.reads
        for token_hash in token_hashes:
            await known.principal(token_hash, db.checker(token_hash))
        return db.reads - before

    known.forget("hash-a")
    assert await reads_of("hash-a") == 1
    assert await reads_of("hash-b", "hash-c") == 0
    known.forget_account(1)
    assert await reads_of("hash-a", "hash-b") == 2
    assert await reads_of("hash-c") == 0


async def test_a_check_that_raced_a_logout_is_not_kept() -> None:
    known = KnownSessions(Invalidations(), clock=Clock(0.0))
    reading = asyncio.Event()
    reads = 0

    async def check() -> CheckedSession:  # the session is still valid when the read begins
        nonlocal reads
        reads += 1
        await reading.wait()
        return CheckedSession(ALICE, FAR)

    racing = asyncio.create_task(known.principal("hash-a", check))
    await asyncio.sleep(0)
    known.forget("hash-a")  # meanwhile the user logs out
    reading.set()
    await racing
    await known.principal("hash-a", check)
    assert reads == 2
