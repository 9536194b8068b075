"""Timestamps as the API shows them: ISO 8601 in UTC, from stored integer milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=1024)  # the messages of a batch share their time, as do a page's often
def iso_utc(ms: int) -> str:
    # Integer arithmetic: a float division loses milliseconds for far-future times.
    seconds, millis = divmod(ms, 1000)
    moment = EPOCH + timedelta(seconds=seconds, milliseconds=millis)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
