"""`townhall serve | migrate | bench`; each builds settings the same way and calls the layers."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from pydantic import ValidationError

from townhall.cli.bench import bench_app
from townhall.config import Settings, load_settings

app = typer.Typer(help="Townhall: an instant-messaging server.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="TOML settings file", exists=True, dir_okay=False)
]
DataDirOption = Annotated[Path | None, typer.Option("--data-dir", help="where data and keys live")]


def _settings(config: Path | None, **overrides: object) -> Settings:
    try:
        return load_settings(config, **overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise typer.BadParameter(f"invalid settings: {problems}") from exc


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Run the server (migrates the database first)."""
    from townhall.app import build_app

    settings = _settings(config, host=host, port=port, data_dir=data_dir)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    uvicorn.run(
        build_app(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        ws_max_size=settings.limits.max_request_body_bytes,
        ws_per_message_deflate=False,
        access_log=False,
        log_level=settings.log_level,
        timeout_graceful_shutdown=5,
    )


@app.command()
def migrate(config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """Create or upgrade the database schema to the newest version."""
    from townhall.store.database import open_database
    from townhall.store.migrate import upgrade_to_head

    settings = _settings(config, data_dir=data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def run() -> None:
        database = open_database(settings.resolved_database_url)
        try:
            await upgrade_to_head(database)
        finally:
            await database.dispose()

    asyncio.run(run())
    typer.echo(f"database is at the newest schema ({settings.data_dir})")
