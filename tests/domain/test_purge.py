"""`PurgeCheck` on rows built in memory: a purged row counts only when a later signed record
names it, past retention, and the record's claim matches its rows."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from townhall.domain.audit import Entry, Problem, cleared, leaf_hash
from townhall.domain.purge import DAY_MS, PURGE_ACTION, PurgeCheck, PurgeClaim, PurgedRows

KEY = Ed25519PrivateKey.generate()
AT_MS = 1_780_000_000_000
RETENTION_DAYS = 183


def _entry(seq: int, at_ms: int = AT_MS) -> Entry:
    return Entry(seq, at_ms + seq, 7, "reviewer", "identity.reveal", "user", 100 + seq, "why", {})


def _purged(entries: list[Entry], first: int, last: int) -> tuple[list[Entry], PurgeClaim]:
    """Rows first..last cleared, and the claim a purge makes of them."""
    seen = PurgedRows()
    for entry in entries[first - 1 : last]:
        seen.add(entry, leaf_hash(entry))
    claim = PurgeClaim(
        from_seq=first,
        through_seq=last,
        audit_rows=seen.count,
        before_ms=AT_MS + last + 1,
        retention_days=RETENTION_DAYS,
        rows_sha256=seen.digest(),
    )
    return entries, claim


def _record(seq: int, details: dict[str, Any], at_ms: int | None = None) -> Entry:
    at = AT_MS + RETENTION_DAYS * DAY_MS + 1_000 if at_ms is None else at_ms
    return Entry(seq, at, None, "operator", PURGE_ACTION, None, None, None, details)


def _check(entries: list[Entry], purged: set[int], records: list[Entry]) -> Problem | None:
    check = PurgeCheck(records, KEY.public_key())
    for entry in [*entries, *records]:
        leaf = leaf_hash(entry) if entry.seq in purged else None
        shown = cleared(entry) if entry.seq in purged else entry
        if (problem := check.feed(shown, leaf)) is not None:
            return problem
    return None


def test_rows_a_signed_record_names_pass() -> None:
    entries, claim = _purged([_entry(seq) for seq in range(1, 6)], 1, 3)
    assert _check(entries, {1, 2, 3}, [_record(6, claim.details(KEY, 0))]) is None


def test_a_purged_row_no_record_names_is_named() -> None:
    entries, claim = _purged([_entry(seq) for seq in range(1, 6)], 1, 3)
    problem = _check(entries, {1, 2, 3, 5}, [_record(6, claim.details(KEY, 0))])
    assert problem is not None and problem.seq == 5
    assert "row 5 looks purged, but no purge record names it" in problem.what


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda d: d | {"signature": _sign_with(Ed25519PrivateKey.generate(), d)}, "not signed"),
        (lambda d: d | {"audit_rows": 2}, "not signed"),  # any change breaks the signature
    ],
    ids=["another_key", "count_changed"],
)
def test_a_record_that_does_not_prove_itself_is_named(change: Any, named: str) -> None:
    entries, claim = _purged([_entry(seq) for seq in range(1, 6)], 1, 3)
    problem = _check(entries, {1, 2, 3}, [_record(6, change(claim.details(KEY, 0)))])
    assert problem is not None and named in problem.what, problem


def test_a_record_naming_rows_after_it_is_named() -> None:
    entries, claim = _purged([_entry(seq) for seq in range(1, 6)], 1, 5)
    record = _record(6, claim.details(KEY, 0) | {"through_seq": 6})
    problem = _check(entries, {1, 2, 3, 4, 5}, [record])
    assert problem == Problem(
        6, "row 6 is a purge record that names rows it does not follow: forged"
    )


def test_a_record_that_states_no_claim_is_named_and_names_nothing() -> None:
    entries, claim = _purged([_entry(seq) for seq in range(1, 6)], 1, 3)
    unreadable = _record(6, claim.details(KEY, 0) | {"from_seq": "1"})
    assert _check(entries, set(), [unreadable]) == Problem(
        6, "row 6 is a purge record that states no claim: from_seq is not a number"
    )
    problem = _check(entries, {1, 2, 3}, [unreadable])
    assert problem is not None and problem.seq == 1 and "no purge record names it" in problem.what


def _sign_with(key: Ed25519PrivateKey, details: dict[str, Any]) -> str:
    claim = PurgeClaim(
        from_seq=details["from_seq"],
        through_seq=details["through_seq"],
        audit_rows=details["audit_rows"],
        before_ms=details["before_ms"],
        retention_days=details["retention_days"],
        rows_sha256=bytes.fromhex(details["rows_sha256"]),
    )
    return str(claim.details(key, 0)["signature"])


def test_a_record_dated_within_retention_of_its_rows_is_forged() -> None:
    entries, claim = _purged([_entry(seq) for seq in range(1, 6)], 1, 3)
    early = _record(6, claim.details(KEY, 0), at_ms=AT_MS + 10 * DAY_MS)
    problem = _check(entries, {1, 2, 3}, [early])
    assert problem == Problem(
        6, "row 6 is a purge record that purged rows within their retention: forged"
    )


def test_a_row_written_after_the_cutoff_is_named() -> None:
    entries = [_entry(1), _entry(2), _entry(3, at_ms=AT_MS + DAY_MS)]
    _, claim = _purged(entries, 1, 3)
    problem = _check(entries, {1, 2, 3}, [_record(4, claim.details(KEY, 0))])
    assert (
        problem is not None
        and problem.seq == 3
        and "only purges rows written before" in problem.what
    )


def test_overlapping_records_are_named() -> None:
    entries, first = _purged([_entry(seq) for seq in range(1, 6)], 1, 3)
    _, second = _purged(entries, 2, 4)
    records = [_record(6, first.details(KEY, 0)), _record(7, second.details(KEY, 0))]
    problem = _check(entries, {1, 2, 3, 4}, records)
    assert problem is not None and problem.seq == 7 and "named already" in problem.what
