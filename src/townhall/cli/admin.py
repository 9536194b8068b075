"""`townhall admin …`: staff accounts, key rotation and the identity retention purge."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Annotated, Any, TypeVar

import typer
from rich.progress import Progress

from townhall.cli.settings import ConfigOption, DataDirOption, settings_from
from townhall.domain.accounts import STAFF_ROLES
from townhall.domain.errors import DomainError

admin_app = typer.Typer(help="Operator tasks on the data dir.", no_args_is_help=True)
T = TypeVar("T")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coroutine)
    except DomainError as exc:
        typer.echo(f"error: {exc.message} ({exc.code})", err=True)
        raise typer.Exit(1) from exc


@admin_app.command("create-staff")
def create_staff(
    handle: Annotated[str, typer.Option(help="the staff member's handle")],
    role: Annotated[str, typer.Option(help=f"one of {', '.join(sorted(STAFF_ROLES))}")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create a reviewer, admin or auditor account."""
    from townhall.app import running_services
    from townhall.services.accounts import OwnProfile

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = settings_from(config, data_dir=data_dir)

    async def create() -> OwnProfile:
        async with running_services(settings) as services:
            return await services.accounts.create_staff(handle=handle, password=password, role=role)

    profile = _run(create())
    typer.echo(f"created {profile.role} {profile.handle} (id {profile.id})")


@admin_app.command("rotate-keys")
def rotate_keys(
    for_real: Annotated[
        bool, typer.Option("--for-real", help="rotate; without it, only say what would happen")
    ] = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Seal every identity again under a new key (old keys stay on file to open backups)."""
    from townhall.app import running_services
    from townhall.services.identity import KeyRotation

    settings = settings_from(config, data_dir=data_dir)

    async def rotate() -> KeyRotation | int:
        async with running_services(settings) as services:
            if not for_real:
                return await services.identity.identities_to_reseal()
            with Progress(transient=True) as progress:
                task = progress.add_task("re-encrypting identities", total=None)

                def advance(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                return await services.identity.rotate_keys(advance)

    outcome = _run(rotate())
    if not isinstance(outcome, KeyRotation):
        typer.echo(
            f"{outcome} identities would be sealed under a new key in "
            f"{settings.resolved_keys_dir}; run with --for-real to rotate"
        )
        return
    typer.echo(f"identities now sealed with {outcome.key_id}: {outcome.resealed} re-encrypted")


@admin_app.command("purge-identities")
def purge_identities(
    for_real: Annotated[
        bool, typer.Option("--for-real", help="delete; without it, only count")
    ] = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Delete identities whose retention after deregistration has ended (the server also does
    this every hour)."""
    from townhall.app import running_services

    settings = settings_from(config, data_dir=data_dir)

    async def purge() -> int:
        async with running_services(settings) as services:
            return await services.identity.purge_due(dry_run=not for_real)

    count = _run(purge())
    if for_real:
        typer.echo(f"purged {count} identities")
    else:
        typer.echo(f"{count} identities are past their retention; run with --for-real to purge")
