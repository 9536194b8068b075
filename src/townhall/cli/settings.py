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


def settings_from(config: Path | None, **overrides: object) -> Settings:
    try:
        return load_settings(config, **overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise typer.BadParameter(f"invalid settings: {problems}") from exc


@asynccontextmanager
async def migrated_database(settings: Settings) -> AsyncIterator[Database]:
    """The settings' database at the newest schema, closed afterwards."""
    from townhall.store.database import open_database, prepare_storage
    from townhall.store.migrate import upgrade_to_head

    prepare_storage(settings.data_dir, settings.resolved_database_url)
    database = open_database(settings.resolved_database_url)
    try:
        await upgrade_to_head(database)
        yield database
    finally:
        await database.dispose()
