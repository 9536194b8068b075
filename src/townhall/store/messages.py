"""Reading a conversation's history, newest first, paged by sequence number; holds and
removals of single messages."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select, update

from townhall.store.database import DbConnection
from townhall.store.message_log import StoredMessage, stored_message
from townhall.store.schema import messages

# SQLite allows 32,766 bound values in a statement; a post may have been forwarded more often.
CHUNK = 10_000


async def history(
    conn: DbConnection,
    conversation_id: int,
    *,
    viewer_id: int,
    sender_only: Sequence[str],
    before_seq: int | None,
    limit: int,
) -> list[StoredMessage]:
    """Messages whose moderation is one of `sender_only` are in their sender's history only."""
    query = select(messages).where(
        messages.c.conversation_id == conversation_id,
        or_(
            messages.c.moderation.is_(None),
            messages.c.moderation.not_in(sender_only),
            messages.c.sender_id == viewer_id,
        ),
    )
    if before_seq is not None:
        query = query.where(messages.c.seq < before_seq)
    result = await conn.execute(query.order_by(messages.c.seq.desc()).limit(limit))
    return [stored_message(row) for row in result]


async def get(conn: DbConnection, message_id: int) -> StoredMessage | None:
    result = await conn.execute(select(messages).where(messages.c.id == message_id))
    row = result.first()
    return None if row is None else stored_message(row)


async def of_ids(conn: DbConnection, message_ids: Sequence[int]) -> list[StoredMessage]:
    found = []
    for start in range(0, len(message_ids), CHUNK):
        chunk = message_ids[start : start + CHUNK]
        result = await conn.execute(select(messages).where(messages.c.id.in_(chunk)))
        found += [stored_message(row) for row in result]
    return found


async def set_moderation(conn: DbConnection, message_id: int, moderation: str | None) -> None:
    await conn.execute(
        update(messages).where(messages.c.id == message_id).values(moderation=moderation)
    )


async def restore(
    conn: DbConnection, message_id: int, *, text: str, attachment: str | None
) -> None:
    """An appeal reversed its removal: what it said is back, from the case's copy."""
    await conn.execute(
        update(messages)
        .where(messages.c.id == message_id)
        .values(text=text, attachment=attachment, moderation=None)
    )


async def blank(conn: DbConnection, message_ids: Sequence[int], moderation: str) -> None:
    """Removed: the text and what it carried are gone; the row stays as the tombstone."""
    for start in range(0, len(message_ids), CHUNK):
        await conn.execute(
            update(messages)
            .where(messages.c.id.in_(message_ids[start : start + CHUNK]))
            .values(text="", attachment=None, moderation=moderation)
        )
