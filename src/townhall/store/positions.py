"""Stream positions: where each event's place in the per-user streams comes from, and how far a
reader may read (docs/architecture.md, "Ports")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

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
