"""A disk with no room left: the failed write it causes, recognized wherever it surfaces (SQLite,
a file in the data dir), becomes one domain error (507 `storage_full`), logged once when writes
start failing and once when they succeed again (docs/durability.md, "A full disk")."""

from __future__ import annotations

import errno
import logging
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from townhall.domain.errors import ErrorCode, StorageFull

log = logging.getLogger(__name__)

NO_ROOM_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# Writes count as resumed once a write succeeds with this much room: a write may also succeed
# on a full disk (SQLite reuses its write-ahead log's space), and that is no recovery yet.
ROOM_TO_RESUME_BYTES = 1024 * 1024


def storage_full() -> StorageFull:
    return StorageFull(
        "the server's disk is full; nothing was written, try again later",
        code=ErrorCode.STORAGE_FULL,
    )


def causes(error: BaseException) -> list[BaseException]:
    """The error, the driver's error that SQLAlchemy wraps, and what each was raised from."""
    found: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or any(current is seen for seen in found):
            continue
        found.append(current)
        pending += [getattr(current, "orig", None), current.__cause__, current.__context__]
    return found


def _sqlite_code(error: BaseException) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


class StorageWatch:
    """Whether the data's disk is full, as the last failed and successful writes tell.

    `guarding` turns the error of a write the disk had no room for into `StorageFull` (and says
    so in the log once); `wrote` notes a successful write. `path` (the data dir, for SQLite)
    lets a database I/O error on a disk with no room count as a full disk too, and keeps a write
    that succeeds on a still full disk from counting as recovered."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._full = False

    @property
    def full(self) -> bool:
        """Writes were refused for want of room and none has succeeded since with room left."""
        return self._full

    def refuses(self, error: BaseException) -> bool:
        """Whether `error` is a write the disk had no room for (the first one is logged)."""
        if not self._is_full_disk(error):
            return False
        if not self._full:
            self._full = True
            log.warning(
                "the disk of the data is full: writes are refused (507 storage_full) until "
                "space is freed; the server resumes by itself"
            )
        return True

    @contextmanager
    def guarding(self) -> Iterator[None]:
        """Run a write (to the database or a file of the data dir): one the disk has no room
        for raises `StorageFull` instead of its own error."""
        try:
            yield
        except Exception as error:
            if self.refuses(error):
                raise storage_full() from error
            raise

    def wrote(self) -> None:
        if self._full and self._has_room(ROOM_TO_RESUME_BYTES):
            self._full = False
            log.info("the disk of the data has room again: writes succeed")

    def _is_full_disk(self, error: BaseException) -> bool:
        for cause in causes(error):
            if isinstance(cause, StorageFull):
                return True
            if isinstance(cause, OSError) and cause.errno in NO_ROOM_ERRNOS:
                return True
            code = _sqlite_code(cause)
            if code == sqlite3.SQLITE_FULL:
                return True
            # SQLite reports some writes that found no room (growing its shared-memory file,
            # say) as I/O errors: with no room left on the disk, that is what they are.
            if code == sqlite3.SQLITE_IOERR and not self._has_room(1):
                return True
        return False

    def _has_room(self, needed: int) -> bool:
        if self._path is None:
            return True
        try:
            return shutil.disk_usage(self._path).free >= needed
        except OSError:
            return False
