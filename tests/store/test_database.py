"""Migrations, and the message ids and stream positions carried across a restart."""

from __future__ import annotations

import logging
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import orjson
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import OperationalError

from tests.databases import PostgresDatabases, on_postgresql, sqlite_only
from townhall.store import posts as post_store
from townhall.store import sessions as session_store
from townhall.store import stream as stream_store
from townhall.store.database import Database, is_locked, open_database, outwaiting_writers
from townhall.store.message_log import MessageLog
from townhall.store.migrate import alembic_config, head_revision, in_schema, upgrade_to_head
from townhall.store.schema import metadata

from .conftest import add_account, add_conversation, open_migrated

TABLES = {
    "accounts",
    "identities",
    "agreement_acceptances",
    "sessions",
    "conversations",
    "members",
    "join_links",
    "join_requests",
    "member_history",
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
    "corrections",
    "correction_notices",
    "lexicon_entries",
    "moderation_statements",
    "review_cases",
    "reports",
    "sanctions",
    "appeals",
    "hash_bank",
    "rescans",
    "classifier_trainings",
    "audit_log",
    "identity_links",
    "invitations",
    # contacts
    "contacts",
    "contact_settings",
    "friend_requests",
    "readiness_probes",
    "read_cursors",
    # media
    "media",
    "message_media",
    "post_media",
    "image_hash_bank",
}
# The search index (store/search.py): not in schema.py; on SQLite FTS5 tables, each with the
# tables that keep its index and content.
INDEX_TABLES = {"message_search", "post_search", "public_account_search"}
FTS5_SHADOW_TABLES = {
    f"{t}_{part}" for t in INDEX_TABLES for part in ("data", "idx", "content", "config")
}


async def test_migrations_create_exactly_the_schema_the_code_uses(database: Database) -> None:
    async with database.engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        differences = await conn.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"include_name": in_schema}), metadata
            )
        )
        version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    index_tables = INDEX_TABLES | (FTS5_SHADOW_TABLES if database.single_process else set())
    assert tables == TABLES | index_tables | {"alembic_version"}
    assert differences == []
    assert version == head_revision() == "0026"


async def test_migrating_twice_changes_nothing_and_keeps_the_data(database_url: str) -> None:
    database = await open_migrated(database_url)
    alice = await add_account(database, "alice")
    await upgrade_to_head(database)
    await database.dispose()

    reopened = await open_migrated(database_url)
    try:
        async with reopened.reading() as conn:
            handles = (await conn.execute(text("SELECT id, handle FROM accounts"))).all()
        assert [tuple(row) for row in handles] == [(alice, "alice")]
    finally:
        await reopened.dispose()


@sqlite_only
async def test_the_database_runs_in_wal_mode_with_foreign_keys(database: Database) -> None:
    async with database.reading() as conn:
        assert await conn.scalar(text("PRAGMA journal_mode")) == "wal"
        assert await conn.scalar(text("PRAGMA foreign_keys")) == 1


async def test_a_fresh_database_starts_its_ids_and_positions_at_one(
    database: Database, message_log: MessageLog
) -> None:
    assert database.positions.persisted_upto() == 0
    alice = await add_account(database, "alice")
    conversation_id = await add_conversation(database, [alice])
    first = await message_log.append(
        conversation_id=conversation_id,
        sender_id=alice,
        client_id="first",
        text="the first message",
        recipients=(alice,),
    )
    assert (first.message.id, first.message.seq, first.message.position) == (1, 1, 1)
    assert database.positions.persisted_upto() == 1


async def test_ids_and_positions_carry_on_above_the_stored_ones(database_url: str) -> None:
    database = await open_migrated(database_url)
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
    # A conversation event holds the highest position of all: the reopening must see it too.
    async with database.writing() as conn:
        event_position = await database.positions.take(conn)
        await stream_store.append_event(
            conn,
            position=event_position,
            event_type="conversation",
            payload=orjson.dumps({"type": "conversation", "cursor": event_position}),
            recipients=[alice, bob],
        )
    await database.dispose()

    reopened = open_database(database_url)
    await reopened.load_positions()
    try:
        assert reopened.positions.persisted_upto() == event_position
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

    assert after.message.id == before[-1].message.id + 1
    assert after.message.position == event_position + 1
    assert after.message.seq == 6


