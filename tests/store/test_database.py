"""Migrations, and the id and position counters carried across a restart."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from townhall.store import stream as stream_store
from townhall.store.database import Database, open_database
from townhall.store.message_log import MessageLog
from townhall.store.migrate import upgrade_to_head
from townhall.store.schema import metadata

from .conftest import add_account, add_conversation, open_migrated

TABLES = {
    "accounts",
    "identities",
    "agreement_acceptances",
    "sessions",
    "conversations",
    "members",
    "messages",
    "events",
    "inbox",
    "identity_access",
    "blacklist",
    "phone_codes",
    "public_accounts",
    "subscriptions",
    "posts",
    "post_views",
    "forwards",
    "reach_daily",
    "evidence_snapshots",
    "reach_escalations",
    "lexicon_entries",
    "moderation_statements",
    "review_cases",
    "reports",
    "sanctions",
    "appeals",
    "hash_bank",
    "audit_log",
}


async def test_migrations_create_exactly_the_schema_the_code_uses(database: Database) -> None:
    async with database.engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        differences = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
        )
        version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    assert tables == TABLES | {"alembic_version"}
    assert differences == []
    assert version == "0010"


async def test_migrating_twice_changes_nothing_and_keeps_the_data(db_path: Path) -> None:
    database = await open_migrated(db_path)
    alice = await add_account(database, "alice")
    await upgrade_to_head(database)
    await database.dispose()

    reopened = await open_migrated(db_path)
    try:
        async with reopened.reading() as conn:
            handles = (await conn.execute(text("SELECT id, handle FROM accounts"))).all()
        assert [tuple(row) for row in handles] == [(alice, "alice")]
    finally:
        await reopened.dispose()


async def test_the_database_runs_in_wal_mode_with_foreign_keys(database: Database) -> None:
    async with database.reading() as conn:
        assert await conn.scalar(text("PRAGMA journal_mode")) == "wal"
        assert await conn.scalar(text("PRAGMA foreign_keys")) == 1


async def test_a_fresh_database_starts_its_counters_at_one(database: Database) -> None:
    assert database.counters.next_message_id == 1
    assert database.counters.next_position == 1
    assert database.counters.committed_position == 0


async def test_counters_continue_above_the_stored_ids_after_reopening(db_path: Path) -> None:
    database = await open_migrated(db_path)
    alice = await add_account(database, "alice")
    bob = await add_account(database, "bob")
    conversation_id = await add_conversation(database, [alice, bob])
    log = MessageLog(database, batch_max=8, clock=time.time)
    log.start()
    before = [
        await log.append(
            conversation_id=conversation_id,
            sender_id=alice,
            client_id=f"c{i}",
            text="before the restart",
            recipients=(alice, bob),
        )
        for i in range(5)
    ]
    await log.stop()
    # A conversation event holds the highest position of all: the counters must see it too.
    async with database.writing() as conn:
        event_position = database.counters.take_position()
        await stream_store.append_event(
            conn,
            position=event_position,
            event_type="conversation",
            payload=orjson.dumps({"type": "conversation", "cursor": event_position}),
            recipients=[alice, bob],
        )
    await database.dispose()

    reopened = open_database(f"sqlite+aiosqlite:///{db_path}")
    await reopened.load_counters()
    try:
        assert reopened.counters.next_message_id == before[-1].message.id + 1
        assert reopened.counters.committed_position == event_position
        assert reopened.counters.next_position == event_position + 1
        log = MessageLog(reopened, batch_max=8, clock=time.time)
        log.start()
        after = await log.append(
            conversation_id=conversation_id,
            sender_id=bob,
            client_id="c-after",
            text="after the restart",
            recipients=(alice, bob),
        )
        await log.stop()
    finally:
        await reopened.dispose()

    assert after.message.id > before[-1].message.id
    assert after.message.position > event_position
    assert after.message.seq == 6
