"""`townhall audit checkpoint | verify | purge`: sign what the audit log holds, prove later that
no row was edited, removed, inserted or reordered, and that the log was not cut short or rolled
back to an older copy; and purge what is past the pack's retention without losing that proof."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated

import typer

from townhall.cli.settings import ConfigOption, DataDirOption, migrated_database, settings_from
from townhall.domain.audit import Problem

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


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
    the database) and write the checkpoint file (also into `audit_checkpoint_also`)."""
    from townhall.app import running_services
    from townhall.domain.audit import CheckpointError
    from townhall.domain.errors import DomainError

    settings = settings_from(config, data_dir=data_dir)

    async def run() -> tuple[int, list[Path]]:
        async with running_services(settings) as services:
            signed, paths = await services.audit_log.checkpoint(also or [])
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
    and any named), then every escalation's evidence snapshot against the digest its row holds;
    exit 1 naming the first row that is not as written, or the first row older than a checkpoint
    interval (plus `audit_checkpoint_grace_seconds`) that no checkpoint covers."""
    from townhall.domain.audit import CheckpointError
    from townhall.services.audit import CHECKPOINT_FOLDER, read_checkpoints, verify_log
    from townhall.services.reach import verify_evidence
    from townhall.store.audit import checkpoint_files as stored_checkpoints

    settings = settings_from(config, data_dir=data_dir)
    paths = [*stored_checkpoints(settings.data_dir / CHECKPOINT_FOLDER), *(checkpoint_files or [])]
    try:
        checkpoints = read_checkpoints(paths, settings.resolved_audit_signing_key)
    except (CheckpointError, OSError) as error:
        typer.echo(f"TAMPERED: a checkpoint cannot be trusted: {error}", err=True)
        raise typer.Exit(1) from error
    # The server signs a checkpoint every interval: a row older than that and a grace must be in
    # one, or a rewrite could hide behind deleted checkpoints.
    overdue = settings.audit_checkpoint_interval_seconds + settings.audit_checkpoint_grace_seconds
    signed_before_ms = int((time.time() - overdue) * 1000)

    async def run() -> tuple[int, Problem | None]:
        async with migrated_database(settings) as database:
            rows, problem = await verify_log(
                database,
                checkpoints,
                settings.resolved_audit_signing_key,
                signed_before_ms=signed_before_ms,
            )
            # The log vouches for the digests of the evidence escalations froze.
            return rows, problem or await verify_evidence(database)

    rows, problem = asyncio.run(run())
    if problem is not None:
        typer.echo(f"TAMPERED: {problem.what}", err=True)
        raise typer.Exit(1)
    typer.echo(f"ok: {rows} row(s), the chain is intact, {len(checkpoints)} checkpoint(s) hold")


@audit_app.command()
def purge(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="count what would be purged; change nothing")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the counts as JSON")] = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Clear the content of audit rows older than the pack's `retention.audit_log_days` that a
    checkpoint covers (each keeps its leaf hash, so `verify` still holds; the `retention.purge`
    row names them, signed by the audit key), and of review cases decided more than
    `retention.case_content_days` ago. The server does this once a day."""
    import orjson

    from townhall.app import running_services
    from townhall.domain.errors import DomainError
    from townhall.services.retention import PurgeReport

    settings = settings_from(config, data_dir=data_dir)

    async def run() -> PurgeReport:
        async with running_services(settings) as services:
            return await services.retention.purge(dry_run=dry_run)

    try:
        report = asyncio.run(run())
    except DomainError as error:
        typer.echo(f"error: {error.message} ({error.code})", err=True)
        raise typer.Exit(1) from error
    if as_json:
        typer.echo(orjson.dumps(report).decode())
        return
    verb = "would purge" if dry_run else "purged"
    typer.echo(
        f"{verb} {report.audit_rows} audit row(s) (through seq {report.through_seq}) "
        f"and the content of {report.cases} decided case(s)"
    )
