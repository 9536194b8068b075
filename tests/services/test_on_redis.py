"""The services as the server builds them with `bus_url = "redis://…"`: a second RedisBus on
the same Redis stands for another server process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from tests.identity_provider import StandInProvider
from tests.redis_here import redis_url, unique_prefix
from tests.services.conftest import World, pack_written_in
from townhall.app import running_services
from townhall.bus.base import user_channel
from townhall.bus.redis import RedisBus
from townhall.config import LimitsSettings, Settings


@pytest.fixture
def prefix() -> str:
    return unique_prefix()


@pytest.fixture
async def world(
    tmp_path: Path, identity_provider: StandInProvider, prefix: str
) -> AsyncIterator[World]:
    settings = Settings(
        data_dir=tmp_path / "data",
        password_hash_profile="cheapest",
        policy_pack=pack_written_in(tmp_path),
        limits=LimitsSettings(sends_per_user="100000/second"),
        bus_url=redis_url(),
        bus_prefix=prefix,
        **identity_provider.settings(),
    )
    async with running_services(settings) as services:
        assert isinstance(services.bus, RedisBus)
        yield World(services, settings.data_dir)


@pytest.fixture
async def other_process(prefix: str) -> AsyncIterator[RedisBus]:
    bus = RedisBus(redis_url(), prefix=prefix)
    yield bus
    await bus.close()


async def test_a_message_rings_here_and_in_the_other_process(
    world: World, other_process: RedisBus
) -> None:
    alice, bob = await world.person("alice"), await world.person("bob")
    direct, _ = await world.messaging.open_direct(alice, bob.account_id)
    elsewhere: list[tuple[bytes, object]] = []
    await other_process.subscribe(
        user_channel(bob.account_id), lambda p, o: elsewhere.append((p, o))
    ).ready()
    since = world.sync.current_cursor
    waiting = asyncio.create_task(world.sync.wait_for_events(bob, since, timeout=10))
    await asyncio.sleep(0.05)  # the long poll is waiting
    sent = await world.messaging.send(alice, direct.id, text="hello", client_id="m1")
    events, _ = await asyncio.wait_for(waiting, 5)
    assert [e["message"]["text"] for e in events] == ["hello"]
    async with asyncio.timeout(5):
        while not elsewhere:
            await asyncio.sleep(0.005)
    payload, origin = elsewhere[0]
    assert origin is None
    assert orjson.loads(payload)["message"]["id"] == sent.message.id
