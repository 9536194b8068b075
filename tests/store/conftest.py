"""A real SQLite database in tmp_path, migrated, with helpers to add accounts and conversations."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.databases import PostgresDatabases, on_postgresql
from townhall.store import accounts as account_store
from townhall.store import conversations as conversation_store
from townhall.store.database import Database, open_database
from townhall.store.message_log import MessageLog
from townhall.store.migrate import upgrade_to_head


async def open_migrated(url_or_path: str | Path) -> Database:
    """A database at the newest schema: a PostgreSQL URL, or the path of a SQLite file."""
    url = str(url_or_path)
    database = open_database(url if "://" in url else f"sqlite+aiosqlite:///{url}")
    await upgrade_to_head(database)
    await database.load_positions()
    return database


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "townhall.db"


@pytest.fixture
def database_url(db_path: Path, postgres_databases: PostgresDatabases) -> str:
    """A fresh database of the backend the tests run on (tests/databases.py)."""
    if on_postgresql():
        return postgres_databases.fresh()
    return f"sqlite+aiosqlite:///{db_path}"


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = await open_migrated(database_url)
    yield database
    await database.dispose()


@pytest.fixture
async def message_log(database: Database) -> AsyncIterator[MessageLog]:
    log = MessageLog(database, batch_max=1024, clock=time.time)
    log.start()
    yield log
    await log.stop()


async def add_account(database: Database, handle: str) -> int:
    async with database.writing() as conn:
        return await account_store.insert_account(
            conn,
            handle=handle,
            display_name=handle.title(),
            password_hash="not-a-real-hash",
            status="active",
            now_ms=0,
        )


async def add_conversation(database: Database, member_ids: list[int]) -> int:
    async with database.writing() as conn:
        conversation_id = await conversation_store.insert_conversation(
            conn,
            kind="group",
            title="a group",
            direct_key=None,
            created_by=member_ids[0],
            now_ms=0,
        )
        await conversation_store.insert_members(
            conn, conversation_id, dict.fromkeys(member_ids, "member"), 0
        )
    return conversation_id
