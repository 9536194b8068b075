"""PDQ hashes of removed images, and the index that finds the banked ones within a Hamming
distance of an upload's: resized, recompressed or re-coloured copies (cropped ones only within
a per cent or so: PDQ's limit, measured in tests/domain/test_pdq_index.py).

A PDQ hash (Meta's perceptual hash, as hash-sharing programmes exchange them) is 256 bits,
written as 64 hexadecimal digits. Two images are copies when their hashes differ in at most a
policy's number of bits (PDQ's own suggestion is 31).

The index is multi-index hashing (Norouzi, Punjani and Fleet, "Fast search in Hamming space
with multi-index hashing", 2012): the 256 bits are cut into 16 substrings of 16 bits, and each
substring position has a table from its 65,536 values to the banked hashes holding that value.
Two hashes at most d apart, d = 16 r + a with 0 <= a < 16, differ in at most r bits in one of
their first a + 1 substrings or in at most r - 1 bits in one of the rest (were every one
further, the distance would pass d). So a lookup at d = 31 probes each table at its substring
and the 16 values one bit from it (272 buckets), and at d = 32 the first table at two bits and
the rest at one (392). Every hash in a probed bucket is a candidate, checked by its full
distance. A lookup whose buckets would hold more than a quarter of the bank (past d = 65)
scans every hash instead: a candidate costs a few times what a scanned hash does.

Why this and not another, measured with 1,000,000 random hashes at d = 31 on the shared 2-core
development machine, busy with other work (`townhall.bench.pdq` gives the index's figures):
- 16 substrings of 16 bits: about 4,200 candidates a lookup (272 buckets of 15), gathered and
  counted in numpy: 0.23 ms at the median, 0.3 ms at p99, hit or miss. 100 MB of arrays (the
  hashes 32, the tables 64, bucket bounds 8), built from hex in about 2 s.
- 32 substrings of 8 bits, each matched exactly (m >= d + 1): a bucket holds 1/256 of the bank,
  so 125,000 candidates and 7.6 ms.
- 8 substrings of 32 bits at three bits: 43,912 probes, by binary search as 2^32 buckets cannot
  be addressed directly: 7.9 ms before a candidate is checked.
- The 16 x 16 layout in pure Python (dicts of lists of slots, ints and int.bit_count()):
  3.3 ms a lookup, 16 s to build and 390 MB.
- Scanning every hash with the same distance code: 0.8 ms for 100,000, 17 ms for 1,000,000.
- A BK-tree (not measured): distances between unrelated hashes gather at 128 +- 8 bits, and a
  lookup must visit every child whose edge lies within d of its own distance: nearly all.

The tables are arrays: per substring position the slots sorted by value (uint32) and the
bucket boundaries. Hashes added since the tables were built (up to UNINDEXED_LIMIT) are
scanned by every lookup, then merged into the tables in one pass (0.1 to 0.3 s at 1,000,000);
removed ones are masked, and dropped once a quarter of the slots are.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from townhall.domain.pdq import PDQ_BITS, PDQ_BYTES, PDQ_HEX_DIGITS, normalize_pdq

SUBSTRINGS = 16  # of SUBSTRING_BITS each: see the module docstring for why
SUBSTRING_BITS = PDQ_BITS // SUBSTRINGS
WORDS = PDQ_BITS // 64
SCAN_SHARE = 4  # a lookup probing more than 1/SCAN_SHARE of the buckets scans instead
UNINDEXED_LIMIT = 8192  # hashes added since the tables were built, scanned by every lookup
DEAD_SHARE_LIMIT = 4  # removed slots are dropped once they are one in this many

_BUCKETS = 1 << SUBSTRING_BITS

K = TypeVar("K", bound=Hashable)
Rows = npt.NDArray[np.uint64]  # (n, WORDS): one hash a row, its bytes as written in hex
Slots = npt.NDArray[np.intp]


def _row(hash_hex: str) -> Rows:
    return np.frombuffer(bytes.fromhex(normalize_pdq(hash_hex)), dtype=np.uint64)


def _parse_many(hashes: list[str]) -> bytes:
    """The hashes' bytes end to end, or PdqHashInvalid for the first that is not one."""
    if all(isinstance(hash_hex, str) and len(hash_hex) == PDQ_HEX_DIGITS for hash_hex in hashes):
        try:  # one call for them all; fromhex skips whitespace, which the length then shows
            raw = bytes.fromhex("".join(hashes))
        except ValueError:
            pass
        else:
            if len(raw) == PDQ_BYTES * len(hashes):
                return raw
    return bytes.fromhex("".join(normalize_pdq(hash_hex) for hash_hex in hashes))


