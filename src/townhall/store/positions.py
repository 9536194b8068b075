"""Stream positions: where each event's place in the per-user streams comes from, and how far a
reader may read (docs/architecture.md, "Ports")."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import text

if TYPE_CHECKING:  # the database module holds these positions
    from townhall.store.database import DbConnection


class StreamPositions(Protocol):
    """The port every writer of stream events and every reader of streams goes through.

    A position is taken inside the write transaction that appends the event. Readers read only
    up to `persisted_upto()`, so a cursor handed out is never beyond what the next request
    accepts, and never beyond an event that could still commit below it.
    """

    def persisted_upto(self) -> int:
        """Every position at or below this one is committed and visible to any read begun after
        this call, or will never be used (its transaction failed: a gap). Never decreases."""
        ...

    async def reached(self, position: int) -> bool:
        """Whether `persisted_upto()` is at or past `position`. A cursor another process handed
        out may be ahead of this one's view for a moment: an adapter for several processes
        waits briefly for it before saying no."""
        ...

    async def take(self, conn: DbConnection) -> int:
        """A new position for an event appended in `conn`'s write transaction."""
        ...


class SingleWriterPositions:
    """The adapter for one writing process per database (SQLite): positions and message ids are
    counted in memory and taken only in the database's write turn, so positions commit in
    increasing order and the end of a turn makes every position taken so far readable.

    Loaded from the highest stored values at start; a batch of messages then needs no RETURNING.
    """

    def __init__(self) -> None:
        self._next_position = 1
        self._next_message_id = 1
        self._persisted_upto = 0

    def load(self, *, top_position: int, top_message_id: int) -> None:
        self._next_position = top_position + 1
        self._next_message_id = top_message_id + 1
        self._persisted_upto = top_position

    def persisted_upto(self) -> int:
        return self._persisted_upto

    async def reached(self, position: int) -> bool:
        return position <= self._persisted_upto  # the one writer: nobody is ahead of it

    async def take(self, conn: DbConnection) -> int:
        return self.take_now()

    def take_now(self) -> int:
        """For the message writer's thread, which holds the write turn."""
        value = self._next_position
        self._next_position += 1
        return value

    def take_message_id(self) -> int:
        value = self._next_message_id
        self._next_message_id += 1
        return value

    def turn_ended(self) -> None:
        """The writer's turn is over: what it took is committed or abandoned. Positions taken by
        a failed transaction are skipped, never reused: gaps are harmless."""
        self._persisted_upto = self._next_position - 1


# How long `reached` waits to hear of a position another process committed before it asks the
# database: a commit is heard within milliseconds, unless the listening connection is down.
HEAR_WAIT_SECONDS = 1.0


class ClusterPositions:
    """The adapter for several writing processes on one PostgreSQL database.

    Positions and message ids come from sequences. Every write transaction holds the cluster's
    one write lock (store/database.py), so positions are taken and committed in the same order
    in every process: when a transaction that took position p commits, every position below p
    is committed or abandoned. That is what makes p "persisted up to" at once, without Synapse's
    per-writer bookkeeping. A committing transaction announces its top position with
    `pg_notify`, which PostgreSQL delivers after the commit, in commit order, to every process
    listening (`heard`).
    """

    def __init__(self) -> None:
        self._persisted_upto = 0
        self._top_taken = 0
        self._advanced = asyncio.Event()

    def load(self, top_position: int) -> None:
        self._advance(top_position)

    def persisted_upto(self) -> int:
        return self._persisted_upto

    async def reached(self, position: int) -> bool:
        if position <= self._persisted_upto:
            return True
        try:
            async with asyncio.timeout(HEAR_WAIT_SECONDS):
                while position > self._persisted_upto:
                    self._advanced.clear()
                    await self._advanced.wait()
        except TimeoutError:
            return False
        return True

    async def take(self, conn: DbConnection) -> int:
        value: int = await conn.scalar(text("SELECT nextval('stream_positions')"))
        self._top_taken = max(self._top_taken, value)
        return value

    async def take_for_messages(self, conn: DbConnection, count: int) -> list[tuple[int, int]]:
        """(message id, position) for `count` new messages, both increasing."""
        rows = await conn.execute(NEW_MESSAGES, {"count": count})
        ids, positions = zip(*rows, strict=True)
        self._top_taken = max(self._top_taken, *positions)
        return list(zip(sorted(ids), sorted(positions), strict=True))

    async def announce(self, conn: DbConnection) -> None:
        """Before the commit of a transaction that took positions: tell every process."""
        if self._top_taken > self._persisted_upto:
            await conn.execute(ANNOUNCE, {"top": str(self._top_taken)})

    def turn_ended(self) -> None:
        """This process's write turn is over: what it took is committed or abandoned."""
        self._advance(self._top_taken)

    def heard(self, payload: str) -> None:
        """Another process (or this one) committed up to the position announced."""
        self._advance(int(payload))

    def _advance(self, position: int) -> None:
        if position > self._persisted_upto:
            self._persisted_upto = position
            self._top_taken = max(self._top_taken, position)
            self._advanced.set()


POSITIONS_CHANNEL = "townhall_positions"
ANNOUNCE = text(f"SELECT pg_notify('{POSITIONS_CHANNEL}', :top)")
NEW_MESSAGES = text(
    "SELECT nextval('message_ids'), nextval('stream_positions') FROM generate_series(1, :count)"
)
# The top position committed, read while holding the write lock: no transaction is between
# taking a position and committing it then, so every taken position is settled.
SETTLED_TOP = text(
    "SELECT last_value - CASE WHEN is_called THEN 0 ELSE 1 END FROM stream_positions"
)