@sqlite_only  # PostgreSQL databases start at 0014: no release before ran on them
async def test_verified_identities_are_named_for_what_was_checked_when_migrating(
    db_path: Path,
) -> None:
    """Before 0008 `verified` meant a reviewer's approval or, in auto mode, a passed checksum;
    an organisation's number was always a unified social credit code."""
    database = open_database(f"sqlite+aiosqlite:///{db_path}")
    async with database.engine.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0007"))
    alice, bob, carol = [await add_account(database, name) for name in ("alice", "bob", "carol")]
    async with database.writing() as conn:
        for account_id, status, decided_by in (
            (alice, "verified", None),
            (bob, "verified", carol),
            (carol, "pending_review", None),
        ):
            await conn.execute(
                text(
                    "INSERT INTO identities (account_id, key_id, sealed, blind_index, created_at,"
                    " status, decided_by) VALUES (:id, 'k', x'00', :id, 0, :status, :by)"
                ),
                {"id": account_id, "status": status, "by": decided_by},
            )
        await conn.execute(
            text(
                "INSERT INTO public_accounts (name, name_key, category, account_type,"
                " description, operator_id, entity_kind, entity_name, uscc, status,"
                " news_entitlement, created_at) VALUES ('书店', '书店', 'enterprise',"
                " 'service', '', :op, 'organisation', '书店有限公司', '91110000600037341L',"
                " 'approved', 'none', 0)"
            ),
            {"op": alice},
        )
    await upgrade_to_head(database)
    async with database.reading() as conn:
        statuses = dict(
            (await conn.execute(text("SELECT account_id, status FROM identities"))).all()
        )
        papers = (
            await conn.execute(
                text("SELECT registration_number_type, registration_number FROM public_accounts")
            )
        ).one()
    await database.dispose()
    assert statuses == {alice: "format_checked", bob: "staff_verified", carol: "pending_review"}
    assert tuple(papers) == ("cn_uscc", "91110000600037341L")


def locked_error(db_path: Path) -> OperationalError:
    """The error SQLite really raises when another connection holds the write lock."""
    with closing(sqlite3.connect(db_path, isolation_level=None)) as holder:
        holder.execute("BEGIN IMMEDIATE")
        with closing(sqlite3.connect(db_path, isolation_level=None, timeout=0)) as other:
            try:
                other.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                return OperationalError("BEGIN IMMEDIATE", {}, error)
        holder.execute("ROLLBACK")
    raise AssertionError("the second writer was not refused")


