"""The PDQ hash bank's index: build time, memory and lookup latency with random hashes.

Hits are banked hashes with 1 to max_distance bits flipped (each must be found); misses are
fresh random hashes. Random hashes spread evenly over the index's buckets; real ones cluster
(similar images, a bank's near copies of one), so a lookup near a cluster checks more
candidates than these do. The baseline is the same lookup scanning every hash, at a smaller
count.
"""

from __future__ import annotations

import gc
import random
import time
from typing import Any

import numpy as np
import psutil

from townhall.bench.common import percentile
from townhall.domain.pdq import PDQ_BITS, PDQ_BYTES
from townhall.domain.pdq_index import PdqIndex

LINEAR_COUNT = 100_000  # hashes the linear-scan baseline runs over (at most)
SINGLE_ADDS = 20_000  # hashes added one at a time after the build: merges included
SEED = 20_140_807
ROUNDS = 3  # passes over the queries; each lookup's fastest counts


def random_hashes(rng: np.random.Generator, count: int) -> list[str]:
    raw = rng.integers(0, 256, size=(count, PDQ_BYTES), dtype=np.uint8).tobytes()
    return [raw[start : start + PDQ_BYTES].hex() for start in range(0, len(raw), PDQ_BYTES)]


def flipped(rng: random.Random, hash_hex: str, bits: int) -> str:
    value = int(hash_hex, 16)
    for bit in rng.sample(range(PDQ_BITS), bits):
        value ^= 1 << bit
    return f"{value:064x}"


def latency_us(values_ns: list[int]) -> dict[str, float]:
    values = [value / 1000 for value in values_ns]
    return {
        "p50_us": round(percentile(values, 0.50), 1),
        "p99_us": round(percentile(values, 0.99), 1),
        "max_us": round(max(values), 1),
    }


def rss_mb() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


def timed_lookups(
    index: PdqIndex[int], queries: list[str], max_distance: int
) -> tuple[list[int], list[int]]:
    """Each lookup's nanoseconds, the fastest of ROUNDS passes over all the queries (a lookup
    preempted on a shared machine is timed again; a query's rows are long out of the caches
    when it comes round again), and how many it found."""
    times = [2**63] * len(queries)
    found = [0] * len(queries)
    for _ in range(ROUNDS):
        for position, query in enumerate(queries):
            started = time.perf_counter_ns()
            matches = index.nearest(query, max_distance)
            times[position] = min(times[position], time.perf_counter_ns() - started)
            found[position] = len(matches)
    return times, found


def measure_linear(
    rng: np.random.Generator, count: int, queries: int, max_distance: int
) -> dict[str, Any]:
    """The same lookups scanning every hash: an index that never builds its tables."""
    index: PdqIndex[int] = PdqIndex(unindexed_limit=count)
    index.add_many(zip(random_hashes(rng, count), range(count), strict=True))
    times, _ = timed_lookups(index, random_hashes(rng, queries), max_distance)
    return {"count": count, "queries": queries, **latency_us(times)}


def measure_index(
    count: int, queries: int, max_distance: int, *, seed: int = SEED
) -> dict[str, Any]:
    """Build an index of `count` random hashes and time lookups that hit and that miss."""
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    hashes = random_hashes(rng, count)
    before_mb = rss_mb()
    index: PdqIndex[int] = PdqIndex()
    started = time.perf_counter()
    index.add_many(zip(hashes, range(count), strict=True))
    build_s = time.perf_counter() - started
    index_mb = rss_mb() - before_mb
    arrays_mb = index.nbytes / 2**20

    hit_queries, banked = [], []
    for _ in range(queries):
        key = pick.randrange(count)
        banked.append(key)
        hit_queries.append(flipped(pick, hashes[key], pick.randint(1, max_distance)))
    miss_queries = random_hashes(rng, queries)
    timed_lookups(index, miss_queries[: min(100, queries)], max_distance)  # warm-up
    hit_ns, _ = timed_lookups(index, hit_queries, max_distance)
    found = sum(
        any(match.key == key for match in index.nearest(query, max_distance))
        for query, key in zip(hit_queries, banked, strict=True)
    )
    miss_ns, miss_found = timed_lookups(index, miss_queries, max_distance)

    adds_ns = []
    for key, hash_hex in enumerate(random_hashes(rng, SINGLE_ADDS), start=count):
        started_ns = time.perf_counter_ns()
        index.add(hash_hex, key)
        adds_ns.append(time.perf_counter_ns() - started_ns)
    unmerged = index.unindexed
    unmerged_ns, _ = timed_lookups(index, miss_queries, max_distance)

    return {
        "count": count,
        "max_distance": max_distance,
        "build_s": round(build_s, 2),
        "memory": {
            "index_arrays_mb": round(arrays_mb, 1),
            "process_growth_mb": round(index_mb, 1),  # arrays plus the keys' dict and list
        },
        "hits": {"queries": queries, "found": found, **latency_us(hit_ns)},
        "misses": {
            "queries": queries,
            "false_matches": sum(miss_found),  # random hashes: at 31 bits, none expected
            **latency_us(miss_ns),
        },
        "single_adds": {
            "adds": SINGLE_ADDS,
            "mean_us": round(sum(adds_ns) / len(adds_ns) / 1000, 1),
            "max_ms": round(max(adds_ns) / 1e6, 1),  # one that merged the added into the tables
        },
        # Misses again after the single adds, with the hashes added since the last merge
        # scanned by every lookup.
        "misses_with_unmerged": {"unmerged": unmerged, **latency_us(unmerged_ns)},
        "linear_scan": measure_linear(
            rng, min(count, LINEAR_COUNT), min(queries, 200), max_distance
        ),
    }
