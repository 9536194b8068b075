"""A backup of a data dir that a running server keeps writing to, and its restore.

The database is copied with SQLite's online backup API in one step: one read transaction, so
the copy is the database as of one commit, the rows still in the write-ahead log included (a
plain file copy of a live database misses them), while the server goes on writing. The key files,
the signed audit checkpoints and a trained model are copied as files. A manifest names every file
with its size and SHA-256; restore checks them all before it writes anything.

The media files are copied after the database, keeping their layout (`media/<ab>/<cd>/<sha256>`):
a media row is committed only once its file is written and flushed, so every file the copy of the
database names is there by then (files newer than it are harmless extras). There may be millions,
so they are walked, copied, listed and checked one at a time, never held as a list: their listing
is a file of its own, one JSON object a line, that the manifest names with its checksum like any
file. A media file's name is its SHA-256, so the listing gives its size only; the name is checked
against the bytes, at the backup and before a restore."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

MANIFEST = "manifest.json"
FORMAT = 2  # 2: with the media files (format 1, without them, still restores)
READABLE = (1, FORMAT)
DATABASE = "townhall.db"
MEDIA = "media"  # the backup's folder for them, laid out as the data dir's
MEDIA_LISTING = "media.jsonl"
_MEDIA_PATH = re.compile(r"media/([0-9a-f]{2})/([0-9a-f]{2})/(\1\2[0-9a-f]{60})")
_HEX_PAIR = re.compile(r"[0-9a-f]{2}")
_DIGEST = re.compile(r"[0-9a-f]{64}")
BLOCK = 1 << 20


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
    if manifest.get("format") not in READABLE:
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


@dataclass(frozen=True, slots=True)
class MediaCopy:
    files: int
    bytes: int
    damaged: list[str]  # files of the store whose bytes no longer match their name: left out


def copy_media(root: Path, folder: Path, advance: Callable[[int], None]) -> MediaCopy:
    """Every media file under `root` (the store's `<ab>/<cd>/<sha256>`; not the spooled uploads of
    `incoming/` nor a temporary file) into `folder/media/`, with their listing `folder/media.jsonl`;
    `advance(bytes)` after each file. A file whose bytes do not match its name is left out."""
    files = size = 0
    damaged: list[str] = []
    with _new_file(folder / MEDIA_LISTING).open("w", encoding="utf-8") as listing:
        for source in _media_files(root):
            name = f"{MEDIA}/{source.relative_to(root).as_posix()}"
            try:
                copied = _copy_hashing(source, folder / name)
            except FileNotFoundError:
                continue
            if copied.sha256 != source.name:
                (folder / name).unlink()
                damaged.append(name)
                continue
            listing.write(json.dumps({"path": name, "bytes": copied.bytes}) + "\n")
            files, size = files + 1, size + copied.bytes
            advance(copied.bytes)
    return MediaCopy(files, size, damaged)


def check_media(folder: Path, advance: Callable[[int], None]) -> int:
    """How many media files the backup lists, once each is there with its size and the SHA-256
    its name says; `advance(bytes)` after each."""
    files = 0
    for name, size in _media_listed(folder):
        found = _described(folder, folder / name) if (folder / name).is_file() else None
        if found is None or (found.bytes, found.sha256) != (size, Path(name).name):
            raise BackupError(f"{name} is missing or changed since the backup")
        files += 1
        advance(size)
    return files


def restore_media(folder: Path, target: Path, advance: Callable[[int], None]) -> None:
    """The media files the backup lists, into `target` (the data dir's media folder), in their
    layout; nothing is overwritten."""
    for name, size in _media_listed(folder):
        destination = target / Path(name).relative_to(MEDIA)
        destination.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copyfile(folder / name, _new_file(destination))
        advance(size)


def _media_files(root: Path) -> Iterator[Path]:
    """The store's files, a folder at a time (each holds a few thousand at most), sorted."""
    for first in _entries(root, _HEX_PAIR):
        for second in _entries(first, _HEX_PAIR):
            for file in _entries(second, _DIGEST):
                if file.name.startswith(first.name + second.name) and file.is_file():
                    yield file


def _entries(folder: Path, name: re.Pattern[str]) -> list[Path]:
    try:
        with os.scandir(folder) as entries:
            return sorted(Path(e.path) for e in entries if name.fullmatch(e.name))
    except (FileNotFoundError, NotADirectoryError):
        return []


def _media_listed(folder: Path) -> Iterator[tuple[str, int]]:
    """The backup's media files and their sizes, a line at a time (none in a format-1 backup)."""
    listing = folder / MEDIA_LISTING
    if not listing.is_file():
        return
    with listing.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                entry = json.loads(line)
                name, size = str(entry["path"]), int(entry["bytes"])
            except (ValueError, KeyError, TypeError):
                raise BackupError(f"{MEDIA_LISTING} line {number} is damaged") from None
            if not _MEDIA_PATH.fullmatch(name):
                raise BackupError(f"{MEDIA_LISTING} line {number} names no media file: {name!r}")
            yield name, size


def _copy_hashing(source: Path, target: Path) -> Copied:
    digest, size = hashlib.sha256(), 0
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with source.open("rb") as reader, _new_file(target).open("wb") as writer:
        for block in iter(lambda: reader.read(BLOCK), b""):
            digest.update(block)
            writer.write(block)
            size += len(block)
    return Copied(target.name, size, digest.hexdigest())


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
        for block in iter(lambda: file.read(BLOCK), b""):
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
