"""The operators' lexicon entries and the statements of reasons of moderation decisions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Row, delete, insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from townhall.store.database import DbConnection
from townhall.store.schema import lexicon_entries, moderation_statements

TERM = "term"
ALLOW = "allow"


async def entries(conn: DbConnection) -> list[Row]:
    result = await conn.execute(select(lexicon_entries).order_by(lexicon_entries.c.id))
    return list(result)


async def upsert_entries(conn: DbConnection, rows: Iterable[dict[str, Any]]) -> None:
    """Add entries; one already listed takes the new category and severity."""
    rows = list(rows)
    if not rows:
        return
    statement = sqlite_insert(lexicon_entries)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[lexicon_entries.c.kind, lexicon_entries.c.text],
            set_={
                "category": statement.excluded.category,
                "severity": statement.excluded.severity,
                "added_by": statement.excluded.added_by,
                "added_at": statement.excluded.added_at,
            },
        ),
        rows,
    )


async def delete_entry(conn: DbConnection, kind: str, text: str) -> bool:
    result = await conn.execute(
        delete(lexicon_entries).where(
            lexicon_entries.c.kind == kind, lexicon_entries.c.text == text
        )
    )
    return result.rowcount == 1


async def insert_statement(conn: DbConnection, **values: Any) -> int:
    result = await conn.execute(insert(moderation_statements).values(**values))
    (statement_id,) = result.inserted_primary_key  # type: ignore[misc]
    return int(statement_id)


async def statements(conn: DbConnection, *, after: int, limit: int) -> list[Row]:
    result = await conn.execute(
        select(moderation_statements)
        .where(moderation_statements.c.id > after)
        .order_by(moderation_statements.c.id)
        .limit(limit)
    )
    return list(result)
