"""`townhall migrate-data --from sqlite:///… --to postgresql+asyncpg://…`: a single-node
installation's database copied into PostgreSQL, for several server processes (docs/deploy.md)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as ProgressBars
from rich.table import Table
from sqlalchemy.exc import DBAPIError

from townhall.store import copy as store
from townhall.store.copy import CopyRefused

if TYPE_CHECKING:
    from townhall.store.copy import Copied

COPY_FAILED = 1
console = Console()


def migrate_data(
    from_: Annotated[
        str, typer.Option("--from", help="the SQLite database: sqlite:///path/townhall.db")
    ],
    to: Annotated[
        str,
        typer.Option(
            "--to", help="an empty PostgreSQL database: postgresql+asyncpg://user@host/db"
        ),
    ],
) -> None:
    """Copy a single-node installation's SQLite database into an empty PostgreSQL database, so
    that several `townhall serve` processes can then run on it.

    The source must be at the newest schema (`townhall migrate`). It is read as one snapshot and
    may be in use by a running server, but what it writes after the snapshot is not copied: stop
    the server for the final copy. The keys dir is not copied: copy it yourself to each server."""
    try:
        source_url, target_url = store.async_url(from_, "sqlite"), store.async_url(to, "postgresql")
        store.sqlite_file(source_url)
        asyncio.run(_migrate(source_url, target_url))
    except CopyRefused as refused:
        typer.echo(f"error: {refused}", err=True)
        raise typer.Exit(COPY_FAILED) from refused
    except (OSError, DBAPIError) as failed:
        # A database away or refusing: its own words, without a traceback (nor the statement's
        # parameters: the engines hide them). The copy is one transaction: nothing half-done.
        reason = failed.orig if isinstance(failed, DBAPIError) else failed
        typer.echo(f"error: the copy did not finish: {reason}", err=True)
        raise typer.Exit(COPY_FAILED) from failed


async def _migrate(source_url: str, target_url: str) -> None:
    from townhall.store.database import open_database

    source, target = open_database(source_url), open_database(target_url, pool_size=2)
    try:
        await store.check_source(source)
        await store.prepare_target(target)
        console.print(
            "copying as of one snapshot of the source: what a running server writes after it is "
            "not copied (stop the server for the final copy)"
        )
        started = time.monotonic()
        with TableBars() as bars:
            copied = await store.copy_tables(source, target, bars)
        seconds = time.monotonic() - started
        found = await store.count_rows(target)
    finally:
        await source.dispose()
        await target.dispose()
    _summarize(copied, found, seconds)


class TableBars:
    """A progress bar per table: rows copied of the snapshot's count."""

    def __init__(self) -> None:
        self._bars = ProgressBars(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> TableBars:
        self._bars.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._bars.stop()

    def table_started(self, table: str, rows: int) -> None:
        self._tasks[table] = self._bars.add_task(table, total=rows)

    def rows_copied(self, table: str, rows: int) -> None:
        self._bars.advance(self._tasks[table], rows)


def _summarize(copied: Copied, found: dict[str, int], seconds: float) -> None:
    summary = Table("table", "rows copied", "rows in the target", title="migrate-data")
    for name, rows in copied.rows.items():
        summary.add_row(name, f"{rows:,}", f"{found[name]:,}")
    console.print(summary)
    total = sum(copied.rows.values())
    console.print(
        f"{total:,} rows in {seconds:.1f} s ({total / max(seconds, 1e-9):,.0f} rows/s); "
        "sequences set above the copied ids and positions"
    )
    differ = sorted(name for name, rows in copied.rows.items() if found[name] != rows)
    if differ:
        raise CopyRefused(f"the target's row counts differ from the source's in: {differ}")
    console.print("verified: every table holds as many rows as the source's snapshot")
    console.print(
        "next: copy the keys dir (and the audit signing key) to every server, set database_url "
        "to the target, start the servers and run `townhall audit verify`"
    )
