"""Notices: the platform telling one user about a decision on them or on their account.

A notice is an event in the user's own stream (sync and WebSocket), written in the caller's
transaction and rung on the bus only after it commits. One `Notices`, built by app.py, serves
every service that tells users something."""

from __future__ import annotations

from typing import Any

from townhall.bus.base import Bus, user_channel
from townhall.domain.events import EventType, notice_event
from townhall.store import stream as stream_store
from townhall.store.database import Database, Transaction


class Notices:
    def __init__(self, database: Database, bus: Bus) -> None:
        self._db = database
        self._bus = bus

    async def tell(self, conn: Transaction, recipient_id: int, notice: dict[str, Any]) -> None:
        """Append the notice to the recipient's stream; it rings once the transaction commits."""
        payload = await stream_store.append_new_event(
            conn,
            self._db.positions,
            event_type=EventType.NOTICE,
            render=lambda position: notice_event(position, notice),
            recipients=(recipient_id,),
        )
        conn.after_commit(lambda: self._bus.publish(user_channel(recipient_id), payload))