def hamming(a_hex: str, b_hex: str) -> int:
    """How many of the 256 bits of two PDQ hashes differ."""
    a = int(normalize_pdq(a_hex), 16)
    b = int(normalize_pdq(b_hex), 16)
    return (a ^ b).bit_count()


@dataclass(frozen=True, slots=True)
class PdqMatch(Generic[K]):
    key: K
    distance: int  # bits that differ from the hash looked up


@cache
def _masks(radius: int) -> npt.NDArray[np.uint16]:
    """Every substring value at most `radius` bits from zero: XORed with a substring, its
    neighbours."""
    values = np.arange(_BUCKETS, dtype=np.uint16)
    return values[np.bitwise_count(values) <= radius]


@cache
def _probe_plan(max_distance: int) -> tuple[Slots, npt.NDArray[np.uint16]]:
    """For a lookup at this distance, the table and the XOR mask of each bucket probed."""
    radius, spare = divmod(max_distance, SUBSTRINGS)
    tables: list[Slots] = []
    masks: list[npt.NDArray[np.uint16]] = []
    for table in range(SUBSTRINGS):
        table_radius = radius if table <= spare else radius - 1
        if table_radius >= 0:
            table_masks = _masks(table_radius)
            masks.append(table_masks)
            tables.append(np.full(len(table_masks), table, dtype=np.intp))
    return np.concatenate(tables), np.concatenate(masks)


def _distances(rows: Rows, query: Rows) -> npt.NDArray[np.uint32]:
    """Bits by which each row differs from the query."""
    differ = np.bitwise_xor(rows.reshape(-1), np.tile(query, len(rows)))
    counts = np.bitwise_count(differ).view(np.uint32)  # a row's 4 word counts, one per byte
    # Sum the four bytes (each <= 64) in lanes wide enough for 256: summing over a length-4
    # axis is numpy's slowest path.
    pairs = (counts & 0x00FF00FF) + ((counts >> 8) & 0x00FF00FF)
    return (pairs & 0xFFFF) + (pairs >> 16)


def _inserted(
    array: npt.NDArray[np.uint32], positions: Slots, values: npt.NDArray[np.uint32]
) -> npt.NDArray[np.uint32]:
    """np.insert(array, positions, values), several times faster on large arrays: each value
    lands before array[position], values for the same position in their given order."""
    order = np.argsort(positions, kind="stable")
    landed = positions[order] + np.arange(len(positions))
    merged = np.empty(len(array) + len(values), dtype=array.dtype)
    kept = np.ones(len(merged), dtype=np.bool_)
    kept[landed] = False
    merged[kept] = array
    merged[landed] = values[order]
    return merged


