"""Several writing processes on one PostgreSQL database, each standing here as its own Database
(engine, positions, listener) in this test process: positions, seqs and the audit chain stay one
cluster-wide order, and a reader's cursor never skips an event that commits late."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.databases import postgresql_only
from townhall.services.audit import AuditTrail, verify_log
from townhall.store import stream as stream_store
from townhall.store.database import Database, open_database
from townhall.store.message_log import MessageLog
from townhall.store.schema import messages

from .conftest import add_account, add_conversation

pytestmark = postgresql_only

NODES = 2
PER_NODE = 150


@pytest.fixture
async def nodes(database: Database, database_url: str) -> AsyncIterator[list[Database]]:
    """The fixture's database and one more on the same PostgreSQL database, each following
    the positions the other commits."""
    async with AsyncExitStack() as stack:
        others = [open_database(database_url) for _ in range(NODES - 1)]
        cluster = [database, *others]
        for node in others:
            await node.load_positions()
            stack.push_async_callback(node.dispose)
        for node in cluster:
            follower = asyncio.create_task(node.follow_positions())
            stack.callback(follower.cancel)
        yield cluster


async def started_log(stack: AsyncExitStack, node: Database) -> MessageLog:
    log = MessageLog(node, batch_max=16, clock=time.time)
    log.start()
    stack.push_async_callback(log.stop)
    return log


async def test_two_writers_share_one_order_and_a_cursor_never_skips(
    nodes: list[Database],
) -> None:
    alice = await add_account(nodes[0], "alice")
    bob = await add_account(nodes[0], "bob")
    conversation_id = await add_conversation(nodes[0], [alice, bob])
    reader = nodes[0]
    seen: list[int] = []
    done = asyncio.Event()

    async def follow() -> None:
        """Bob's client on the first node, syncing by cursor while both nodes write."""
        cursor = 0
        while True:
            finished = done.is_set()
            upto = reader.positions.persisted_upto()
            async with reader.reading() as conn:
                entries = await stream_store.entries_since(
                    conn, bob, since=cursor, upto=upto, limit=1000
                )
            seen.extend(entry.position for entry in entries)
            cursor = max([cursor, *(entry.position for entry in entries)])
            if finished and cursor >= upto:
                return
            await asyncio.sleep(0)

    async def send(log: MessageLog, node_number: int) -> None:
        await asyncio.gather(
            *(
                log.append(
                    conversation_id=conversation_id,
                    sender_id=alice,
                    client_id=f"n{node_number}-{i}",
                    text="hello",
                    recipients=(alice, bob),
                )
                for i in range(PER_NODE)
            )
        )

    async with AsyncExitStack() as stack:
        logs = [await started_log(stack, node) for node in nodes]
        following = asyncio.create_task(follow())
        await asyncio.gather(*(send(log, number) for number, log in enumerate(logs)))
        top = max(node.positions.persisted_upto() for node in nodes)
        assert await reader.positions.reached(top)  # heard from the other node
        done.set()
        await asyncio.wait_for(following, 10)

    async with reader.reading() as conn:
        stored = (
            await conn.execute(
                select(messages.c.seq, messages.c.position).order_by(messages.c.position)
            )
        ).all()
    assert len(stored) == NODES * PER_NODE
    assert [seq for seq, _ in stored] == list(range(1, NODES * PER_NODE + 1))
    assert seen == [position for _, position in stored]  # each once, in order, none skipped


async def test_a_resend_to_another_node_is_the_same_message(nodes: list[Database]) -> None:
    alice = await add_account(nodes[0], "alice")
    conversation_id = await add_conversation(nodes[0], [alice])
    async with AsyncExitStack() as stack:
        first, second = [await started_log(stack, node) for node in nodes]
        sent = await first.append(
            conversation_id=conversation_id,
            sender_id=alice,
            client_id="once",
            text="hello",
            recipients=(alice,),
        )
        again = await second.append(
            conversation_id=conversation_id,
            sender_id=alice,
            client_id="once",
            text="hello",
            recipients=(alice,),
        )
    assert again.duplicate
    assert again.message == sent.message


async def test_staff_actions_on_two_nodes_make_one_audit_chain(
    nodes: list[Database], tmp_path: Path
) -> None:
    trail = AuditTrail(clock=time.time)

    async def act(node: Database, number: int) -> None:
        for i in range(40):
            async with node.writing() as conn:
                await trail.record_automatic(
                    conn, "test_action", subject=("node", number), details={"i": i}
                )

    await asyncio.gather(*(act(node, number) for number, node in enumerate(nodes)))
    size, problem = await verify_log(nodes[1], [], tmp_path / "no-purges.key")
    assert problem is None
    assert size == NODES * 40
