"""Which server process does the cluster's once-only work: sanction expiry, identity and
retention purges, audit checkpoints. On SQLite there is one process, and it leads. On PostgreSQL
the leader is the process holding a session advisory lock on a connection of its own: when it
stops or dies its connection closes, PostgreSQL releases the lock, and another process takes it
within a second. The work itself lives in the database, so nothing is lost with a leader: the
next one finds what is due there."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from townhall.store.database import Database

log = logging.getLogger(__name__)

# "leader" in ASCII: not the write lock's key (store/database.py), nothing else of ours.
LEADER_LOCK_KEY = int.from_bytes(b"leader", "big")
TRY_EVERY_SECONDS = 1.0


class Leadership:
    def __init__(self, database: Database) -> None:
        self._db = database
        self._single_process = database.single_process
        self._leading = self._single_process
        self._changed = asyncio.Event()

    @property
    def leading(self) -> bool:
        return self._leading

    async def while_leading(self, work: Callable[[], Coroutine[Any, Any, object]]) -> None:
        """Run `work()` while this process leads: it is cancelled when the lead is lost, and
        started again when it is taken again."""
        if self._single_process:
            await work()
            return
        while True:
            await self._until(leading=True)
            task = asyncio.create_task(work())
            try:
                await self._until(leading=False)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _until(self, *, leading: bool) -> None:
        while self._leading != leading:
            self._changed.clear()
            await self._changed.wait()

    def _set_leading(self, leading: bool) -> None:
        if leading != self._leading:
            self._leading = leading
            self._changed.set()
            if leading:
                log.info("this process leads the cluster's timed work")
            else:
                log.warning("this process no longer leads the cluster's timed work")

    async def keep_trying(self) -> None:
        """Take the lead when no other process holds it; hold it while this process runs."""
        if not self._single_process:
            await self._db.keep_connected(self._lead_while_connected, "leading timed work")

    async def _lead_while_connected(self, connection: Any, lost: asyncio.Event) -> None:
        """Try for the lock each second; once held, check each second that the connection
        (and with it the lock) is still there. The lead ends with the connection."""
        try:
            while not lost.is_set():
                if not self._leading:
                    taken = await connection.fetchval(
                        "SELECT pg_try_advisory_lock($1)", LEADER_LOCK_KEY
                    )
                    if taken:
                        self._set_leading(True)
                else:
                    await connection.execute("SELECT 1")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), TRY_EVERY_SECONDS)
        finally:
            self._set_leading(False)
