"""`townhall audit checkpoint | verify`: sign what the audit log holds, and prove later that no
row was edited, removed, inserted or reordered, and that the log was not cut short or rolled
back to an older copy."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated

import typer

from townhall.cli.settings import ConfigOption, DataDirOption, migrated_database, settings_from
from townhall.domain.audit import Problem

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)

CHECKPOINTS = "audit-checkpoints"  # in the data dir; keep copies elsewhere too (--also)


@audit_app.command()
def checkpoint(
    also: Annotated[
        list[Path] | None,
        typer.Option("--also", help="a second place to write it (another disk, a mount)"),
    ] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Sign the log's Merkle root and chain head with the audit key (in the keys dir, outside
    the database) and write the checkpoint file."""
    from townhall.domain.audit import CheckpointError
    from townhall.domain.errors import DomainError
    from townhall.services.audit import read_checkpoints, write_checkpoint
    from townhall.store.audit import checkpoint_files as stored_checkpoints

    settings = settings_from(config, data_dir=data_dir)
    folders = [settings.data_dir / CHECKPOINTS, *(also or [])]

    async def run() -> tuple[int, list[Path]]:
        earlier = read_checkpoints(
            stored_checkpoints(settings.data_dir / CHECKPOINTS), settings.resolved_keys_dir
        )
        async with migrated_database(settings) as database:
            signed, paths = await write_checkpoint(
                database,
                settings.resolved_keys_dir,
                folders,
                earlier,
                now_ms=int(time.time() * 1000),
            )
            return signed.tree_size, paths

    try:
        size, paths = asyncio.run(run())
    except (DomainError, CheckpointError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    for path in paths:
        typer.echo(f"checkpoint of {size} row(s): {path}")


@audit_app.command()
def verify(
    checkpoint_files: Annotated[
        list[Path] | None,
        typer.Option("--checkpoint", help="also check against this file (e.g. a kept copy)"),
    ] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Check every row's hash chain and the log against every checkpoint (those in the data dir
    and any named); exit 1 naming the first row that is not as written."""
    from townhall.domain.audit import CheckpointError
    from townhall.services.audit import read_checkpoints, verify_log
    from townhall.store.audit import checkpoint_files as stored_checkpoints

    settings = settings_from(config, data_dir=data_dir)
    paths = [*stored_checkpoints(settings.data_dir / CHECKPOINTS), *(checkpoint_files or [])]
    try:
        checkpoints = read_checkpoints(paths, settings.resolved_keys_dir)
    except (CheckpointError, OSError) as error:
        typer.echo(f"TAMPERED: a checkpoint cannot be trusted: {error}", err=True)
        raise typer.Exit(1) from error

    async def run() -> tuple[int, Problem | None]:
        async with migrated_database(settings) as database:
            return await verify_log(database, checkpoints)

    rows, problem = asyncio.run(run())
    if problem is not None:
        typer.echo(f"TAMPERED: {problem.what}", err=True)
        raise typer.Exit(1)
    typer.echo(f"ok: {rows} row(s), the chain is intact, {len(checkpoints)} checkpoint(s) hold")
