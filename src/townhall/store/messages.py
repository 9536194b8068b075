"""Reading a conversation's history, newest first, paged by sequence number; holds and
removals of single messages."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, or_, select, update

from townhall.store.database import DbConnection
from townhall.store.schema import members, messages

HELD = "held"
REMOVED = "removed"
WITHHELD = "withheld"  # removed while held: only its sender ever had it
SENDER_ONLY = (HELD, WITHHELD)
GONE = (REMOVED, WITHHELD)


async def history(
    conn: DbConnection, conversation_id: int, *, viewer_id: int, before_seq: int | None, limit: int
) -> list[Row]:
    """A held message (or one removed while held) is in its sender's history only."""
    query = select(messages).where(
        messages.c.conversation_id == conversation_id,
        or_(
            messages.c.moderation.is_(None),
            messages.c.moderation.not_in(SENDER_ONLY),
            messages.c.sender_id == viewer_id,
        ),
    )
    if before_seq is not None:
        query = query.where(messages.c.seq < before_seq)
    result = await conn.execute(query.order_by(messages.c.seq.desc()).limit(limit))
    return list(result)


async def get(conn: DbConnection, message_id: int) -> Row | None:
    result = await conn.execute(select(messages).where(messages.c.id == message_id))
    return result.first()


async def of_ids(conn: DbConnection, message_ids: Sequence[int]) -> list[Row]:
    result = await conn.execute(select(messages).where(messages.c.id.in_(message_ids)))
    return list(result)


async def member_ids(conn: DbConnection, conversation_id: int) -> list[int]:
    result = await conn.execute(
        select(members.c.account_id).where(members.c.conversation_id == conversation_id)
    )
    return list(result.scalars())


async def set_moderation(conn: DbConnection, message_id: int, moderation: str | None) -> None:
    await conn.execute(
        update(messages).where(messages.c.id == message_id).values(moderation=moderation)
    )


async def blank(conn: DbConnection, message_ids: Sequence[int], moderation: str) -> None:
    """Removed: the text and what it carried are gone; the row stays as the tombstone."""
    await conn.execute(
        update(messages)
        .where(messages.c.id.in_(message_ids))
        .values(text="", attachment=None, moderation=moderation)
    )
