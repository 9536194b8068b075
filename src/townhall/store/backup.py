"""A backup of a data dir that a running server keeps writing to, and its restore.

The database is copied with SQLite's online backup API in one step: one read transaction, so
the copy is the database as of one commit, the rows still in the write-ahead log included (a
plain file copy of a live database misses them), while the server goes on writing. The key files,
the signed audit checkpoints and a trained model are copied as files. A manifest names every file
with its size and SHA-256; restore checks them all before it writes anything."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

MANIFEST = "manifest.json"
FORMAT = 1
DATABASE = "townhall.db"


class BackupError(Exception):
    """The backup cannot be made or restored; the message says why, for a person."""


@dataclass(frozen=True, slots=True)
class Copied:
    path: str  # relative to the backup folder
    bytes: int
    sha256: str


def copy_database(source: Path, target: Path) -> None:
    """The database as of one commit, checked with `PRAGMA integrity_check`."""
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    reader = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    writer = sqlite3.connect(_new_file(target))
    try:
        reader.backup(writer)  # all pages in one step: a consistent snapshot under load
        _require_intact(writer, target)
    finally:
        writer.close()
        reader.close()


def copy_files(sources: Iterable[Path], folder: Path) -> list[Path]:
    """Each file into `folder` (made 0700), mode 0600; returns the copies."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    copies = []
    for source in sources:
        copy = folder / source.name
        shutil.copyfile(source, _new_file(copy))
        copies.append(copy)
    return copies


def write_manifest(folder: Path, files: Iterable[Path], **about: object) -> Path:
    entries = [asdict(_described(folder, path)) for path in sorted(files)]
    manifest = {"format": FORMAT, **about, "files": entries}
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


@dataclass(frozen=True, slots=True)
class Manifest:
    paths: list[str]  # the files, relative to the folder
    about: dict[str, object]  # the version, schema, time and where the keys are


def read_checked(folder: Path) -> Manifest:
    """The manifest of a backup folder, once every file it names has its size and checksum."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{folder} holds no {MANIFEST}: it is not a Townhall backup") from None
    except ValueError:
        raise BackupError(f"{folder / MANIFEST} is not JSON: the backup is damaged") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{folder} is a backup of format {manifest.get('format')}, not {FORMAT}")
    files = manifest.pop("files")
    for entry in files:
        path = folder / entry["path"]
        found = _described(folder, path) if path.is_file() else None
        if found is None or (found.bytes, found.sha256) != (entry["bytes"], entry["sha256"]):
            raise BackupError(f"{entry['path']} is missing or changed since the backup")
    return Manifest([str(entry["path"]) for entry in files], manifest)


def restore_files(folder: Path, names: Iterable[str], target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    target.chmod(0o700)
    for name in names:
        destination = target / Path(name).name
        shutil.copyfile(folder / name, _new_file(destination))


def restore_database(copy: Path, target: Path) -> None:
    shutil.copyfile(copy, _new_file(target))
    connection = sqlite3.connect(target)
    try:
        _require_intact(connection, target)
    finally:
        connection.close()


def is_empty(folder: Path) -> bool:
    return not folder.exists() or not any(folder.iterdir())


def _described(folder: Path, path: Path) -> Copied:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return Copied(str(path.relative_to(folder)), path.stat().st_size, digest.hexdigest())


def _new_file(path: Path) -> Path:
    """An empty file of mode 0600 at `path`, which must not exist: nothing is overwritten."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise BackupError(f"{path} exists already: nothing was overwritten") from None
    return path


def _require_intact(connection: sqlite3.Connection, path: Path) -> None:
    (verdict,) = connection.execute("PRAGMA integrity_check").fetchone()
    if verdict != "ok":
        raise BackupError(f"{path} fails SQLite's integrity check: {verdict}")
