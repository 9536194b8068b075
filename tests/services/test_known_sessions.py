"""The cache of checked sessions: a hit until its recheck time or the session's end, and never
kept when a session ended while it was being read."""

from __future__ import annotations

from townhall.services.known_sessions import KNOWN_SESSION_SECONDS, KnownSessions
from townhall.services.principal import Principal

ALICE = Principal(1, "alice", "hash-a")
ALICE_PHONE = Principal(1, "alice", "hash-b")
BOB = Principal(2, "bob", "hash-c")
FAR = 10**15  # a session end far away, in ms


def test_a_checked_session_is_known_until_it_must_be_checked_again() -> None:
    known = KnownSessions()
    known.remember(ALICE, FAR, now=100.0, endings_before=known.endings)
    assert known.find("hash-a", 100.0 + KNOWN_SESSION_SECONDS - 0.001) == ALICE
    assert known.find("hash-a", 100.0 + KNOWN_SESSION_SECONDS) is None
    assert known.find("hash-a", 100.0) is None  # dropped: the next request asks the database


def test_a_session_is_not_known_past_its_own_end() -> None:
    known = KnownSessions()
    known.remember(ALICE, expires_at_ms=100_500, now=100.0, endings_before=known.endings)
    assert known.find("hash-a", 100.4) == ALICE
    assert known.find("hash-a", 100.5) is None


def test_ending_one_session_or_all_of_an_account_forgets_exactly_those() -> None:
    known = KnownSessions()
    for principal in (ALICE, ALICE_PHONE, BOB):
        known.remember(principal, FAR, now=0.0, endings_before=known.endings)
    known.forget("hash-a")
    assert (known.find("hash-a", 1.0), known.find("hash-b", 1.0)) == (None, ALICE_PHONE)
    known.forget_account(1)
    assert (known.find("hash-b", 1.0), known.find("hash-c", 1.0)) == (None, BOB)


def test_a_check_that_raced_a_logout_is_not_kept() -> None:
    known = KnownSessions()
    endings_before = known.endings  # the database read begins: the session is still valid
    known.forget("hash-a")  # meanwhile the user logs out
    known.remember(ALICE, FAR, now=0.0, endings_before=endings_before)
    assert known.find("hash-a", 1.0) is None
