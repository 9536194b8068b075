"""Rate limits counted per cluster: processes on one Redis share each window."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from tests.redis_here import connections_named, delete_keys, redis_url, unique_prefix
from townhall.services import rate_limits
from townhall.services.rate_limits import Limit, LocalWindows, RateLimits

pytestmark = pytest.mark.database_free  # the PostgreSQL run leaves it out (Makefile)

FIVE_A_MINUTE = Limit.parse("reports_per_reporter", "5/minute")  # on a clock of the test's
# On the real clock: a sliding window counter lets one more in at its period's turn (it floors
# the weighted count), which an hour's window meets sixty times less often than a minute's.
FIVE_AN_HOUR = Limit.parse("reports_per_reporter", "5/hour")


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
        assert await limiter.hit(FIVE_AN_HOUR, "alice") is None
    wait = await two.hit(FIVE_AN_HOUR, "alice")
    assert wait is not None and 0 < wait <= 3600
    assert await one.wait_for(FIVE_AN_HOUR, "alice") is not None
    assert await one.hit(FIVE_AN_HOUR, "bob") is None  # another key, another count
    await one.forget(FIVE_AN_HOUR, "alice")
    assert await two.hit(FIVE_AN_HOUR, "alice") is None
    assert connections_named(key_prefix) >= 2
    await one.close()
    await two.close()
    assert connections_named(key_prefix) == 0


async def test_without_its_redis_a_process_counts_on_its_own(
    caplog: pytest.LogCaptureFixture,
) -> None:
    unreachable = RateLimits.for_bus("redis://127.0.0.1:1/0", key_prefix=unique_prefix())
    for _ in range(5):
        assert await unreachable.hit(FIVE_AN_HOUR, "alice") is None
    assert await unreachable.hit(FIVE_AN_HOUR, "alice") is not None
    warnings = [r for r in caplog.records if "rate-limit storage failed" in r.getMessage()]
    assert len(warnings) == 1


async def test_while_its_redis_fails_a_process_asks_it_again_only_now_and_then(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A storage that does not answer would cost every request its timeout: after a failure
    the process counts on its own for SHARED_RETRY_SECONDS, then asks again."""
    monkeypatch.setattr(rate_limits, "SHARED_RETRY_SECONDS", 0.2)
    unreachable = RateLimits.for_bus("redis://127.0.0.1:1/0", key_prefix=unique_prefix())
    shared = unreachable._shared
    assert shared is not None
    asked = 0
    ask = shared.test

    async def counted(*args: Any, **kwargs: Any) -> bool:
        nonlocal asked
        asked += 1
        return await ask(*args, **kwargs)

    monkeypatch.setattr(shared, "test", counted)
    for _ in range(4):
        assert await unreachable.hit(FIVE_AN_HOUR, "alice") is None
    assert asked == 1
    await asyncio.sleep(0.3)
    assert await unreachable.hit(FIVE_AN_HOUR, "alice") is None
    assert asked == 2
    assert await unreachable.hit(FIVE_AN_HOUR, "alice") is not None  # the sixth, counted here
    assert asked == 2


async def test_on_the_memory_bus_the_count_is_this_processs() -> None:
    one, two = (
        RateLimits.for_bus("memory://", key_prefix="a"),
        RateLimits.for_bus("memory://", key_prefix="a"),
    )
    for _ in range(5):
        assert await one.hit(FIVE_AN_HOUR, "alice") is None
    assert await one.hit(FIVE_AN_HOUR, "alice") is not None
    assert await two.hit(FIVE_AN_HOUR, "alice") is None


# Steps of the differential test: seconds to let pass, then what to do, and under which key.
STEPS = st.lists(
    st.tuples(
        st.one_of(  # mostly within a window, at times past several
            st.floats(min_value=0, max_value=0.4), st.floats(min_value=0, max_value=25)
        ),
        st.sampled_from(["hit", "hit", "hit", "wait_for", "forget"]),
        st.sampled_from(["alice", "bob"]),
    ),
    max_size=60,
)


# A refusal at the very start of a period, where `limits` reckons the time left as 0.
AT_A_PERIODS_START = [(0.0, "hit", "alice")] * 3 + [(10.0, "hit", "alice")] * 1
AT_A_PERIODS_START += [(0.0, "hit", "alice")] * 2


@given(
    steps=STEPS,
    start=st.one_of(  # whole seconds too, where `limits`' rounding shows in its waits
        st.floats(min_value=1e9, max_value=2e9), st.integers(10**9, 2 * 10**9).map(float)
    ),
)
@example(steps=AT_A_PERIODS_START, start=1e9)
@settings(max_examples=300, deadline=None)
def test_this_processs_windows_count_and_wait_as_limits_sliding_window_counter(
    steps: list[tuple[float, str, str]], start: float
) -> None:
    """The in-process windows are a faster `limits` sliding window counter: the same events
    at the same times fit or wait the same seconds in both."""
    limit = Limit.parse("sends", "3/second;5/10 seconds")
    now = [start]
    ours = LocalWindows(clock=lambda: now[0])
    theirs = SlidingWindowCounterRateLimiter(MemoryStorage())

    async def reference(operation: str, key: str) -> int | None:
        waits = []
        for window in limit.windows:
            if not await theirs.test(window, limit.name, key):
                stats = await theirs.get_window_stats(window, limit.name, key)
                waits.append(max(1, math.ceil(stats.reset_time - now[0])))
        wait = max(waits) if waits else None
        if operation == "hit" and wait is None:
            for window in limit.windows:
                await theirs.hit(window, limit.name, key)
        if operation == "forget":
            for window in limit.windows:
                await theirs.clear(window, limit.name, key)
        return wait

    async def run() -> None:
        with mock.patch("time.time", lambda: now[0]):
            for seconds, operation, key in steps:
                now[0] += seconds
                expected = await reference(operation, key)
                if operation == "hit":
                    assert ours.hit(limit, (key,)) == expected
                elif operation == "wait_for":
                    assert ours.wait_for(limit, (key,)) == expected
                else:
                    ours.forget(limit, (key,))

    asyncio.run(run())


def test_this_processs_windows_forget_what_weighs_nothing() -> None:
    """Counts two periods old are dropped at the next sweep: a long-running process does not
    keep a count for everyone who ever sent."""
    now = [60 * 16_666 + 1.0]  # a minute's first second
    windows = LocalWindows(clock=lambda: now[0])
    for person in range(100):
        assert windows.hit(FIVE_A_MINUTE, (str(person),)) is None
    now[0] += 61  # the next minute: the counts still weigh, and the sweep keeps them
    assert windows.hit(FIVE_A_MINUTE, ("someone",)) is None
    assert len(windows._counts) == 101
    now[0] += 60  # the minute after: the first minute's counts weigh nothing
    windows.hit(FIVE_A_MINUTE, ("someone",))
    assert [(key, period) for _, _, key, period in windows._counts] == [
        (("someone",), 16_667),
        (("someone",), 16_668),
    ]


def test_asking_whether_one_more_fits_records_nothing() -> None:
    """A caller refused before it counts (a login throttled per handle and address) may keep
    asking under new keys: that leaves no counts behind."""
    windows = LocalWindows()
    for handle in range(1_000):
        assert windows.wait_for(FIVE_A_MINUTE, (f"handle{handle}", "10.0.0.1")) is None
    assert windows._counts == {}
