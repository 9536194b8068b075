"""Each user's event stream: inbox rows pointing at a message or at a stored event object."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Row, bindparam, insert, select

from townhall.store.database import DbConnection
from townhall.store.message_log import StoredMessage
from townhall.store.positions import StreamPositions
from townhall.store.prepared import prepared
from townhall.store.schema import events, inbox, messages

RELEASED = "released"
RELEASED_PAYLOAD = '{"type":"released"}'


@dataclass(frozen=True, slots=True)
class StreamEntry:
    """A place in a user's stream: a message as it is now, or an event stored as its JSON."""

    position: int
    item: StoredMessage | str


async def append_event(
    conn: DbConnection,
    *,
    position: int,
    event_type: str,
    payload: bytes,
    recipients: Iterable[int],
) -> None:
    await conn.execute(
        insert(events).values(position=position, type=event_type, payload=payload.decode())
    )
    await _add_to_inboxes(conn, position, None, recipients)


async def append_message(
    conn: DbConnection,
    positions: StreamPositions,
    *,
    message_id: int,
    recipients: Iterable[int],
) -> int:
    """A stored message reaching more streams later (a hold released), at a new position, which
    it returns. The events row only marks the position taken, so it is found after a restart;
    readers render the message itself, as it is now."""
    position = await positions.take(conn)
    await conn.execute(
        insert(events).values(position=position, type=RELEASED, payload=RELEASED_PAYLOAD)
    )
    await _add_to_inboxes(conn, position, message_id, recipients)
    return position


async def _add_to_inboxes(
    conn: DbConnection, position: int, message_id: int | None, recipients: Iterable[int]
) -> None:
    rows = [
        {"account_id": account_id, "position": position, "message_id": message_id}
        for account_id in recipients
    ]
    if rows:  # an empty executemany would insert one row of NULLs
        await conn.execute(insert(inbox), rows)


async def append_new_event(
    conn: DbConnection,
    positions: StreamPositions,
    *,
    event_type: str,
    render: Callable[[int], dict[str, Any]],
    recipients: Iterable[int],
) -> bytes:
    """Take the next stream position, render the event at it, and append it for the
    recipients in the caller's write transaction; returns the encoded event to publish after
    commit."""
    position = await positions.take(conn)
    payload = orjson.dumps(render(position))
    await append_event(
        conn, position=position, event_type=event_type, payload=payload, recipients=recipients
    )
    return payload


# Built once: every sync and every long-poll's wake reads it.
_ENTRIES_SINCE = prepared(
    select(
        inbox.c.position,
        events.c.payload,
        messages.c.id,
        messages.c.conversation_id,
        messages.c.seq,
        messages.c.sender_id,
        messages.c.client_id,
        messages.c.text,
        messages.c.created_at,
        messages.c.position.label("message_position"),
        messages.c.attachment,
        messages.c.moderation,
        messages.c.reply_to,
        messages.c.mentions,
        messages.c.recalled_at,
        messages.c.media,
    )
    .select_from(
        inbox.outerjoin(messages, messages.c.id == inbox.c.message_id).outerjoin(
            events, events.c.position == inbox.c.position
        )
    )
    .where(
        inbox.c.account_id == bindparam("account_id"),
        inbox.c.position > bindparam("since"),
        inbox.c.position <= bindparam("upto"),
    )
    .order_by(inbox.c.position)
    .limit(bindparam("limit"))
)


async def entries_since(
    conn: DbConnection, account_id: int, *, since: int, upto: int, limit: int
) -> list[StreamEntry]:
    """The caller's inbox after `since` and up to `upto`: each entry's message (at the inbox's
    position: its own, or where a hold was released) or event."""
    result = await conn.execute(
        _ENTRIES_SINCE, {"account_id": account_id, "since": since, "upto": upto, "limit": limit}
    )
    return [_entry(row) for row in result]


async def events_of_types_before(
    conn: DbConnection, account_id: int, types: Iterable[str], *, before: int | None, limit: int
) -> list[StreamEntry]:
    """The caller's events of these types (no messages), newest first, below `before`."""
    query = (
        select(inbox.c.position, events.c.payload)
        .select_from(inbox.join(events, events.c.position == inbox.c.position))
        .where(inbox.c.account_id == account_id, events.c.type.in_(tuple(types)))
        .order_by(inbox.c.position.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(inbox.c.position < before)
    result = await conn.execute(query)
    return [StreamEntry(row.position, row.payload) for row in result]


def _entry(row: Row[Any]) -> StreamEntry:
    if row.id is None:
        return StreamEntry(row.position, row.payload)
    message = StoredMessage(
        id=row.id,
        conversation_id=row.conversation_id,
        seq=row.seq,
        sender_id=row.sender_id,
        client_id=row.client_id,
        text=row.text,
        created_at_ms=row.created_at,
        position=row.message_position,
        attachment=row.attachment,
        moderation=row.moderation,
        reply_to=row.reply_to,
        mentions=row.mentions,
        recalled_at=row.recalled_at,
        media=row.media,
    )
    return StreamEntry(row.position, message)


def decode_payload(payload: str) -> dict[str, Any]:
    event: dict[str, Any] = orjson.loads(payload)
    return event
