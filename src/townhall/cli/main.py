"""`townhall serve | migrate | migrate-data | admin | export | bench`, each building settings
the same way."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import resource
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import uvicorn

from townhall import __version__
from townhall.cli.admin import admin_app
from townhall.cli.audit import audit_app
from townhall.cli.backup import backup, restore
from townhall.cli.bench import bench_app
from townhall.cli.export import export_app
from townhall.cli.lexicon import lexicon_app
from townhall.cli.migrate_data import migrate_data
from townhall.cli.moderation import moderation_app
from townhall.cli.settings import (
    DATA_DIR_IN_USE,
    NO_SHARED_DATABASE,
    SCHEMA_BEHIND,
    ConfigOption,
    DataDirOption,
    migrated_database,
    settings_from,
)

if TYPE_CHECKING:
    from fastapi import FastAPI

    from townhall.config import Settings
    from townhall.store.migrate import Step

log = logging.getLogger(__name__)
app = typer.Typer(help="Townhall: an instant-messaging server.", no_args_is_help=True)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"townhall {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Townhall: an instant-messaging server."""


app.command()(backup)
app.command()(restore)
app.command(name="migrate-data")(migrate_data)
app.add_typer(bench_app, name="bench")
app.add_typer(admin_app, name="admin")
app.add_typer(audit_app, name="audit")
app.add_typer(export_app, name="export")
app.add_typer(lexicon_app, name="lexicon")
app.add_typer(moderation_app, name="moderation")


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    data_dir: DataDirOption = None,
    migrate: Annotated[
        bool,
        typer.Option(
            "--migrate", help="migrate a database that holds data to this release's schema"
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=1024,
            help="server processes on the port, one per core (PostgreSQL only; docs/deploy.md)",
        ),
    ] = 1,
    reuse_port: Annotated[bool, typer.Option("--reuse-port", hidden=True)] = False,
) -> None:
    """Run the server. On SQLite, one at a time on a data dir; on PostgreSQL, as many as the
    machine has cores (--workers) and machines in front of one database. A new database is made
    at the newest schema; one at an older schema is migrated only with --migrate (or
    migrate_on_start)."""
    from townhall.app import build_app
    from townhall.logs import configure as configure_logs
    from townhall.store.data_dir import DataDirInUse, server_lock
    from townhall.store.database import prepare_storage

    settings = settings_from(
        config,
        needs_data_dir=False,
        host=host,
        port=port,
        data_dir=data_dir,
        migrate_on_start=migrate or None,
    )
    configure_logs(settings.log_level, settings.log_format)
    if workers > 1 and settings.one_server_per_data_dir:
        typer.echo(
            "error: --workers needs a database several processes share: set database_url to "
            "postgresql+asyncpg://… (docs/deploy.md); SQLite serves one process",
            err=True,
        )
        raise typer.Exit(NO_SHARED_DATABASE)
    prepare_storage(settings.data_dir, settings.resolved_database_url)
    asyncio.run(_refuse_an_unmigrated_database(settings))
    if workers > 1:
        from townhall.cli.workers import supervise

        raise typer.Exit(supervise(workers))
    _allow_open_files_up_to_the_hard_limit()
    try:
        one_at_a_time = settings.one_server_per_data_dir
        lock = server_lock(settings.data_dir) if one_at_a_time else contextlib.nullcontext()
        with lock:
            server = uvicorn.Server(_uvicorn_config(settings, build_app(settings)))
            sockets = [_shared_port(settings.host, settings.port)] if reuse_port else None
            server.run(sockets=sockets)
    except DataDirInUse as refused:
        typer.echo(f"error: {refused}", err=True)
        raise typer.Exit(DATA_DIR_IN_USE) from refused


