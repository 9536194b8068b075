"""The audit log's rows: appended in the caller's transaction, read back in order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import Row, insert, select

from townhall.store.database import DbConnection
from townhall.store.schema import audit_log

PAGE = 5_000


async def head(conn: DbConnection) -> Row | None:
    result = await conn.execute(
        select(audit_log.c.seq, audit_log.c.chain_hash).order_by(audit_log.c.seq.desc()).limit(1)
    )
    return result.first()


async def append(conn: DbConnection, **values: Any) -> None:
    await conn.execute(insert(audit_log).values(**values))


async def page(conn: DbConnection, *, after: int, limit: int) -> list[Row]:
    result = await conn.execute(
        select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq).limit(limit)
    )
    return list(result)


async def every_row(conn: DbConnection) -> AsyncIterator[Row]:
    """All rows in storage order of seq, a page at a time (rowid order would hide a reorder
    of seq values, so the walk is by seq and the verifier checks they are consecutive)."""
    after = 0
    while True:
        rows = await page(conn, after=after, limit=PAGE)
        for row in rows:
            yield row
        if len(rows) < PAGE:
            return
        after = rows[-1].seq


def write_checkpoint_file(folder: Path, tree_size: int, text: str) -> Path:
    """Written under a temporary name and renamed, so a reader never sees half a checkpoint."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"checkpoint-{tree_size:012d}.txt"
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
    return path


def checkpoint_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("checkpoint-*.txt")) if folder.is_dir() else []
