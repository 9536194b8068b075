"""Rate limits counted per cluster: processes on one Redis share each window."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.redis_here import connections_named, delete_keys, redis_url, unique_prefix
from townhall.services.rate_limits import Limit, RateLimits

pytestmark = pytest.mark.database_free  # the PostgreSQL run leaves it out (Makefile)

FIVE_A_MINUTE = Limit.parse("reports_per_reporter", "5/minute")


@pytest.fixture
def key_prefix() -> Iterator[str]:
    prefix = unique_prefix()
    yield prefix
    delete_keys(prefix)


async def test_two_processes_count_against_the_same_window(key_prefix: str) -> None:
    url = redis_url()
    one = RateLimits.for_bus(url, key_prefix=key_prefix)
    two = RateLimits.for_bus(url, key_prefix=key_prefix)
    for limiter in (one, one, one, two, two):
        assert await limiter.hit(FIVE_A_MINUTE, "alice") is None
    wait = await two.hit(FIVE_A_MINUTE, "alice")
    assert wait is not None and 0 < wait <= 60
    assert await one.wait_for(FIVE_A_MINUTE, "alice") is not None
    assert await one.hit(FIVE_A_MINUTE, "bob") is None  # another key, another count
    await one.forget(FIVE_A_MINUTE, "alice")
    assert await two.hit(FIVE_A_MINUTE, "alice") is None
    assert connections_named(key_prefix) >= 2
    await one.close()
    await two.close()
    assert connections_named(key_prefix) == 0


async def test_without_its_redis_a_process_counts_on_its_own(
    caplog: pytest.LogCaptureFixture,
) -> None:
    unreachable = RateLimits.for_bus("redis://127.0.0.1:1/0", key_prefix=unique_prefix())
    for _ in range(5):
        assert await unreachable.hit(FIVE_A_MINUTE, "alice") is None
    assert await unreachable.hit(FIVE_A_MINUTE, "alice") is not None
    warnings = [r for r in caplog.records if "rate-limit storage failed" in r.getMessage()]
    assert len(warnings) == 1


async def test_on_the_memory_bus_the_count_is_this_processs() -> None:
    one, two = (
        RateLimits.for_bus("memory://", key_prefix="a"),
        RateLimits.for_bus("memory://", key_prefix="a"),
    )
    for _ in range(5):
        assert await one.hit(FIVE_A_MINUTE, "alice") is None
    assert await one.hit(FIVE_A_MINUTE, "alice") is not None
    assert await two.hit(FIVE_A_MINUTE, "alice") is None