@sqlite_only
async def test_start_up_tries_again_while_another_process_writes(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    busy = locked_error(db_path)
    assert is_locked(busy)
    attempts: list[int] = []

    async def attempt() -> str:
        attempts.append(len(attempts))
        if len(attempts) < 3:
            raise busy
        return "migrated"

    with caplog.at_level(logging.WARNING):
        assert await outwaiting_writers(attempt, "migrating") == "migrated"
    assert len(attempts) == 3
    assert caplog.messages == ["migrating: another process is writing; waiting for it"]


@sqlite_only
async def test_start_up_gives_up_after_its_wait_and_on_any_other_error(db_path: Path) -> None:
    busy = locked_error(db_path)

    async def always_locked() -> None:
        raise busy

    with pytest.raises(OperationalError):
        await outwaiting_writers(always_locked, "migrating", wait_seconds=0.2)
    other = OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x"))
    assert not is_locked(other)

    async def broken() -> None:
        raise other

    with pytest.raises(OperationalError):
        await outwaiting_writers(broken, "migrating")


async def test_sessions_stored_before_0015_are_numbered_and_count_as_seen_when_opened(
    db_path: Path, postgres_databases: PostgresDatabases
) -> None:
    empty = postgres_databases.empty() if on_postgresql() else f"sqlite+aiosqlite:///{db_path}"
    database = open_database(empty)
    async with database.engine.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0014"))
    alice = await add_account(database, "alice")
    async with database.writing() as conn:
        for token_hash, created_at in (("a" * 64, 1000), ("b" * 64, 2000)):
            await conn.execute(
                text(
                    "INSERT INTO sessions (token_hash, account_id, created_at, expires_at)"
                    " VALUES (:hash, :account, :at, 9000)"
                ),
                {"hash": token_hash, "account": alice, "at": created_at},
            )
    await upgrade_to_head(database)
    try:
        async with database.reading() as conn:
            rows = await conn.execute(
                text("SELECT id, token_hash, last_seen_at, device FROM sessions ORDER BY id")
            )
            assert [tuple(row) for row in rows] == [
                (1, "a" * 64, 1000, None),
                (2, "b" * 64, 2000, None),
            ]
        # A new session takes the next id.
        async with database.writing() as conn:
            await session_store.insert_session(
                conn,
                token_hash="c" * 64,
                account_id=alice,
                now_ms=3000,
                expires_at_ms=9000,
                device="phone",
            )
            assert (await session_store.find(conn, "c" * 64)).id == 3  # type: ignore[union-attr]
    finally:
        await database.dispose()


async def test_posts_stored_before_0026_stand_in_timelines_at_their_ids(
    db_path: Path, postgres_databases: PostgresDatabases
) -> None:
    """Before 0026 the timeline's `latest` was a post id: a post that may have been shown takes
    its id as its timeline position, so a `latest` held from then still means the same, and
    what is published after comes above it."""
    empty = postgres_databases.empty() if on_postgresql() else f"sqlite+aiosqlite:///{db_path}"
    database = open_database(empty)
    async with database.engine.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0025"))
    alice = await add_account(database, "alice")
    statuses = ["published", "held", "removed", "withheld", "published", "deleted", "held"]
    async with database.writing() as conn:
        await conn.execute(
            text(
                "INSERT INTO public_accounts (name, name_key, category, account_type, description,"
                " operator_id, entity_kind, status, news_entitlement, created_at) VALUES ('书店',"
                " '书店', 'individual', 'service', '', :alice, 'individual', 'approved', 'none', 0)"
            ),
            {"alice": alice},
        )
        account = await conn.scalar(text("SELECT id FROM public_accounts"))
        await conn.execute(
            text("INSERT INTO subscriptions VALUES (:alice, :account, 0)"),
            {"alice": alice, "account": account},
        )
        for status in statuses:
            await conn.execute(
                text(
                    "INSERT INTO posts (public_account_id, title, body, content_class, status,"
                    " created_at) VALUES (:account, '旧文', '正文', 'culture', :status, 0)"
                ),
                {"account": account, "status": status},
            )
    await upgrade_to_head(database)
    try:
        async with database.reading() as conn:
            rows = await conn.execute(text("SELECT id, timeline_position FROM posts ORDER BY id"))
            assert [tuple(row) for row in rows] == [
                (1, 1), (2, None), (3, 3), (4, None), (5, 5), (6, 6), (7, None)
            ]  # fmt: skip
        async with database.writing() as conn:
            new = await post_store.insert_post(
                conn, in_timelines=True, public_account_id=account, title="新文", body="正文",
                content_class="culture", status="published", created_at=1,
            )  # fmt: skip
            await post_store.publish(conn, [2], published="published")  # approved at last
        async with database.reading() as conn:
            # A reader who read up to post 5 before the upgrade gets what came since, newest first.
            since_then = await post_store.timeline(
                conn, alice, shown=("published", "removed"), open_accounts=("approved",),
                since=5, before=2**63 - 1, limit=10,
            )  # fmt: skip
        assert [(post.id, post.timeline_position) for post in since_then] == [(2, 8), (new, 7)]
    finally:
        await database.dispose()
