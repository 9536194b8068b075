"""`townhall backup --to DIR` while the server runs, and `townhall restore --from DIR` into an
empty data dir (docs/backup.md)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from sqlalchemy import make_url

from townhall import __version__
from townhall.app import MEDIA_FOLDER
from townhall.cli.settings import ConfigOption, DataDirOption, settings_from
from townhall.config import Settings
from townhall.store import backup as store
from townhall.store.backup import BackupError

CHECKPOINTS = "audit-checkpoints"
CLASSIFIERS = "classifiers"
KEYS = "keys"
KEYS_APART = "kept apart"
KEYS_HERE = "in this folder"

ToOption = Annotated[Path, typer.Option("--to", help="a new or empty folder for the backup")]
KeysToOption = Annotated[
    Path | None,
    typer.Option(
        "--keys-to",
        help="a new or empty folder for the keys, on other media than the backup "
        "(without it the keys go into the backup, beside the ciphertext they open)",
    ),
]


def backup(
    to: ToOption,
    keys_to: KeysToOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Copy the database as of one commit (while the server runs), the media files, the signed
    audit checkpoints, a trained model and the keys, with a manifest of sizes and SHA-256
    checksums."""
    settings = settings_from(config, data_dir=data_dir)
    try:
        _back_up(settings, to, keys_to)
    except (BackupError, OSError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error


def restore(
    from_: Annotated[Path, typer.Option("--from", help="the backup folder")],
    keys_from: Annotated[
        Path | None, typer.Option("--keys-from", help="the keys' folder, if kept apart")
    ] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Restore a backup into an empty data dir (and an empty keys dir), after checking every
    file against the manifest. Nothing is overwritten."""
    settings = settings_from(config, needs_data_dir=False, data_dir=data_dir)
    try:
        _restore(settings, from_, keys_from)
    except (BackupError, OSError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error


def _back_up(settings: Settings, to: Path, keys_to: Path | None) -> None:
    database = _sqlite_path(settings)
    for folder in (to, keys_to):
        if folder is not None and not store.is_empty(folder):
            raise BackupError(f"{folder} is not empty: a backup goes into a new or empty folder")
    to.mkdir(parents=True, exist_ok=True, mode=0o700)
    size_mb = database.stat().st_size / 1e6
    typer.echo(f"copying the database ({size_mb:.1f} MB) as of one commit ...")
    started = time.monotonic()
    store.copy_database(database, to / store.DATABASE)
    typer.echo(f"  done in {time.monotonic() - started:.1f} s, integrity check ok")
    # After the database: every media file its rows name was written and flushed before them.
    with _progress("copying the media files", total=None) as advance:
        media = store.copy_media(settings.data_dir / MEDIA_FOLDER, to, advance)
    typer.echo(f"media: {media.files} file(s), {media.bytes / 1e6:.1f} MB")
    for name in media.damaged:
        typer.echo(f"WARNING: {name} does not match its name (its SHA-256): left out", err=True)
    files = [to / store.DATABASE, to / store.MEDIA_LISTING]
    for name, pattern in ((CHECKPOINTS, "*"), (CLASSIFIERS, "*.skops")):
        found = sorted(p for p in (settings.data_dir / name).glob(pattern) if p.is_file())
        files += store.copy_files(found, to / name) if found else []
        typer.echo(f"{name}: {len(found)} file(s)")
    keys = _key_files(settings)
    if keys_to is None:
        files += store.copy_files(keys, to / KEYS)
        typer.echo(
            f"WARNING: the {len(keys)} key file(s) are in the backup, beside the identities they "
            "open: whoever has this folder can read every real name. Use --keys-to to keep them "
            "on other media.",
            err=True,
        )
    else:
        store.write_manifest(keys_to, store.copy_files(keys, keys_to), townhall=__version__)
        typer.echo(f"keys: {len(keys)} file(s) in {keys_to}")
    manifest = store.write_manifest(
        to,
        files,
        townhall=__version__,
        schema=_schema_of(to / store.DATABASE),
        made_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        keys=KEYS_HERE if keys_to is None else KEYS_APART,
        media_files=media.files,
        media_bytes=media.bytes,
    )
    typer.echo(f"backup complete: {manifest}")


def _restore(settings: Settings, source: Path, keys_from: Path | None) -> None:
    manifest = store.read_checked(source)
    names = manifest.paths
    media_bytes = manifest.about.get("media_bytes")
    total = media_bytes if isinstance(media_bytes, int) else None
    with_media = store.MEDIA_LISTING in names  # format 1 had no media
    if with_media:
        with _progress("checking the media files", total=total) as advance:
            media_files = store.check_media(source, advance)
    if manifest.about.get("keys") == KEYS_APART:
        if keys_from is None:
            raise BackupError("this backup's keys were kept apart: give their folder, --keys-from")
        keys_folder, key_names = keys_from, store.read_checked(keys_from).paths
    else:
        keys_folder, key_names = source, [n for n in names if n.startswith(f"{KEYS}/")]
    data_dir, keys_dir = settings.data_dir, settings.resolved_keys_dir
    if not store.is_empty(data_dir) or not store.is_empty(keys_dir):
        raise BackupError(
            f"{data_dir} (or its keys dir {keys_dir}) is not empty: a restore goes into an empty "
            "data dir, so that nothing is overwritten"
        )
    signing_key = settings.resolved_audit_signing_key
    if signing_key.exists():
        raise BackupError(f"{signing_key} exists: a restore overwrites no key")
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    store.restore_database(source / store.DATABASE, data_dir / store.DATABASE)
    typer.echo(f"database restored (schema {manifest.about.get('schema')}), integrity check ok")
    if with_media:
        with _progress("restoring the media files", total=total) as advance:
            store.restore_media(source, data_dir / MEDIA_FOLDER, advance)
        typer.echo(f"media: {media_files} file(s)")
    for folder in (CHECKPOINTS, CLASSIFIERS):
        chosen = [n for n in names if n.startswith(f"{folder}/")]
        if chosen:
            store.restore_files(source, chosen, data_dir / folder)
        typer.echo(f"{folder}: {len(chosen)} file(s)")
    signing = [n for n in key_names if Path(n).name == signing_key.name]
    store.restore_files(keys_folder, [n for n in key_names if n not in signing], keys_dir)
    if signing:
        store.restore_files(keys_folder, signing, signing_key.parent)
    typer.echo(f"keys: {len(key_names)} file(s) into {keys_dir}")
    typer.echo("restored: run `townhall audit verify`, then start the server")


@contextmanager
def _progress(what: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A bar over the bytes done (on a terminal), for work over many files."""
    with Progress(transient=True) as progress:
        task = progress.add_task(what, total=total)
        yield lambda done: progress.advance(task, done)


def _sqlite_path(settings: Settings) -> Path:
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        raise BackupError("this database is not SQLite: back it up with its own tools (pg_dump)")
    return Path(url.database)


def _key_files(settings: Settings) -> list[Path]:
    keys = sorted(settings.resolved_keys_dir.glob("*.key"))
    signing_key = settings.resolved_audit_signing_key
    if signing_key.is_file() and signing_key not in keys:
        keys.append(signing_key)
    return keys


def _schema_of(database: Path) -> str:
    connection = sqlite3.connect(database)
    try:
        (revision,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    finally:
        connection.close()
    return str(revision)