class PdqIndex(Generic[K]):
    """Banked PDQ hashes, each under a key (a bank row's id, say), found by Hamming distance.

    A key holds one hash; adding a key again replaces its hash. Several keys may hold the same
    hash. Not thread-safe: one writer, and no lookups while it writes. Most adds and removals
    take microseconds, but one in UNINDEXED_LIMIT merges (0.1 s or more at 1,000,000) and a
    bulk add builds the tables (2 s at 1,000,000): a server does those off its event loop, or
    builds a new index there and swaps it in.
    """

    def __init__(self, *, unindexed_limit: int = UNINDEXED_LIMIT) -> None:
        self._unindexed_limit = unindexed_limit
        self._rows: Rows = np.empty((0, WORDS), dtype=np.uint64)
        self._alive = np.empty(0, dtype=np.bool_)
        self._keys: list[K | None] = []  # by slot; None once removed
        self._slots: dict[K, int] = {}
        self._dead = 0
        # The tables cover slots [0, _indexed): per substring position, the slots ordered by
        # the position's value, all positions laid end to end, and where each value's run
        # starts in that array (_bounds[position, value]; the run ends at [position, value+1]).
        self._indexed = 0
        self._order = np.empty(0, dtype=np.uint32)
        self._bounds = np.zeros((SUBSTRINGS, _BUCKETS + 1), dtype=np.intp)

    def __len__(self) -> int:
        return len(self._slots)

    @property
    def unindexed(self) -> int:
        """Hashes added since the tables were built: every lookup scans them."""
        return len(self._keys) - self._indexed

    def __contains__(self, key: object) -> bool:
        return key in self._slots

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays: hashes, tables, liveness (not the keys' Python objects)."""
        arrays = (self._rows, self._alive, self._order, self._bounds)
        return sum(array.nbytes for array in arrays)

    def add(self, hash_hex: str, key: K) -> None:
        self.add_many([(hash_hex, key)])

    def add_many(self, items: Iterable[tuple[str, K]]) -> None:
        """Add hashes in bulk (a bank read at start, an imported list): the tables are built
        once for them all. Every hash is checked before any is added; a key given twice keeps
        its last hash."""
        hashes: list[str] = []
        keys: list[K] = []
        for hash_hex, key in items:
            hashes.append(hash_hex)
            keys.append(key)
        raw = _parse_many(hashes)
        if len(set(keys)) < len(keys):
            last = {key: position for position, key in enumerate(keys)}
            kept = sorted(last.values())
            keys = [keys[position] for position in kept]
            raw = b"".join(
                raw[position * PDQ_BYTES : (position + 1) * PDQ_BYTES] for position in kept
            )
        if self._slots:
            for key in keys:
                self.remove(key)
        if not keys:
            return
        start, stop = len(self._keys), len(self._keys) + len(keys)
        self._reserve(stop)
        self._rows[start:stop] = np.frombuffer(raw, np.uint64).reshape(-1, WORDS)
        self._alive[start:stop] = True
        self._keys.extend(keys)
        self._slots.update(zip(keys, range(start, stop), strict=True))
        if stop - self._indexed > self._unindexed_limit:
            self._index_added()

    def remove(self, key: K) -> None:
        """Forget the key's hash; a key not held is ignored."""
        slot = self._slots.pop(key, None)
        if slot is None:
            return
        self._alive[slot] = False
        self._keys[slot] = None
        self._dead += 1
        if self._dead > self._unindexed_limit and self._dead * DEAD_SHARE_LIMIT > len(self._keys):
            self._compact()

    def remove_hash(self, hash_hex: str) -> list[K]:
        """Forget every key holding exactly this hash; the keys forgotten."""
        keys = [match.key for match in self.nearest(hash_hex, 0)]
        for key in keys:
            self.remove(key)
        return keys

    def hash_of(self, key: K) -> str | None:
        slot = self._slots.get(key)
        return None if slot is None else self._rows[slot].tobytes().hex()

    def items(self) -> Iterator[tuple[str, K]]:
        """(hash, key) of every key held, in the order they were added."""
        for slot, key in enumerate(self._keys):
            if key is not None:
                yield self._rows[slot].tobytes().hex(), key

    def nearest(self, hash_hex: str, max_distance: int) -> list[PdqMatch[K]]:
        """The keys whose hashes are at most `max_distance` bits from this one, nearest first
        (then in the order they were added)."""
        if not 0 <= max_distance <= PDQ_BITS:
            raise ValueError(f"max_distance is 0 to {PDQ_BITS}")
        query = _row(hash_hex)
        scan_from = self._indexed  # the slots after it are in no table yet
        slots: list[Slots] = []
        distances: list[npt.NDArray[np.uint32]] = []
        if len(_probe_plan(max_distance)[0]) * SCAN_SHARE > _BUCKETS:
            scan_from = 0
        else:
            probed = self._probe(query, max_distance)
            found = _distances(np.take(self._rows, probed, axis=0), query)
            near = found <= max_distance
            slots.append(probed[near])
            distances.append(found[near])
        found = _distances(self._rows[scan_from : len(self._keys)], query)
        near_scanned = np.flatnonzero(found <= max_distance)
        slots.append(near_scanned + scan_from)
        distances.append(found[near_scanned])
        # A slot found by several tables once; removed ones not at all.
        unique_slots, first = np.unique(np.concatenate(slots), return_index=True)
        alive = self._alive[unique_slots]
        unique_slots, unique_distances = (
            unique_slots[alive],
            np.concatenate(distances)[first][alive],
        )
        order = np.argsort(unique_distances, kind="stable")
        keys = self._keys
        return [
            PdqMatch(keys[slot], distance)  # alive, so not None
            for slot, distance in zip(
                unique_slots[order].tolist(), unique_distances[order].tolist(), strict=True
            )
        ]

    def _probe(self, query: Rows, max_distance: int) -> Slots:
        """The slots in the buckets a lookup at this distance probes (with repeats)."""
        if not self._indexed:
            return np.empty(0, dtype=np.intp)
        tables, masks = _probe_plan(max_distance)
        values = query.view(np.uint16)[tables] ^ masks
        buckets = self._bounds.reshape(-1)
        flat = tables * (_BUCKETS + 1) + values
        starts = buckets[flat]
        lengths = buckets[flat + 1] - starts
        total = int(lengths.sum())
        # Every run laid end to end: the i-th slot gathered is at starts[run] + (i - run's start
        # in the output).
        shifts = starts - (np.cumsum(lengths) - lengths)
        positions = np.repeat(shifts, lengths) + np.arange(total)
        return self._order[positions].astype(np.intp)

    def _reserve(self, slots: int) -> None:
        if slots <= len(self._rows):
            return
        capacity = max(slots, len(self._rows) * 5 // 4, 1024)  # a quarter more: the bank is large
        rows = np.empty((capacity, WORDS), dtype=np.uint64)
        rows[: len(self._keys)] = self._rows[: len(self._keys)]
        alive = np.zeros(capacity, dtype=np.bool_)
        alive[: len(self._keys)] = self._alive[: len(self._keys)]
        self._rows, self._alive = rows, alive

    def _substrings(self, start: int, stop: int) -> npt.NDArray[np.uint16]:
        return self._rows[start:stop].view(np.uint16)  # (n, SUBSTRINGS)

    def _index_added(self) -> None:
        """Bring the slots added since the tables were built into them: a merge, or a build
        when they are many beside the tables (a merge costs a copy of the tables)."""
        used = len(self._keys)
        if self._indexed == 0 or (used - self._indexed) * 8 > self._indexed:
            self._build()
            return
        added = self._substrings(self._indexed, used).astype(np.intp)
        count = len(added)
        tables = np.arange(SUBSTRINGS, dtype=np.intp)
        # Slots sort by value within a table and ascend within a run: an added slot goes at the
        # end of its value's run, table by table.
        run_ends = self._bounds.reshape(-1)[added + tables * (_BUCKETS + 1) + 1]
        self._order = _inserted(
            self._order,
            run_ends.T.reshape(-1),
            np.tile(np.arange(self._indexed, used, dtype=np.uint32), SUBSTRINGS),
        )
        # Every run moves by the slots added to the runs before it, those of earlier tables
        # included: a cumulative count over all the tables' values laid end to end.
        counts = np.bincount(
            (added + tables * _BUCKETS).reshape(-1), minlength=tables.size * _BUCKETS
        )
        self._bounds[:, 1:] += np.cumsum(counts).reshape(SUBSTRINGS, _BUCKETS)
        self._bounds[:, 0] += tables * count
        self._indexed = used

    def _build(self) -> None:
        used = len(self._keys)
        substrings = self._substrings(0, used)
        order = np.empty(SUBSTRINGS * used, dtype=np.uint32)
        bounds = np.empty((SUBSTRINGS, _BUCKETS + 1), dtype=np.intp)
        for table in range(SUBSTRINGS):
            values = substrings[:, table]
            order[table * used : (table + 1) * used] = np.argsort(values, kind="stable")
            bounds[table, 0] = 0
            np.cumsum(np.bincount(values, minlength=_BUCKETS), out=bounds[table, 1:])
            bounds[table] += table * used
        self._order, self._bounds, self._indexed = order, bounds, used

    def _compact(self) -> None:
        """Drop removed slots: the live ones are renumbered in order and the tables rebuilt."""
        live = np.flatnonzero(self._alive[: len(self._keys)])
        self._rows = np.ascontiguousarray(self._rows[live])
        self._alive = np.ones(len(live), dtype=np.bool_)
        self._keys = [self._keys[slot] for slot in live.tolist()]
        self._slots = {key: slot for slot, key in enumerate(self._keys)}  # type: ignore[misc]
        self._dead = 0
        self._build()
