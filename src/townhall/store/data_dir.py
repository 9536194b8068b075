"""The data dir's server lock: one `townhall serve` at a time on a data dir.

The in-memory stream positions and caches assume one server process per database
(docs/architecture.md, "Ports"); a second server on the same data dir would hand out the same
positions. The lock is an `flock` on a file in the data dir, released by the operating system
when the process ends however it ends, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER_LOCK_FILE = "serve.lock"


class DataDirInUse(Exception):
    def __init__(self, data_dir: Path, holder: str) -> None:
        super().__init__(
            f"another townhall server ({holder or 'pid unknown'}) is running on {data_dir}"
        )


@contextmanager
def server_lock(data_dir: Path) -> Iterator[None]:
    """Hold the data dir's server lock for the block, or raise DataDirInUse at once."""
    fd = os.open(data_dir / SERVER_LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip()
            raise DataDirInUse(data_dir.resolve(), holder) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # releases the lock
