"""Corrections owed to everyone a false item reached, who has been told, and whom an item
reached: its unique viewers and the members of the conversations it was forwarded into."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update

from townhall.store.database import DbConnection
from townhall.store.on_conflict import insert_on_conflict
from townhall.store.records import records
from townhall.store.schema import correction_notices, corrections, forwards, members, post_views


@dataclass(frozen=True, slots=True)
class StoredCorrection:
    id: int
    case_id: int
    target_type: str
    target_id: int
    author_id: int | None  # told otherwise
    notice: str  # the correction object of the event, as JSON
    created_at: int
    noticed: int
    done_at: int | None  # None while someone it reached has not been told


async def insert_correction(conn: DbConnection, **values: Any) -> int:
    result = await conn.execute(insert(corrections).values(**values))
    (correction_id,) = result.inserted_primary_key
    return int(correction_id)


async def owed(conn: DbConnection) -> list[StoredCorrection]:
    """Corrections not yet delivered to everyone, oldest first."""
    result = await conn.execute(
        select(corrections).where(corrections.c.done_at.is_(None)).order_by(corrections.c.id)
    )
    return records(StoredCorrection, result)


async def of_case(conn: DbConnection, case_id: int) -> list[StoredCorrection]:
    result = await conn.execute(
        select(corrections).where(corrections.c.case_id == case_id).order_by(corrections.c.id)
    )
    return records(StoredCorrection, result)


async def insert_notices(
    conn: DbConnection, target_type: str, target_id: int, account_ids: Sequence[int]
) -> list[int]:
    """Record that these users were told about the item; returns those not told before."""
    if not account_ids:
        return []
    result = await conn.execute(
        insert_on_conflict(correction_notices)
        .on_conflict_do_nothing()
        .returning(correction_notices.c.account_id),
        [
            {"target_type": target_type, "target_id": target_id, "account_id": account_id}
            for account_id in account_ids
        ],
    )
    return [row.account_id for row in result]


async def add_noticed(conn: DbConnection, correction_id: int, count: int) -> None:
    await conn.execute(
        update(corrections)
        .where(corrections.c.id == correction_id)
        .values(noticed=corrections.c.noticed + count)
    )


async def finish(conn: DbConnection, correction_id: int, now_ms: int) -> None:
    await conn.execute(
        update(corrections).where(corrections.c.id == correction_id).values(done_at=now_ms)
    )


# Whom an item reached, a page at a time in id order -------------------------------------------


async def viewers_after(conn: DbConnection, post_id: int, *, after: int, limit: int) -> list[int]:
    result = await conn.execute(
        select(post_views.c.viewer_id)
        .where(post_views.c.post_id == post_id, post_views.c.viewer_id > after)
        .order_by(post_views.c.viewer_id)
        .limit(limit)
    )
    return list(result.scalars())


async def members_after(
    conn: DbConnection, conversation_id: int, *, after: int, limit: int
) -> list[int]:
    result = await conn.execute(
        select(members.c.account_id)
        .where(members.c.conversation_id == conversation_id, members.c.account_id > after)
        .order_by(members.c.account_id)
        .limit(limit)
    )
    return list(result.scalars())


async def forward_conversations(conn: DbConnection, post_ids: Sequence[int]) -> list[int]:
    """The conversations any of these posts was forwarded into."""
    result = await conn.execute(
        select(forwards.c.conversation_id)
        .where(forwards.c.post_id.in_(post_ids))
        .distinct()
        .order_by(forwards.c.conversation_id)
    )
    return list(result.scalars())
