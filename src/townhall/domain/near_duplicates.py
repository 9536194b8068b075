"""Near copies of removed texts: MinHash over character shingles of the skeleton, found through
an index of the removed texts' chunks.

A copy with a character changed has another SHA-256, so the exact hash bank misses it. Here a
removed text is kept as a sketch: the MinHash (datasketch, xxh32) of its 3-character shingles,
which estimates the Jaccard similarity of two texts' shingle sets, and the xxh32 hashes of every
8-character chunk of its first 256 characters. A message is looked up by four of its own chunks
(cheap enough for every message); only a removed text holding two of them is compared by
MinHash, and one at or above the threshold is a near copy. Neither part of a sketch holds the
text.

Why chunks and not datasketch's MinHashLSH: LSH needs every message's MinHash, which costs more
than the rest of the content check together (docs/benchmarks.md). Why they lose nothing a
threshold of about 0.7 would catch: each changed character breaks at most one of a message's
probed chunks, and a copy that broke all but one of them has few shingles left in common
(unless it is long and the changes were aimed at the probes: see docs/moderation.md).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from xxhash import xxh32_intdigest

if TYPE_CHECKING:
    from datasketch import LeanMinHash, MinHash

SHINGLE_CHARS = 3
PERMUTATIONS = 128  # the estimate's standard error is about 0.04 at a similarity of 0.7
CHUNK_CHARS = 8
INDEXED_PREFIX_CHARS = 256  # a near copy holds most of a removed text, so also most of its start
PROBES = 4  # chunks of a message looked up, spread over its start
CANDIDATE_CHUNKS = 2  # of them a removed text must hold to be compared (of fewer, all but one)
_SEED = 20_140_807
_COUNT = struct.Struct("<I")


@cache
def _permuted() -> MinHash:
    """The permutations, drawn once: a MinHash drawing its own costs more than the hashing.

    datasketch is imported here, on first use: its package imports its LSH classes and with
    them SciPy, a third of a server's start-up, and a server that has removed no text never
    needs a sketch (one that has reads its bank at start, off the event loop)."""
    from datasketch import MinHash

    return MinHash(num_perm=PERMUTATIONS, seed=_SEED, hashfunc=xxh32_intdigest)


def _chunk_hash(chunk: str) -> int:
    return xxh32_intdigest(chunk.encode())


def minhash(skeleton_text: str) -> LeanMinHash:
    """The MinHash of the text's shingles (a text shorter than one is one shingle)."""
    from datasketch import LeanMinHash, MinHash

    shingles = {
        skeleton_text[start : start + SHINGLE_CHARS]
        for start in range(max(1, len(skeleton_text) - SHINGLE_CHARS + 1))
    }
    permuted = _permuted()
    sketch = MinHash(
        num_perm=PERMUTATIONS,
        seed=_SEED,
        hashfunc=xxh32_intdigest,
        permutations=permuted.permutations,
        scheme=permuted.scheme,
    )
    sketch.update_batch([shingle.encode() for shingle in shingles])
    return LeanMinHash(sketch)


@dataclass(frozen=True, slots=True)
class Sketch:
    """What is kept of a removed text to find near copies of it."""

    minhash: LeanMinHash
    chunks: frozenset[int]  # xxh32 of every chunk of its indexed prefix

    def to_bytes(self) -> bytes:
        chunks = sorted(self.chunks)
        packed = _COUNT.pack(len(chunks)) + struct.pack(f"<{len(chunks)}I", *chunks)
        buffer = bytearray(self.minhash.bytesize(byteorder="<"))
        self.minhash.serialize(buffer, byteorder="<")
        return packed + bytes(buffer)

    @classmethod
    def from_bytes(cls, data: bytes) -> Sketch:
        from datasketch import LeanMinHash

        (count,) = _COUNT.unpack_from(data)
        chunks = struct.unpack_from(f"<{count}I", data, _COUNT.size)
        rest = memoryview(data)[_COUNT.size + 4 * count :]
        return cls(LeanMinHash.deserialize(rest, byteorder="<"), frozenset(chunks))


def sketch(skeleton_text: str) -> Sketch:
    prefix = skeleton_text[:INDEXED_PREFIX_CHARS]
    chunks = frozenset(
        _chunk_hash(prefix[start : start + CHUNK_CHARS])
        for start in range(len(prefix) - CHUNK_CHARS + 1)
    )
    return Sketch(minhash(skeleton_text), chunks)


def probe_starts(length: int) -> range:
    """Where the chunks a text of this length is looked up by start: up to PROBES of those laid
    end to end over its start, evenly spaced from the first."""
    return _probe_starts(min(length, INDEXED_PREFIX_CHARS))


@cache  # worked out once for each of the few lengths that differ: every message asks
def _probe_starts(length: int) -> range:
    last = length - CHUNK_CHARS
    laid = last // CHUNK_CHARS + 1
    step = max(1, (laid - 1) // (PROBES - 1)) * CHUNK_CHARS
    return range(0, last + 1, step)[:PROBES]


@dataclass(frozen=True, slots=True)
class NearMatch:
    key: bytes  # the removed text's digest in the hash bank
    category: str
    similarity: float  # estimated Jaccard similarity of the shingle sets


class NearDuplicates:
    """The sketches of removed texts, indexed by chunk."""

    def __init__(self, *, threshold: float, min_chars: int) -> None:
        self._threshold = threshold
        self._min_chars = min_chars
        self._sketches: dict[bytes, tuple[Sketch, str]] = {}
        self._by_chunk: dict[int, set[bytes]] = {}

    def __len__(self) -> int:
        return len(self._sketches)

    def add(self, key: bytes, sketch: Sketch, category: str) -> None:
        self.remove(key)
        self._sketches[key] = (sketch, category)
        for chunk in sketch.chunks:
            self._by_chunk.setdefault(chunk, set()).add(key)

    def remove(self, key: bytes) -> None:
        removed = self._sketches.pop(key, None)
        if removed is None:
            return
        for chunk in removed[0].chunks:
            keys = self._by_chunk[chunk]
            keys.discard(key)
            if not keys:
                del self._by_chunk[chunk]

    def find(self, skeleton_text: str) -> NearMatch | None:
        """The removed text this one is most like, if at or above the threshold; texts shorter
        than `min_chars` are never near copies (too few shingles to tell)."""
        if not self._sketches or len(skeleton_text) < self._min_chars:
            return None
        get = self._by_chunk.get
        starts = _probe_starts(min(len(skeleton_text), INDEXED_PREFIX_CHARS))
        found: list[bytes] = []
        for start in starts:  # _chunk_hash() inline: this runs for every message
            found += get(xxh32_intdigest(skeleton_text[start : start + CHUNK_CHARS].encode()), ())
        # One shared chunk is common between unrelated texts ("seeyoutomorrow"); a copy with a
        # character changed keeps all probed chunks but one, with two changed two of four.
        needed = max(1, min(CANDIDATE_CHUNKS, len(starts) - 1))
        if len(found) < needed:  # most texts: nothing in common with any removed one
            return None
        candidates = [key for key in set(found) if found.count(key) >= needed]
        if not candidates:
            return None
        own = minhash(skeleton_text)
        best: NearMatch | None = None
        for key in candidates:
            sketch, category = self._sketches[key]
            similarity = own.jaccard(sketch.minhash)
            if similarity >= self._threshold and (best is None or similarity > best.similarity):
                best = NearMatch(key, category, similarity)
        return best
