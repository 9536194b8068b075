"""Reads marked `prepared` run on SQLite's inline reader straight through the DBAPI cursor: the
rows are the ones SQLAlchemy gives, typed as it types them, and a block's reads still share one
snapshot, whichever kind runs first."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    select,
)

from tests.databases import sqlite_only
from townhall.store.database import Database, open_database
from townhall.store.prepared import Plans, prepared

pytestmark = sqlite_only

things = Table(
    "things",
    MetaData(),
    Column("id", BigInteger, primary_key=True),
    Column("name", String(32), nullable=False),
    Column("done", Boolean, nullable=False),
    Column("details", JSON, nullable=False),
)
ROWS = [
    {"id": 1, "name": "first", "done": True, "details": {"tags": ["a"], "n": 1}},
    {"id": 2, "name": "second", "done": False, "details": {"tags": [], "n": 2}},
    {"id": 3, "name": "second", "done": True, "details": {"tags": ["c"], "n": 3}},
    {"id": 4, "name": "second", "done": True, "details": {"tags": [], "n": 4}},
]

# Typed columns (a Boolean and a JSON, which SQLAlchemy converts), a value given by name and
# one fixed in the statement (LIMIT 2).
BY_NAME = prepared(
    select(things).where(things.c.name == bindparam("name")).order_by(things.c.id).limit(2)
)
DONE_IDS = prepared(select(things.c.id).where(things.c.done == bindparam("done")))
EXPANDED = prepared(select(things.c.id).where(things.c.id.in_(bindparam("ids", expanding=True))))
NOT_MARKED = select(things).where(things.c.id == bindparam("id"))


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    path = tmp_path / "things.db"
    engine = create_engine(f"sqlite:///{path}")
    things.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(things.insert(), ROWS)
    engine.dispose()
    database = open_database(f"sqlite+aiosqlite:///{path}")
    yield database
    await database.dispose()


async def as_sqlalchemy_reads(database: Database, statement: Any, parameters: Any) -> list[Any]:
    async with database.engine.connect() as conn:
        return list((await conn.execute(statement, parameters)).all())


@pytest.mark.parametrize(
    ("statement", "parameters"),
    [(BY_NAME, {"name": "second"}), (BY_NAME, {"name": "none"}), (DONE_IDS, {"done": True})],
)
async def test_a_prepared_read_gives_what_sqlalchemy_gives(
    database: Database, statement: Any, parameters: dict[str, Any]
) -> None:
    async with database.reading() as conn:
        rows = list((await conn.execute(statement, parameters)).all())
    assert rows == await as_sqlalchemy_reads(database, statement, parameters)
    if statement is BY_NAME and rows:  # typed as SQLAlchemy types them, read by name, limited
        assert [(row.done, row.details["n"]) for row in rows] == [(False, 2), (True, 3)]
        assert all(type(row.done) is bool for row in rows)
        assert rows[0]._mapping["name"] == "second"


async def test_a_prepared_scalar_and_first(database: Database) -> None:
    async with database.reading() as conn:
        assert await conn.scalar(DONE_IDS, {"done": False}) == 2
        first = (await conn.execute(BY_NAME, {"name": "first"})).first()
        assert first is not None and first.details["tags"] == ["a"]


def test_only_marked_reads_that_need_no_expansion_are_planned() -> None:
    plans = Plans(create_engine("sqlite://").dialect)
    assert plans.plan_for(BY_NAME) is not None
    assert plans.plan_for(EXPANDED) is None  # its IN list is expanded per call
    assert plans.plan_for(NOT_MARKED) is None
    # A statement derived from a marked one is another statement, built per call.
    assert plans.plan_for(BY_NAME.limit(1)) is None


@pytest.mark.parametrize("prepared_first", [True, False])
async def test_a_blocks_reads_share_one_snapshot(
    database: Database, tmp_path: Path, prepared_first: bool
) -> None:
    """A row written by another connection between two reads of one block is seen by
    neither, whether the block began with a prepared read or a plain one."""
    reads = [
        (BY_NAME, {"name": "late"}),
        (NOT_MARKED.where(things.c.name == "late"), {"id": 5}),
    ]
    if not prepared_first:
        reads.reverse()
    async with database.reading() as conn:
        before = (await conn.execute(*reads[0])).all()
        with closing(sqlite3.connect(tmp_path / "things.db")) as other:
            other.execute("INSERT INTO things VALUES (5, 'late', 1, '{}')")
            other.commit()
        after = (await conn.execute(*reads[1])).all()
    assert before == [] and after == []
    async with database.reading() as conn:
        assert len((await conn.execute(BY_NAME, {"name": "late"})).all()) == 1


async def test_blocks_open_at_once_read_on_connections_of_their_own(
    database: Database, tmp_path: Path
) -> None:
    """Read connections are kept between blocks, never shared by two blocks open at once: a
    block that begins after a row is written sees it, one begun before does not."""
    for _ in range(2):  # the second time on the connections the first kept
        async with database.reading() as early, database.reading() as late:
            assert (await early.execute(BY_NAME, {"name": "late"})).all() == []
            with closing(sqlite3.connect(tmp_path / "things.db")) as other:
                other.execute("INSERT INTO things VALUES (5, 'late', 1, '{}')")
                other.commit()
            assert len((await late.execute(BY_NAME, {"name": "late"})).all()) == 1
            assert (await early.execute(NOT_MARKED, {"id": 5})).all() == []
        async with database.reading() as after:
            assert len((await after.execute(NOT_MARKED, {"id": 5})).all()) == 1
        with closing(sqlite3.connect(tmp_path / "things.db")) as other:
            other.execute("DELETE FROM things WHERE id = 5")
            other.commit()