def _uvicorn_config(settings: Settings, app: FastAPI) -> uvicorn.Config:
    from townhall.api.connections import connection_protocols

    http_protocol, ws_protocol = connection_protocols(settings)
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        # uvicorn's httptools and websockets-sansio protocols, with limits on header size, slow
        # clients and connections per address (api/connections.py).
        http=http_protocol,
        ws=ws_protocol,
        ws_max_size=settings.limits.max_request_body_bytes,
        ws_per_message_deflate=False,
        ws_ping_interval=settings.ws_ping_interval_seconds,
        ws_ping_timeout=settings.ws_ping_timeout_seconds,
        timeout_keep_alive=settings.limits.keep_alive_timeout_seconds,
        # A client's address is the connection's, unless it comes from a proxy the operator
        # named: then the proxy's X-Forwarded-For (limits count per address).
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=",".join(settings.trusted_proxies) or "",
        access_log=False,
        server_header=False,  # no banner naming the server and its version
        log_config=None,  # uvicorn's loggers go through Townhall's handler, at its levels
        log_level=None,
        timeout_graceful_shutdown=5,
    )


def _shared_port(host: str, port: int) -> socket.socket:
    """A listening socket on a port other workers listen on too: the kernel spreads new
    connections over them (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind((host, port))
    listener.set_inheritable(True)
    return listener


def _allow_open_files_up_to_the_hard_limit() -> None:
    """Every connection holds a file descriptor, and a soft limit of 1,024 (a common default)
    is what half-open connections exhaust first; the hard limit is the operator's to set."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard and hard != resource.RLIM_INFINITY:
        with contextlib.suppress(ValueError, OSError):  # macOS caps it lower than it says
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    log.info("open files allowed: %s", soft)


async def _refuse_an_unmigrated_database(settings: Settings) -> None:
    """Before the server starts: refused with the reason, not a traceback from its start-up."""
    from townhall.store.database import open_database
    from townhall.store.migrate import MigrationNeeded, plan

    database = open_database(settings.resolved_database_url)
    try:
        current, steps = await plan(database)
    finally:
        await database.dispose()
    if steps and current is not None and not settings.migrate_on_start:
        raise MigrationNeeded(current, steps)


@app.command()
def migrate(
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    show_plan: Annotated[
        bool, typer.Option("--plan", help="say which migrations would run, and change nothing")
    ] = False,
) -> None:
    """Create or upgrade the database schema to the newest version (making the data dir of a
    fresh install). Back the database up first (docs/backup.md)."""
    from townhall.store.database import open_database, prepare_storage
    from townhall.store.migrate import plan

    settings = settings_from(config, needs_data_dir=False, data_dir=data_dir)
    prepare_storage(settings.data_dir, settings.resolved_database_url)

    async def planned() -> tuple[str | None, list[Step]]:
        database = open_database(settings.resolved_database_url)
        try:
            return await plan(database)
        finally:
            await database.dispose()

    current, steps = asyncio.run(planned())
    typer.echo(f"the database is at schema {current or '(none: a new database)'}")
    for step in steps:
        typer.echo(f"  {step.revision}  {step.what}")
    if not steps:
        typer.echo("nothing to do: the database is at the newest schema")
        return
    if show_plan:
        typer.echo(f"{len(steps)} migration(s) would run; nothing was changed")
        return

    async def run() -> None:
        async with migrated_database(settings, migrate=True):
            pass

    asyncio.run(run())
    typer.echo(f"database is at the newest schema ({settings.data_dir})")


@app.command(name="openapi")
def openapi_document(
    config: ConfigOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="write it to this file, not standard output")
    ] = None,
) -> None:
    """Print the API's OpenAPI document as the server serves it at /openapi.json, without a
    server or a database: clients are generated from it (the web app's is, in web/)."""
    from townhall.app import build_app

    settings = settings_from(config, needs_data_dir=False)
    document = json.dumps(build_app(settings).openapi(), ensure_ascii=False, indent=1)
    if out is None:
        typer.echo(document)
    else:
        out.write_text(document + "\n", encoding="utf-8")


def run() -> None:
    """The `townhall` command: a database at the wrong schema is a refusal to explain, not a
    traceback, whichever command met it."""
    from townhall.store.migrate import MigrationNeeded, NewerSchema

    try:
        app()
    except (MigrationNeeded, NewerSchema) as refused:
        typer.echo(f"error: {refused}", err=True)
        raise SystemExit(SCHEMA_BEHIND) from None
