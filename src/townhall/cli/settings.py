"""Options every command shares, settings built from them with errors a person can read, and
the database a command works on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError

from townhall.config import Settings, load_settings

if TYPE_CHECKING:
    from townhall.store.database import Database

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="TOML settings file", exists=True, dir_okay=False)
]
DataDirOption = Annotated[Path | None, typer.Option("--data-dir", help="where data and keys live")]


# Exit codes of a command refused before it starts (docs/configuration.md, "The data dir").
NO_DATA_DIR = 2
DATA_DIR_IN_USE = 3
SCHEMA_BEHIND = 4
NO_SHARED_DATABASE = 5  # serve --workers on SQLite


def settings_from(
    config: Path | None, *, needs_data_dir: bool = True, **overrides: object
) -> Settings:
    """The settings, refusing a data dir that does not exist unless the command needs none: one
    that starts a fresh install (`serve`, `migrate`, `restore`) or reads no data (`openapi`). Any
    other command would make an empty database there and report on it (an audit log "intact"
    because it is empty)."""
    try:
        settings = load_settings(config, **overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise typer.BadParameter(f"invalid settings: {problems}") from exc
    if needs_data_dir and not settings.data_dir.is_dir():
        typer.echo(
            f"error: there is no data dir at {settings.data_dir.resolve()}: give the right one "
            "with --data-dir (or data_dir in --config), or make a new one with `townhall migrate`",
            err=True,
        )
        raise typer.Exit(NO_DATA_DIR)
    return settings


@asynccontextmanager
async def migrated_database(
    settings: Settings, *, migrate: bool = False
) -> AsyncIterator[Database]:
    """The settings' database at the newest schema, closed afterwards: a new one is migrated,
    one that holds data only with `migrate` (or `migrate_on_start`)."""
    from townhall.store.database import open_database, prepare_storage
    from townhall.store.migrate import prepare_schema

    prepare_storage(settings.data_dir, settings.resolved_database_url)
    database = open_database(settings.resolved_database_url)
    try:
        await prepare_schema(database, migrate=migrate or settings.migrate_on_start)
        yield database
    finally:
        await database.dispose()
