"""The caller's event stream after a cursor, with long-polling on the bus doorbell."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from townhall.bus.base import Bus, user_channel
from townhall.domain.errors import ErrorCode, InvalidInput, Throttled
from townhall.domain.events import LIVE_ONLY_PREFIXES, EventType, message_event
from townhall.domain.limits import Limits
from townhall.services.holds import Holds
from townhall.services.principal import Principal
from townhall.services.rendering import render_message
from townhall.store import stream as stream_store
from townhall.store.database import Database
from townhall.store.stream import StreamEntry

# What the platform tells a user, as the notices list gives it back.
NOTICE_TYPES = (EventType.NOTICE, EventType.CORRECTION)


class SyncService:
    def __init__(self, database: Database, bus: Bus, *, limits: Limits) -> None:
        self._db = database
        self._bus = bus
        self._limits = limits
        self.waiting = 0  # long polls waiting for an event (the server's metrics read it)
        self._long_polls = Holds(limits.long_polls_per_user)

    @property
    def current_cursor(self) -> int:
        return self._db.positions.persisted_upto()

    async def events_since(
        self, actor: Principal, since: int, *, limit: int | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """Events after `since`, oldest first, and the cursor to ask from next time.

        The read stops at the position persisted up to when it began: everything at or below
        it is visible, so the cursor never skips or repeats an event, and never passes what the
        next request accepts (a row committed meanwhile lies beyond it and comes next time).
        """
        limit = self._check_limit(limit)
        positions = self._db.positions
        if since < 0 or not await positions.reached(since):
            # A cursor this server never gave out: following it would silently skip events.
            raise InvalidInput(
                f"since must be a cursor this server gave out (0-{positions.persisted_upto()})",
                code=ErrorCode.CURSOR_INVALID,
            )
        upto = positions.persisted_upto()
        if since == upto:
            # A client that has everything (the usual poll) needs no read: no event lies after
            # its cursor and at or below what is persisted.
            return [], upto
        async with self._db.reading() as conn:
            entries = await stream_store.entries_since(
                conn, actor.account_id, since=since, upto=upto, limit=limit
            )
        events = [_render(entry) for entry in entries]
        if len(entries) == limit:
            return events, entries[-1].position
        return events, upto

    async def notices(
        self, actor: Principal, *, before: int | None, limit: int
    ) -> list[dict[str, Any]]:
        """What the platform told the caller (notices, corrections), newest first: the stream's
        events of those kinds, kept for as long as the stream is."""
        async with self._db.reading() as conn:
            entries = await stream_store.events_of_types_before(
                conn, actor.account_id, NOTICE_TYPES, before=before, limit=limit
            )
        return [_render(entry) for entry in entries]

    async def wait_for_events(
        self, actor: Principal, since: int, *, timeout: float, limit: int | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        if not 0 <= timeout <= self._limits.sync_timeout_max_seconds:
            raise InvalidInput(
                f"timeout must be 0-{self._limits.sync_timeout_max_seconds:g} seconds",
                code=ErrorCode.TIMEOUT_INVALID,
            )
        if timeout == 0:
            return await self.events_since(actor, since, limit=limit)
        doorbell = asyncio.Event()
        # Subscribe before reading, so an event committed in between still rings.
        subscription = self._bus.subscribe(user_channel(actor.account_id), _ring(doorbell))
        try:
            await subscription.ready()
            events, cursor = await self.events_since(actor, since, limit=limit)
            if events:
                return events, cursor
            with self._waiting_for(actor.account_id):
                try:
                    await asyncio.wait_for(doorbell.wait(), timeout)
                except TimeoutError:
                    return events, cursor
            events, cursor = await self.events_since(actor, since, limit=limit)
            if not events and await self._db.positions.reached(cursor + 1):
                # Rung by another process before its commit was heard here: read again.
                events, cursor = await self.events_since(actor, since, limit=limit)
            return events, cursor
        finally:
            subscription.close()

    @contextmanager
    def _waiting_for(self, account_id: int) -> Iterator[None]:
        """One more long poll of `account_id` waits; refused past `long_polls_per_user`."""
        if not self._long_polls.take(account_id):
            raise Throttled(
                f"at most {self._long_polls.per_holder} long polls wait at once",
                code=ErrorCode.TOO_MANY_LONG_POLLS,
                retry_after=1,
            )
        self.waiting += 1
        try:
            yield
        finally:
            self.waiting -= 1
            self._long_polls.release(account_id)

    def _check_limit(self, limit: int | None) -> int:
        if limit is None:
            return self._limits.sync_page_max
        if not 1 <= limit <= self._limits.sync_page_max:
            raise InvalidInput(
                f"limit must be 1-{self._limits.sync_page_max}", code=ErrorCode.LIMIT_INVALID
            )
        return limit


def _ring(doorbell: asyncio.Event) -> Callable[[bytes, object], None]:
    """Wake a long-poll for stream events; a live post (the timeline has it) or a typing
    indicator is not one."""

    def ring(payload: bytes, _origin: object) -> None:
        if not payload.startswith(LIVE_ONLY_PREFIXES):
            doorbell.set()

    return ring


def _render(entry: StreamEntry) -> dict[str, Any]:
    if isinstance(entry.item, str):
        return stream_store.decode_payload(entry.item)
    # A message, as it is now, at the inbox position (its own, or where a hold was released).
    return message_event(entry.position, render_message(entry.item))
