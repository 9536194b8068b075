"""Reach rules without a database: when a count crosses a threshold, the day a count belongs to,
and the digest that seals an evidence snapshot."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from townhall.domain.reach import (
    DAY_MS,
    author_due,
    crossed,
    day_of,
    evidence_digest,
    window_start_day,
)
from townhall.packs import load_pack

REACH = load_pack("cn-2014").reach


def test_the_default_pack_uses_the_2013_thresholds() -> None:
    assert (REACH.serious_views, REACH.serious_forwards, REACH.window_days) == (5000, 500, 365)


@pytest.mark.parametrize(
    ("before", "after", "threshold", "expected"),
    [
        (4999, 5000, 5000, True),  # the 5,000th view: serious, inclusive
        (4998, 4999, 5000, False),
        (5000, 5001, 5000, False),  # already past: no second crossing
        (5000, 5000, 5000, False),  # nothing new
        (4990, 5010, 5000, True),  # a group commit that jumps over the threshold
        (499, 500, 500, True),  # the 500th forward
        (498, 499, 500, False),
        (500, 501, 500, False),
        (0, 1, 1, True),
    ],
)
def test_crossing_is_the_one_change_that_reaches_the_threshold(
    before: int, after: int, threshold: int, expected: bool
) -> None:
    assert crossed(before, after, threshold) is expected


@given(
    threshold=st.integers(1, 10_000),
    steps=st.lists(st.integers(0, 3_000), min_size=1, max_size=50),
)
def test_a_growing_count_crosses_once_at_most(threshold: int, steps: list[int]) -> None:
    count, crossings = 0, []
    for step in steps:
        if crossed(count, count + step, threshold):
            crossings.append(count + step)
        count += step
    assert len(crossings) == (1 if count >= threshold else 0)
    assert all(at >= threshold for at in crossings)


def test_days_are_utc_days() -> None:
    assert day_of(0) == 0
    assert day_of(DAY_MS - 1) == 0
    assert day_of(DAY_MS) == 1
    assert day_of(1_700_000_000_000) == 19675  # 2023-11-14 22:13 UTC


SNAPSHOT: dict[str, Any] = {
    "post_id": 7,
    "public_account_id": 3,
    "account_name": "读书会",
    "title": "据说",
    "body": "据说……",
    "content_class": "commentary",
    "source_post_id": None,
    "created_at": "2026-01-01T00:00:00.000Z",
    "reach": {"views": 5000, "forwards": 12, "forward_depth": 3},
    "captured_at": "2026-01-02T00:00:00.000Z",
}


def test_the_digest_is_sha256_of_the_canonical_snapshot() -> None:
    canonical = json.dumps(SNAPSHOT, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert evidence_digest(SNAPSHOT) == hashlib.sha256(canonical.encode()).hexdigest()
    reordered = dict(reversed(list(SNAPSHOT.items())))
    assert evidence_digest(reordered) == evidence_digest(SNAPSHOT)


@pytest.mark.parametrize("key", sorted(SNAPSHOT))
def test_any_edit_changes_the_digest(key: str) -> None:
    edited = {**SNAPSHOT, key: {"edited": SNAPSHOT[key]}}
    assert evidence_digest(edited) != evidence_digest(SNAPSHOT)
    removed = {k: v for k, v in SNAPSHOT.items() if k != key}
    assert evidence_digest(removed) != evidence_digest(SNAPSHOT)


@given(body=st.text(max_size=50), other=st.text(max_size=50))
def test_a_different_body_gives_a_different_digest(body: str, other: str) -> None:
    first, second = {**SNAPSHOT, "body": body}, {**SNAPSHOT, "body": other}
    assert (evidence_digest(first) == evidence_digest(second)) == (body == other)


# An author's rolling totals --------------------------------------------------------------------

WINDOW = 365
NOW = 1_800_000_000_000


def test_an_author_below_the_threshold_is_not_due() -> None:
    assert not author_due(499, 500, None, NOW, WINDOW)
    assert author_due(500, 500, None, NOW, WINDOW)
    assert author_due(900, 500, None, NOW, WINDOW)


def test_an_author_is_escalated_once_per_window() -> None:
    assert not author_due(600, 500, NOW - DAY_MS, NOW, WINDOW)
    first_day = window_start_day(NOW, WINDOW) * DAY_MS
    assert not author_due(600, 500, first_day, NOW, WINDOW)  # still inside the window
    assert author_due(600, 500, first_day - 1, NOW, WINDOW)  # the window moved past it
    assert window_start_day(NOW, 1) == day_of(NOW)
