"""Rows loaded straight into a stopped server's SQLite file, in big transactions: what the
benchmarks need by the million and would take hours to make over the API."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.progress import Progress
from sqlalchemy import bindparam, insert, make_url
from sqlalchemy.dialects import sqlite

from townhall.config import Settings

# Rows a bulk-loaded account holds: enough for the foreign keys, no identity, no login.
FILLER_PASSWORD_HASH = "!bench-no-login"
LOAD_CHUNK = 100_000


def sqlite_file(data_dir: Path) -> Path:
    url = make_url(Settings(data_dir=data_dir).resolved_database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        raise RuntimeError("the bench bulk-loads SQLite; unset TOWNHALL_DATABASE_URL")
    return Path(url.database)


def insert_sql(table: Any, columns: list[str]) -> str:
    """A positional INSERT for sqlite3, compiled from the schema so a renamed column fails."""
    statement = insert(table).values({column: bindparam(column) for column in columns})
    compiled = statement.compile(dialect=sqlite.dialect())
    assert compiled.positiontup == columns
    return str(compiled)


def load(
    db: sqlite3.Connection, sql: str, rows: Iterator[tuple], total: int, what: str, bar: Progress
) -> None:
    """executemany in transactions of LOAD_CHUNK rows, advancing a progress bar."""
    task = bar.add_task(what, total=total)
    while chunk := list(itertools.islice(rows, LOAD_CHUNK)):
        db.execute("BEGIN")
        db.executemany(sql, chunk)
        db.execute("COMMIT")
        bar.advance(task, len(chunk))
