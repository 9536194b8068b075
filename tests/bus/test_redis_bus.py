"""The Redis bus, two instances standing for two server processes on one Redis."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable

import pytest
import redis

from tests.redis_here import drop_connections, redis_url, unique_prefix
from townhall.bus.factory import open_bus
from townhall.bus.redis import RedisBus

pytestmark = pytest.mark.database_free  # the PostgreSQL run leaves it out (Makefile)

Received = list[tuple[bytes, object]]


def collect(into: Received) -> Callable[[bytes, object], None]:
    return lambda payload, origin: into.append((payload, origin))


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.005)


@pytest.fixture
def prefix() -> str:
    return unique_prefix()


@pytest.fixture
async def nodes(prefix: str) -> AsyncIterator[tuple[RedisBus, RedisBus]]:
    url = redis_url()
    one, two = RedisBus(url, prefix=prefix), RedisBus(url, prefix=prefix)
    yield one, two
    await one.close()
    await two.close()


async def fence(sender: RedisBus, channel: str, receiver: Received) -> None:
    """Publish a marker from `sender` and wait until `receiver` has it: whatever Redis sent
    before it has arrived by then."""
    sender.publish(channel, b"fence")
    await until(lambda: bool(receiver) and receiver[-1][0] == b"fence")


async def test_a_publish_reaches_the_other_node_without_origin_and_this_one_once_with_it(
    nodes: tuple[RedisBus, RedisBus],
) -> None:
    one, two = nodes
    here: Received = []
    there: Received = []
    await one.subscribe("room", collect(here)).ready()
    await two.subscribe("room", collect(there)).ready()
    sender = object()
    one.publish("room", b"hello", origin=sender)
    assert here == [(b"hello", sender)]  # delivered here at once, before any await
    await until(lambda: there == [(b"hello", None)])
    await fence(two, "room", here)
    assert here == [(b"hello", sender), (b"fence", None)]  # its copy from Redis was dropped


async def test_publish_here_stays_in_this_process(nodes: tuple[RedisBus, RedisBus]) -> None:
    one, two = nodes
    here: Received = []
    there: Received = []
    await one.subscribe("user:1", collect(here)).ready()
    await two.subscribe("user:1", collect(there)).ready()
    one.publish_here("user:1", b"post")
    await fence(one, "user:1", there)
    assert here == [(b"post", None), (b"fence", None)]
    assert there == [(b"fence", None)]


async def test_a_closed_subscription_gets_nothing_more_and_its_channel_is_left(
    nodes: tuple[RedisBus, RedisBus], prefix: str
) -> None:
    one, two = nodes
    staying: Received = []
    leaving: Received = []
    stays = two.subscribe("room", collect(staying))
    leaves = two.subscribe("room", collect(leaving))
    await leaves.ready()
    one.publish("room", b"before")
    await until(lambda: len(staying) == 1)
    leaves.close()
    one.publish("room", b"after")
    await until(lambda: len(staying) == 2)
    assert [payload for payload, _ in leaving] == [b"before"]

    channel = f"{prefix}room".encode()
    with redis.Redis.from_url(redis_url()) as client:
        assert client.pubsub_numsub(channel) == [(channel, 1)]
        stays.close()  # the last subscriber here: the process stops receiving the channel
        await until(lambda: client.pubsub_numsub(channel) == [(channel, 0)])


async def test_one_publishers_messages_arrive_in_the_order_sent(
    nodes: tuple[RedisBus, RedisBus],
) -> None:
    one, two = nodes
    there: Received = []
    await two.subscribe("room", collect(there)).ready()
    sent = [str(number).encode() for number in range(2_000)]
    for payload in sent:
        one.publish("room", payload)
    await until(lambda: len(there) == len(sent))
    assert [payload for payload, _ in there] == sent


async def test_the_bus_reconnects_by_itself_when_redis_drops_its_connections(
    nodes: tuple[RedisBus, RedisBus], prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    one, two = nodes
    there: Received = []
    await two.subscribe("room", collect(there)).ready()
    one.publish("room", b"before")
    await until(lambda: len(there) == 1)

    caplog.set_level(logging.WARNING, logger="townhall.bus.redis")
    assert drop_connections(f"{prefix}bus") >= 2  # both pub/sub connections, at least
    # Publish until one gets through again: those sent while it was down are dropped.
    number = 0
    while there[-1][0] == b"before":
        number += 1
        one.publish("room", f"during {number}".encode())
        await asyncio.sleep(0.02)
        assert number < 500, "not back within 10 s"
    after = [f"after {n}".encode() for n in range(100)]
    for payload in after:
        one.publish("room", payload)
    await until(lambda: there[-1][0] == after[-1])
    assert [p for p, _ in there if p.startswith(b"after")] == after
    lost = [r for r in caplog.records if "lost Redis" in r.getMessage()]
    assert 1 <= len(lost) <= 2  # once for each bus whose connection went, never per message


async def test_without_redis_publishes_are_delivered_here_dropped_for_others_and_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = RedisBus("redis://127.0.0.1:1/0", prefix=unique_prefix())  # nothing listens there
    here: Received = []
    subscription = bus.subscribe("room", collect(here))
    started = time.monotonic()
    await subscription.ready()  # does not wait on a Redis that is not there
    assert time.monotonic() - started <= 1.5
    for number in range(200):
        bus.publish("room", str(number).encode())
        await asyncio.sleep(0.001)
    assert [payload for payload, _ in here] == [str(n).encode() for n in range(200)]
    await until(lambda: bus.dropped == 200)
    lost = [r for r in caplog.records if "lost Redis" in r.getMessage()]
    assert len(lost) == 1
    assert "127.0.0.1:1" in lost[0].getMessage()
    await bus.close()


async def test_open_bus_takes_redis_urls_and_names_the_extra_when_it_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = redis_url()
    bus = open_bus(url)
    assert isinstance(bus, RedisBus)
    await bus.close()
    with pytest.raises(ValueError, match="memory://"):
        open_bus("amqp://127.0.0.1")
    monkeypatch.delitem(sys.modules, "townhall.bus.redis")
    monkeypatch.setitem(sys.modules, "redis", None)  # as if the extra were not installed
    with pytest.raises(RuntimeError, match=r"pip install 'townhall\[redis\]'"):
        open_bus(url.replace("redis://", "rediss://"))


async def test_a_quiet_bus_following_no_channel_survives_its_pings(
    nodes: tuple[RedisBus, RedisBus],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Redis answers a PING on a connection that follows no channel with a plain PONG, not
    the pub/sub reply: the listener takes it in its stride and delivers afterwards."""
    monkeypatch.setattr("townhall.bus.redis.QUIET_SECONDS", 0.05)
    one, two = nodes
    one.publish("nobody-listens", b"x")  # the bus connects, following no channel
    await asyncio.sleep(0.5)  # several quiet rounds: pinged, answered
    there: Received = []
    await two.subscribe("room", collect(there)).ready()
    await one.subscribe("other", collect([])).ready()
    one.publish("room", b"after the pings")
    await until(lambda: there == [(b"after the pings", None)])
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
