"""The media store: the bytes of media objects, each kept once under its SHA-256.

`MediaStore` is the port the media service writes and reads through; `LocalMediaStore`, the
adapter of a single machine (or of servers sharing a data dir), keeps a file's bytes at
`<data_dir>/media/<ab>/<cd>/<sha256>` (`ab`, `cd`: the digest's first two pairs of hex digits, so
that no folder holds more than a few thousand entries). A file is written complete before it
gets its name: written to a temporary file, flushed to the disk (fsync), renamed in one step, and
the folder flushed too, so a crash leaves either the whole file or none. The same bytes uploaded
twice are stored once. An upload is spooled first into `<data_dir>/media/incoming/`, on the same
filesystem, so that keeping it is that same rename. docs/media.md, "Storage".
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

from townhall.store.storage import StorageWatch

DIGEST = re.compile(r"[0-9a-f]{64}")
READ_CHUNK = 256 * 1024
INCOMING = "incoming"
# Spooled uploads older than this when the server starts were left by a process that died.
ABANDONED_SECONDS = 3600


class MediaStore(Protocol):
    """Where media objects' bytes are kept, by their SHA-256 (hex)."""

    def spool_path(self) -> Path:
        """A new local path for an upload to be spooled to while it arrives."""

    async def keep_file(self, spooled: Path, sha256: str) -> None:
        """Keep the spooled file as the bytes of `sha256` (taking it: the path is gone after);
        bytes kept already stay as they are."""

    async def keep_bytes(self, data: bytes, sha256: str) -> None:
        """Keep `data` as the bytes of `sha256`, unless they are kept already."""

    async def size(self, sha256: str) -> int | None:
        """How many bytes are kept for `sha256`; None when none are."""

    def read(self, sha256: str, start: int, end: int) -> AsyncIterator[bytes]:
        """The kept bytes from `start` up to `end` (excluded), a chunk at a time."""


class LocalMediaStore:
    def __init__(self, root: Path, storage: StorageWatch) -> None:
        self._root = root
        self._incoming = root / INCOMING
        self._storage = storage

    def open(self, *, now: float | None = None) -> None:
        """Make the folders, and clear spooled uploads a dead process left behind."""
        self._incoming.mkdir(parents=True, exist_ok=True, mode=0o700)
        cutoff = (time.time() if now is None else now) - ABANDONED_SECONDS
        for leftover in self._incoming.iterdir():
            with contextlib.suppress(OSError):
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()

    def spool_path(self) -> Path:
        return self._incoming / secrets.token_hex(16)

    def path_of(self, sha256: str) -> Path:
        if not DIGEST.fullmatch(sha256):
            raise ValueError("not a SHA-256 in lowercase hex")
        return self._root / sha256[:2] / sha256[2:4] / sha256

    async def keep_file(self, spooled: Path, sha256: str) -> None:
        with self._storage.guarding():
            await asyncio.to_thread(self._keep_file, spooled, self.path_of(sha256))
        self._storage.wrote()

    async def keep_bytes(self, data: bytes, sha256: str) -> None:
        with self._storage.guarding():
            await asyncio.to_thread(self._keep_bytes, data, self.path_of(sha256))
        self._storage.wrote()

    async def size(self, sha256: str) -> int | None:
        try:
            return (await asyncio.to_thread(self.path_of(sha256).stat)).st_size
        except FileNotFoundError:
            return None

    async def read(self, sha256: str, start: int, end: int) -> AsyncIterator[bytes]:
        file = await asyncio.to_thread(self.path_of(sha256).open, "rb")
        try:
            await asyncio.to_thread(file.seek, start)
            left = end - start
            while left > 0:
                chunk = await asyncio.to_thread(file.read, min(READ_CHUNK, left))
                if not chunk:
                    return
                left -= len(chunk)
                yield chunk
        finally:
            file.close()

    @staticmethod
    def _keep_file(spooled: Path, target: Path) -> None:
        if target.exists():
            spooled.unlink(missing_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with spooled.open("rb") as file:
            os.fsync(file.fileno())
        spooled.chmod(0o600)
        spooled.replace(target)
        _sync_folder(target.parent)

    @staticmethod
    def _keep_bytes(data: bytes, target: Path) -> None:
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            temporary.replace(target)
        finally:
            temporary.unlink(missing_ok=True)
        _sync_folder(target.parent)


def _sync_folder(folder: Path) -> None:
    """Flush a folder's entries: a renamed file's new name survives a crash."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
