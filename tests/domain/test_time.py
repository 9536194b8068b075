"""Timestamps as the API shows them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from townhall.domain.time import iso_utc


@pytest.mark.parametrize(
    ("ms", "shown"),
    [
        (0, "1970-01-01T00:00:00.000Z"),
        (1, "1970-01-01T00:00:00.001Z"),
        (999, "1970-01-01T00:00:00.999Z"),
        (1_700_000_000_123, "2023-11-14T22:13:20.123Z"),
        (4_102_444_800_000, "2100-01-01T00:00:00.000Z"),
    ],
)
def test_milliseconds_are_shown_as_iso_8601_utc(ms: int, shown: str) -> None:
    assert iso_utc(ms) == shown


def _parse(shown: str) -> int:
    moment = datetime.strptime(shown, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return (moment - epoch) // datetime.resolution // 1000


@given(st.integers(min_value=0, max_value=2**32 * 1000))  # until 2106
def test_every_millisecond_round_trips(ms: int) -> None:
    shown = iso_utc(ms)
    assert shown.endswith("Z")
    assert len(shown) == len("1970-01-01T00:00:00.000Z")
    assert _parse(shown) == ms


def test_far_future_milliseconds_are_exact() -> None:
    assert iso_utc(253_402_300_799_999) == "9999-12-31T23:59:59.999Z"
