"""Reading a conversation's history, newest first, paged by sequence number."""

from __future__ import annotations

from sqlalchemy import Row, select

from townhall.store.database import DbConnection
from townhall.store.schema import messages


async def history(
    conn: DbConnection, conversation_id: int, *, before_seq: int | None, limit: int
) -> list[Row]:
    query = select(messages).where(messages.c.conversation_id == conversation_id)
    if before_seq is not None:
        query = query.where(messages.c.seq < before_seq)
    result = await conn.execute(query.order_by(messages.c.seq.desc()).limit(limit))
    return list(result)
