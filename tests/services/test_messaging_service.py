"""MessagingService and SyncService: who may post, what members receive, how cursors behave."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.services.conftest import World
from townhall.bus.base import user_channel
from townhall.domain.errors import InvalidInput, NotFound, PolicyRefusal


async def test_concurrent_first_sends_read_the_members_once(world: World) -> None:
    alice, bob = await world.person("alice"), await world.person("bob")
    group = await world.group(alice, "tea", bob)
    member_reads = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if "FROM members" in statement:
            member_reads.append(statement)

    # Every engine: the services' one is the only engine in this process.
    event.listen(Engine, "before_cursor_execute", count)
    try:
        sent = await asyncio.gather(
            *(
                world.messaging.send(alice, group.id, text=f"hi {i}", client_id=f"c{i}")
                for i in range(50)
            )
        )
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert sorted(a.message.seq for a in sent) == list(range(1, 51))
    assert len(member_reads) == 1


async def test_outsiders_cannot_post_or_read_and_learn_nothing(world: World) -> None:
    alice, bob, eve = [await world.person(h) for h in ("alice", "bob", "eve")]
    direct, _ = await world.messaging.open_direct(alice, bob.account_id)
    with pytest.raises(NotFound) as refused:
        await world.messaging.send(eve, direct.id, text="let me in", client_id="e1")
    with pytest.raises(NotFound) as unknown:
        await world.messaging.send(eve, 10_000, text="anyone?", client_id="e2")
    assert refused.value.code == unknown.value.code == "conversation_not_found"
    with pytest.raises(NotFound):
        await world.messaging.history(eve, direct.id, before=None, limit=10)


async def test_group_cap_counts_the_creator(world: World) -> None:
    people = [await world.person(f"user{i}") for i in range(5)]
    owner, *others = people
    with pytest.raises(PolicyRefusal) as refused:
        await world.group(owner, "too many", *others)
    assert refused.value.code == "group_too_large"
    group = await world.group(owner, "just right", *others[:3])
    roles = dict(group.roles)
    assert roles[owner.account_id] == "owner"
    assert sorted(r for uid, r in roles.items() if uid != owner.account_id) == ["member"] * 3


async def test_members_are_rung_after_commit_with_the_stored_event(world: World) -> None:
    alice, bob = await world.person("alice"), await world.person("bob")
    direct, _ = await world.messaging.open_direct(alice, bob.account_id)
    rung: list[bytes] = []
    subscription = world.bus.subscribe(user_channel(bob.account_id), lambda p, _o: rung.append(p))
    appended = await world.messaging.send(alice, direct.id, text="hello", client_id="m1")
    subscription.close()
    events, _ = await world.sync.events_since(bob, appended.message.position - 1)
    assert len(rung) == 1
    assert orjson.loads(rung[0]) == events[-1]
    assert events[-1]["message"]["text"] == "hello"


async def test_a_cursor_never_given_out_is_refused(world: World) -> None:
    alice = await world.person("alice")
    committed = world.sync.current_cursor
    _, cursor = await world.sync.events_since(alice, committed)
    assert cursor == committed
    with pytest.raises(InvalidInput) as refused:
        await world.sync.events_since(alice, committed + 1)
    assert refused.value.code == "cursor_invalid"


async def test_long_poll_wakes_on_a_new_message(world: World) -> None:
    alice, bob = await world.person("alice"), await world.person("bob")
    direct, _ = await world.messaging.open_direct(alice, bob.account_id)
    since = world.sync.current_cursor
    waiting = asyncio.create_task(world.sync.wait_for_events(bob, since, timeout=10))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await world.messaging.send(alice, direct.id, text="wake up", client_id="w1")
    events, cursor = await asyncio.wait_for(waiting, 2)
    assert [e["message"]["text"] for e in events] == ["wake up"]
    assert cursor == events[-1]["cursor"] > since
