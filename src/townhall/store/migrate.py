"""Bring a database to the newest schema with Alembic (`townhall migrate`, and on serve)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from townhall.store.database import WRITES, Database, outwaiting_writers

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this release's migrations know."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations folder has no revision"
    return head


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
