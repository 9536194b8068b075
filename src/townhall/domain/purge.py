"""Purges of the audit log that are legitimate by construction.

A purged row keeps only its leaf hash, its seq, time, action, role and subject type, and the
leaf stands for the row as it was: the chain and the checkpoints cannot tell a purge by
retention from someone clearing a recent row (and relabelling it) by hand. So every purge is
named by a later row of the log, a `retention.purge` record whose details state the claim:

- `from_seq`..`through_seq`: the range it purged, every row in it but intact purge records (which
  are never purged), `audit_rows` of them;
- `before_ms` and `retention_days`: each was written before `before_ms`, which is at least the
  pack's `retention_days` (never fewer than the regulation's minimum) before the record itself;
- `rows_sha256`: the digest of what each purged row kept (seq, time, role, action, subject type,
  leaf hash), so a purged row's visible fields are covered by a hash again;
- `signature`: the audit key's Ed25519 signature over all of that, so whoever can only write the
  database cannot append a purge record of their own (the key is the checkpoints' key, kept
  outside the database).

`PurgeCheck` holds the log to this in both directions: every purged row lies in the range of a
later record whose claim matches it, and every record's claim matches the rows it names.
A record that purged no audit row (review cases only) is `{"audit_rows": 0, "cases", "through_seq":
0}` and names nothing. Records of that shape from before this format (0.1.0) named rows only by a
count and a highest seq, which anyone can append; no log can hold a row they legitimately purged
(0.1.0 shipped in December 2026 and rows are kept 183 days), so none is accepted as naming any.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from townhall.domain.audit import Entry, Problem
from townhall.domain.retention import MIN_LOG_DAYS
from townhall.domain.time import iso_utc

PURGE_ACTION = "retention.purge"
DAY_MS = 86_400_000
SIGNING_CONTEXT = b"townhall/audit-purge\n"  # a purge signature is never a checkpoint's


@dataclass(frozen=True, slots=True)
class PurgeClaim:
    """What one purge cleared: every row from `from_seq` to `through_seq` but intact purge
    records, `audit_rows` of them, each written before `before_ms`."""

    from_seq: int
    through_seq: int
    audit_rows: int
    before_ms: int
    retention_days: int
    rows_sha256: bytes

    def message(self) -> bytes:
        """What the signature covers."""
        return SIGNING_CONTEXT + rfc8785.dumps(
            {
                "from_seq": self.from_seq,
                "through_seq": self.through_seq,
                "audit_rows": self.audit_rows,
                "before_ms": self.before_ms,
                "retention_days": self.retention_days,
                "rows_sha256": self.rows_sha256.hex(),
            }
        )

    def details(self, private_key: Ed25519PrivateKey, cases: int) -> dict[str, Any]:
        """The record's details: the claim, signed, and the review cases purged besides."""
        signature = private_key.sign(self.message())
        return {
            "audit_rows": self.audit_rows,
            "cases": cases,
            "from_seq": self.from_seq,
            "through_seq": self.through_seq,
            "before_ms": self.before_ms,
            "retention_days": self.retention_days,
            "rows_sha256": self.rows_sha256.hex(),
            "signature": base64.b64encode(signature).decode("ascii"),
        }


def is_intact_record(entry: Entry, purged_leaf: bytes | None) -> bool:
    """A purge record as written: never purged, and outside every range a purge names."""
    return entry.action == PURGE_ACTION and purged_leaf is None


class PurgedRows:
    """The digest of what purged rows keep, fed in seq order: the facts a purge vouches for."""

    __slots__ = ("_hash", "count")

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.count = 0

    def add(self, entry: Entry, leaf: bytes) -> None:
        facts: list[str | int | None] = [
            entry.seq,
            entry.at_ms,
            entry.actor_role,
            entry.action,
            entry.subject_type,
            leaf.hex(),
        ]
        self._hash.update(rfc8785.dumps(facts) + b"\n")
        self.count += 1

    def digest(self) -> bytes:
        return self._hash.digest()


class PurgeRecordError(ValueError):
    """Details of a purge record that do not state a claim."""


def _int(details: Mapping[str, Any], name: str) -> int:
    value = details.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise PurgeRecordError(f"{name} is not a number")
    return value


def _bytes(details: Mapping[str, Any], name: str, decode: Any) -> bytes:
    value = details.get(name)
    if not isinstance(value, str):
        raise PurgeRecordError(f"{name} is missing")
    try:
        return bytes(decode(value))
    except (ValueError, binascii.Error) as error:
        raise PurgeRecordError(f"{name} is not encoded as it should be") from error


def names_rows(details: Mapping[str, Any]) -> bool:
    """Whether a record's details claim a range of rows (one that purged only cases does not)."""
    return "from_seq" in details


def read_claim(details: Mapping[str, Any]) -> tuple[PurgeClaim, bytes]:
    """The claim of a record's details and its signature. Raises PurgeRecordError."""
    claim = PurgeClaim(
        from_seq=_int(details, "from_seq"),
        through_seq=_int(details, "through_seq"),
        audit_rows=_int(details, "audit_rows"),
        before_ms=_int(details, "before_ms"),
        retention_days=_int(details, "retention_days"),
        rows_sha256=_bytes(details, "rows_sha256", bytes.fromhex),
    )
    signature = _bytes(details, "signature", lambda text: base64.b64decode(text, validate=True))
    if not 1 <= claim.from_seq <= claim.through_seq:
        raise PurgeRecordError("its range is empty")
    return claim, signature


