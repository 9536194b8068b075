"""The operators' lexicon entries and the statements of reasons of moderation decisions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select

from townhall.store.database import DbConnection
from townhall.store.on_conflict import insert_on_conflict
from townhall.store.records import records
from townhall.store.schema import lexicon_entries, moderation_statements

TERM = "term"
ALLOW = "allow"


@dataclass(frozen=True, slots=True)
class LexiconEntry:
    id: int
    kind: str  # TERM or ALLOW
    text: str
    category: str | None  # a term's
    severity: str | None  # a term's
    added_by: int | None  # None: the CLI
    added_at: int


@dataclass(frozen=True, slots=True)
class StoredStatement:
    """The statement of reasons of a moderation decision."""

    id: int
    surface: str
    decision: str
    author_id: int | None  # None: refused before there was an account
    subject_type: str
    subject_id: int | None  # None when blocked: nothing was stored
    reasons: str  # JSON list of {category, severity, term, excerpt}
    automated: int
    created_at: int


async def entries(conn: DbConnection) -> list[LexiconEntry]:
    result = await conn.execute(select(lexicon_entries).order_by(lexicon_entries.c.id))
    return records(LexiconEntry, result)


async def upsert_entries(conn: DbConnection, rows: Iterable[dict[str, Any]]) -> None:
    """Add entries; one already listed takes the new category and severity."""
    rows = list(rows)
    if not rows:
        return
    statement = insert_on_conflict(lexicon_entries)
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
    removed: bool = result.rowcount == 1
    return removed


async def insert_statement(conn: DbConnection, **values: Any) -> int:
    result = await conn.execute(insert(moderation_statements).values(**values))
    (statement_id,) = result.inserted_primary_key
    return int(statement_id)


async def statements(conn: DbConnection, *, after: int, limit: int) -> list[StoredStatement]:
    result = await conn.execute(
        select(moderation_statements)
        .where(moderation_statements.c.id > after)
        .order_by(moderation_statements.c.id)
        .limit(limit)
    )
    return records(StoredStatement, result)


async def statements_about(
    conn: DbConnection, subject_type: str, subject_id: int, *, limit: int = 20
) -> list[StoredStatement]:
    """The first statements of reasons about one stored subject, oldest first."""
    result = await conn.execute(
        select(moderation_statements)
        .where(
            moderation_statements.c.subject_type == subject_type,
            moderation_statements.c.subject_id == subject_id,
        )
        .order_by(moderation_statements.c.id)
        .limit(limit)
    )
    return records(StoredStatement, result)
