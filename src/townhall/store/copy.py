"""Copying a single-node installation's SQLite database into an empty PostgreSQL database, as of
one snapshot: what `townhall migrate-data` does.

Every table is copied row for row and value for value: sealed identities, blind indexes and the
audit log's hashes stay as they are, so the same keys open them and `townhall audit verify`
holds after. The source is read in one read transaction, which in WAL mode is one consistent
snapshot while a server goes on writing; the target is written in one transaction, so a copy
that fails leaves it empty and can be run again. The search index is not copied but made again
as its rows arrive: each database indexes in its own way (store/search.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import (
    ColumnElement,
    Integer,
    ScalarSelect,
    Select,
    Table,
    func,
    insert,
    inspect,
    make_url,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from townhall.store import search
from townhall.store.database import Database, Transaction
from townhall.store.migrate import plan, upgrade_to_head
from townhall.store.schema import events, messages, metadata

BATCH_ROWS = 5_000
ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


class CopyRefused(Exception):
    """The copy cannot start or did not hold; the message says why, for a person."""


class Progress(Protocol):
    def table_started(self, table: str, rows: int) -> None: ...

    def rows_copied(self, table: str, rows: int) -> None: ...


@dataclass(frozen=True, slots=True)
class Copied:
    rows: dict[str, int]  # per table, in the order copied


def async_url(url: str, backend: str) -> str:
    """`url` with the async driver Townhall uses, refused unless it is a `backend` database:
    `sqlite:///…` and `postgresql://…` are accepted as operators write them."""
    parsed = make_url(url)
    if parsed.get_backend_name() != backend:
        raise CopyRefused(f"{parsed.render_as_string()} is not a {backend} database URL")
    return parsed.set(drivername=ASYNC_DRIVERS[backend]).render_as_string(hide_password=False)


def sqlite_file(url: str) -> Path:
    """The source's database file, which must exist: opening a missing one would make it."""
    path = make_url(url).database
    if not path or not Path(path).is_file():
        raise CopyRefused(f"there is no SQLite database at {path or url}")
    return Path(path)


async def check_source(source: Database) -> None:
    """The source is a Townhall database at this release's schema, and holds no table this
    release does not know (it would not be copied). One from a newer release raises
    `NewerSchema`."""
    revision, steps = await plan(source)
    if revision is None:
        raise CopyRefused("the source has no Townhall schema: is it a Townhall database?")
    if steps:
        raise CopyRefused(
            f"the source is at schema {revision} and this release copies {steps[-1].revision}: "
            "bring it to the newest schema first with `townhall migrate` (after a "
            "`townhall backup`)"
        )
    async with source.engine.connect() as conn:
        found = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    unknown = {
        name
        for name in found - set(metadata.tables) - {"alembic_version"}
        if not search.is_index_table(name)
    }
    if unknown:
        raise CopyRefused(f"the source holds tables this release does not know: {sorted(unknown)}")


async def prepare_target(target: Database) -> None:
    """Refuse a target that holds any row; bring an empty one to the newest schema."""
    async with target.engine.connect() as conn:
        found = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
        for table in metadata.sorted_tables:
            if table.name in found and await conn.scalar(select(select(table).exists())):
                raise CopyRefused(
                    f"the target is not empty (table {table.name} holds rows): "
                    "migrate-data copies into an empty database only"
                )
    await upgrade_to_head(target)


async def copy_tables(source: Database, target: Database, progress: Progress) -> Copied:
    """Every table, parents before children, as of one snapshot of the source; then the target's
    sequences set above what was copied."""
    rows: dict[str, int] = {}
    async with source.engine.connect() as reader, reader.begin(), target.writing() as writer:
        # The first read starts the snapshot: the counts and every row come from the same one.
        totals = {t.name: await _count(reader, t) for t in metadata.sorted_tables}
        for table in metadata.sorted_tables:
            progress.table_started(table.name, totals[table.name])
            rows[table.name] = await _copy_table(reader, writer, table, progress)
        if rows != totals:
            raise CopyRefused(f"rows read differ from the snapshot's counts: {rows} != {totals}")
        await _set_sequences_above_copied(writer)
    return Copied(rows)


async def _count(conn: AsyncConnection, table: Table) -> int:
    return int(await conn.scalar(select(func.count()).select_from(table)) or 0)


async def _copy_table(
    reader: AsyncConnection, writer: Transaction, table: Table, progress: Progress
) -> int:
    # In primary-key order, so that a row referring to an earlier row of its own table (a
    # re-posted post, a forward of a forward) comes after it.
    result = await reader.stream(select(table).order_by(*table.primary_key.columns))
    copied = 0
    async for batch in result.mappings().partitions(BATCH_ROWS):
        rows = [dict(row) for row in batch]
        await writer.execute(insert(table), rows)
        await search.index_copied(writer, table.name, rows)
        copied += len(batch)
        progress.rows_copied(table.name, len(batch))
    return copied


async def _set_sequences_above_copied(writer: Transaction) -> None:
    for table in metadata.sorted_tables:
        for column in table.primary_key.columns:
            if not isinstance(column.type, Integer):
                continue
            sequence = await writer.scalar(
                select(func.pg_get_serial_sequence(table.name, column.name))
            )
            if sequence is not None:
                await writer.execute(_set_above(sequence, _top(column)))
    for sequence, top in CLUSTER_SEQUENCES.items():
        await writer.execute(_set_above(sequence, top))


def _top(column: ColumnElement[int]) -> ScalarSelect[int]:
    return select(func.max(column)).scalar_subquery()


def _set_above(sequence: str, top: ColumnElement[int]) -> Select[tuple[int]]:
    """The next value `sequence` gives is above `top`, the highest value copied (or none)."""
    return select(func.setval(sequence, func.coalesce(top, 0) + 1, False))


# The sequences of migration 0014, and the top of what they number: new message ids and stream
# positions must come after every copied one.
CLUSTER_SEQUENCES: dict[str, ColumnElement[int]] = {
    "message_ids": _top(messages.c.id),
    "stream_positions": func.greatest(_top(messages.c.position), _top(events.c.position)),
}


async def count_rows(database: Database) -> dict[str, int]:
    """Rows per table, as of one snapshot."""
    async with database.engine.connect() as conn, conn.begin():
        return {t.name: await _count(conn, t) for t in metadata.sorted_tables}