@dataclass(slots=True)
class _Named:
    """A signed record, the rows of its range seen so far, and where it sits in the log."""

    seq: int
    at_ms: int
    claim: PurgeClaim
    signature: bytes
    seen: PurgedRows


class PurgeCheck:
    """Checks the purges of a log walked in seq order. Built from every purge record the log
    holds (read before the walk: a record comes after the rows it names); fed each row once the
    chain vouched for it. `feed` returns the first Problem found, then keeps it. `public_key`:
    the audit key's, which signs every record."""

    def __init__(self, records: Iterable[Entry], public_key: Ed25519PublicKey | None) -> None:
        self._public_key = public_key
        self._named: list[_Named] = []
        self._unreadable: dict[int, str] = {}
        for record in records:
            self._add_record(record)
        self._named.sort(key=lambda named: named.claim.from_seq)
        self._by_seq = {named.seq: named for named in self._named}
        self._next = 0  # the first named range not wholly behind the walk
        self.problem: Problem | None = self._overlap()

    def _add_record(self, record: Entry) -> None:
        if not names_rows(record.details):
            return
        try:
            claim, signature = read_claim(record.details)
        except PurgeRecordError as error:
            self._unreadable[record.seq] = str(error)
            return
        self._named.append(_Named(record.seq, record.at_ms, claim, signature, PurgedRows()))

    def _overlap(self) -> Problem | None:
        for earlier, later in zip(self._named, self._named[1:], strict=False):
            if later.claim.from_seq <= earlier.claim.through_seq:
                # The record written second is the one that names rows twice.
                first, second = sorted((earlier, later), key=lambda named: named.seq)
                return Problem(
                    second.seq,
                    f"row {second.seq} is a purge record naming rows {second.claim.from_seq}"
                    f"\u2013{second.claim.through_seq}, which the record at row {first.seq} "
                    "named already: forged",
                )
        return None

    def feed(self, entry: Entry, purged_leaf: bytes | None) -> Problem | None:
        if self.problem is None:
            self.problem = self._check_row(entry, purged_leaf) or self._check_record(entry)
        return self.problem

    def _range_of(self, seq: int) -> _Named | None:
        while self._next < len(self._named) and self._named[self._next].claim.through_seq < seq:
            self._next += 1
        if self._next < len(self._named) and self._named[self._next].claim.from_seq <= seq:
            return self._named[self._next]
        return None

    def _check_row(self, entry: Entry, purged_leaf: bytes | None) -> Problem | None:
        seq = entry.seq
        if is_intact_record(entry, purged_leaf):
            return None
        named = self._range_of(seq)
        if named is None:
            return None if purged_leaf is None else self._unnamed(entry)
        if purged_leaf is None:
            return Problem(
                seq,
                f"row {seq} lies in rows {named.claim.from_seq}\u2013{named.claim.through_seq}, "
                f"which the purge at row {named.seq} cleared, yet it holds content",
            )
        if entry.at_ms >= named.claim.before_ms:
            return Problem(
                seq,
                f"row {seq}, written {iso_utc(entry.at_ms)}, was purged by the record at row "
                f"{named.seq}, which only purges rows written before "
                f"{iso_utc(named.claim.before_ms)}: its content was deleted",
            )
        named.seen.add(entry, purged_leaf)
        return None

    @staticmethod
    def _unnamed(entry: Entry) -> Problem:
        seq = entry.seq
        return Problem(
            seq,
            f"row {seq} looks purged, but no purge record names it: its content was deleted "
            f"(it was written {iso_utc(entry.at_ms)})",
        )

    def _check_record(self, entry: Entry) -> Problem | None:
        seq = entry.seq
        if entry.action != PURGE_ACTION:
            return None
        if seq in self._unreadable:
            return Problem(
                seq, f"row {seq} is a purge record that states no claim: {self._unreadable[seq]}"
            )
        named = self._by_seq.get(seq)
        if named is None:
            return None
        claim = named.claim
        if claim.through_seq >= seq:
            return _forged(named, "names rows it does not follow")
        if not self._signed(named):
            return _forged(named, "is not signed by the log's key")
        if claim.retention_days < MIN_LOG_DAYS:
            return _forged(
                named,
                f"keeps rows {claim.retention_days} days, fewer than the "
                f"{MIN_LOG_DAYS} the regulation requires",
            )
        if claim.before_ms + claim.retention_days * DAY_MS > entry.at_ms:
            return _forged(named, "purged rows within their retention")
        if (named.seen.count, named.seen.digest()) != (claim.audit_rows, claim.rows_sha256):
            return Problem(
                claim.from_seq,
                f"rows {claim.from_seq}\u2013{claim.through_seq} are no longer what the purge at "
                f"row {seq} recorded of them (time, action, role, subject type, leaf): edited",
            )
        return None

    def _signed(self, named: _Named) -> bool:
        if self._public_key is None:
            return False
        try:
            self._public_key.verify(named.signature, named.claim.message())
        except InvalidSignature:
            return False
        return True


def _forged(named: _Named, what: str) -> Problem:
    return Problem(named.seq, f"row {named.seq} is a purge record that {what}: forged")
