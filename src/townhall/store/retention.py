"""Retention of review cases: a decided case's copy of the content is cleared after a while."""

from __future__ import annotations

import orjson
from sqlalchemy import ColumnElement, func, select, update

from townhall.domain.review import PENDING
from townhall.store.database import DbConnection
from townhall.store.schema import review_cases

# What a purged case's content reads: still a JSON object, so readers need no special case.
PURGED_CONTENT = orjson.dumps({"purged": True}).decode()


def _content_due(decided_before: int) -> ColumnElement[bool]:
    # A case reopened by an appeal is pending again: its content stays until it is decided.
    return (
        review_cases.c.state.not_in(PENDING)
        & review_cases.c.decided_at.is_not(None)
        & (review_cases.c.decided_at < decided_before)
        & (review_cases.c.content != PURGED_CONTENT)
    )


async def count_case_content_due(conn: DbConnection, *, decided_before: int) -> int:
    due: int = await conn.scalar(
        select(func.count()).select_from(review_cases).where(_content_due(decided_before))
    )
    return due


async def purge_case_content(conn: DbConnection, *, decided_before: int) -> int:
    """Clear the content of cases decided before `decided_before` (ms); returns how many."""
    result = await conn.execute(
        update(review_cases).where(_content_due(decided_before)).values(content=PURGED_CONTENT)
    )
    purged: int = result.rowcount
    return purged
