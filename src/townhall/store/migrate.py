"""Bring a database to the newest schema with Alembic: a new database at once; one that already
holds data only when the operator says so (`townhall migrate`, `serve --migrate`, or
`migrate_on_start`), so that an upgrade never changes a database behind their back."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection

from townhall.store.database import WRITES, Database, outwaiting_writers
from townhall.store.search import is_index_table

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def in_schema(name: str | None, type_: str, _parents: object) -> bool:
    """Alembic's `include_name`: whether schema.py describes the database object. The search
    index's tables (store/search.py) are made by migration 0021 alone, and left out when schema.py
    and the migrations are compared."""
    return not (type_ == "table" and name is not None and is_index_table(name))


@functools.cache
def migration_scripts() -> ScriptDirectory:
    """This release's migrations, read once a process: Alembic loads every migration file to
    know them, which costs a starting server a tenth of a second of CPU each time."""
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest revision this release's migrations know."""
    head = migration_scripts().get_current_head()
    assert head is not None, "the migrations folder has no revision"
    return head


@dataclass(frozen=True, slots=True)
class Step:
    revision: str
    what: str  # the migration's own first line


class MigrationNeeded(Exception):
    """The database holds data at an older schema, and nobody said to migrate it."""

    def __init__(self, current: str, steps: list[Step]) -> None:
        self.current = current
        self.steps = steps
        super().__init__(
            f"the database is at schema {current} and this release needs {steps[-1].revision}: "
            "back it up (docs/backup.md), then run `townhall migrate` (`townhall migrate --plan` "
            "shows what it will do), or start the server with --migrate"
        )


class NewerSchema(Exception):
    """The database was migrated by a newer release than this one."""


async def current_revision(database: Database) -> str | None:
    """The database's schema revision; None for a database never migrated."""
    async with database.engine.connect() as conn:
        return await conn.run_sync(
            lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision()
        )


async def plan(database: Database) -> tuple[str | None, list[Step]]:
    """The database's revision and the migrations that would bring it to head, oldest first."""
    current = await current_revision(database)
    scripts = migration_scripts()
    if current is not None and not _known(scripts, current):
        raise NewerSchema(
            f"the database is at schema {current}, which this release does not know: it was "
            "migrated by a newer release; run that release"
        )
    steps = [
        Step(script.revision, (script.doc or "").splitlines()[0] if script.doc else "")
        for script in scripts.iterate_revisions("head", current or "base")
    ]
    return current, list(reversed(steps))


def _known(scripts: ScriptDirectory, revision: str) -> bool:
    try:
        return scripts.get_revision(revision) is not None
    except CommandError:  # alembic's answer for a revision it cannot locate
        return False


async def prepare_schema(database: Database, *, migrate: bool) -> None:
    """A new database is migrated at once; one at an older schema only with `migrate`."""
    current, steps = await plan(database)
    if steps and current is not None and not migrate:
        raise MigrationNeeded(current, steps)
    if steps:
        await upgrade_to_head(database)


async def upgrade_to_head(database: Database) -> None:
    """Every pending migration in one transaction that holds the write lock from its start
    (BEGIN IMMEDIATE). Alembic reads the version before it writes, and a transaction that read
    first fails at once, without waiting, when another process (a CLI command, a second
    `townhall serve` or `migrate`) wrote in between. Holding the lock, a second migrator waits
    for the first and then finds the schema at head."""

    async def upgrade() -> None:
        async with database.engine.connect() as conn:
            await conn.execution_options(**{WRITES: True})
            async with conn.begin():
                await conn.run_sync(
                    lambda sync_conn: command.upgrade(alembic_config(sync_conn), "head")
                )

    await outwaiting_writers(upgrade, "migrating the database")
