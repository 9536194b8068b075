"""The reach ledger: unique views, forwards and their lineage, per-day totals, escalations
and the evidence snapshots frozen when a post crosses a threshold."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Row, func, insert, literal, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from townhall.store.database import DbConnection
from townhall.store.schema import (
    evidence_snapshots,
    forwards,
    post_views,
    posts,
    public_accounts,
    reach_daily,
    reach_escalations,
)


async def insert_new_views(
    conn: DbConnection, pairs: Iterable[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Record (post_id, viewer_id) pairs; returns the ones not seen before."""
    rows = [{"post_id": post_id, "viewer_id": viewer_id} for post_id, viewer_id in pairs]
    if not rows:
        return []
    result = await conn.execute(
        sqlite_insert(post_views)
        .on_conflict_do_nothing()
        .returning(post_views.c.post_id, post_views.c.viewer_id),
        rows,
    )
    return [(row.post_id, row.viewer_id) for row in result]


async def add_to_post(
    conn: DbConnection, post_id: int, *, views: int = 0, forwards_added: int = 0, depth: int = 0
) -> Row:
    """Move the post's counters and return them after the change."""
    result = await conn.execute(
        update(posts)
        .where(posts.c.id == post_id)
        .values(
            views=posts.c.views + views,
            forwards=posts.c.forwards + forwards_added,
            forward_depth=_greatest(posts.c.forward_depth, depth),
        )
        .returning(posts.c.views, posts.c.forwards, posts.c.forward_depth)
    )
    return result.one()


async def reach_of(conn: DbConnection, post_id: int) -> Row:
    result = await conn.execute(
        select(posts.c.views, posts.c.forwards, posts.c.forward_depth).where(posts.c.id == post_id)
    )
    return result.one()


def _greatest(column: Any, value: int) -> Any:
    return func.max(column, literal(value))


async def add_to_day(
    conn: DbConnection, public_account_id: int, day: int, *, views: int, forwards_added: int
) -> None:
    statement = sqlite_insert(reach_daily).values(
        public_account_id=public_account_id, day=day, views=views, forwards=forwards_added
    )
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[reach_daily.c.public_account_id, reach_daily.c.day],
            set_={
                "views": reach_daily.c.views + statement.excluded.views,
                "forwards": reach_daily.c.forwards + statement.excluded.forwards,
            },
        )
    )


async def totals_since(conn: DbConnection, public_account_ids: list[int], from_day: int) -> Row:
    result = await conn.execute(
        select(
            func.coalesce(func.sum(reach_daily.c.views), 0).label("views"),
            func.coalesce(func.sum(reach_daily.c.forwards), 0).label("forwards"),
        ).where(
            reach_daily.c.public_account_id.in_(public_account_ids),
            reach_daily.c.day >= from_day,
        )
    )
    return result.one()


async def accounts_run_by_operator_of(conn: DbConnection, public_account_id: int) -> list[int]:
    """Every public account whose operator also runs this one (itself included)."""
    operator = (
        select(public_accounts.c.operator_id)
        .where(public_accounts.c.id == public_account_id)
        .scalar_subquery()
    )
    result = await conn.execute(
        select(public_accounts.c.id)
        .where(public_accounts.c.operator_id == operator)
        .order_by(public_accounts.c.id)
    )
    return [row[0] for row in result]


async def insert_forward(conn: DbConnection, **values: Any) -> int:
    result = await conn.execute(insert(forwards).values(**values))
    (forward_id,) = result.inserted_primary_key  # type: ignore[misc]
    return int(forward_id)


async def get_forward(conn: DbConnection, forward_id: int) -> Row:
    result = await conn.execute(select(forwards).where(forwards.c.id == forward_id))
    return result.one()


async def forward_by_message(conn: DbConnection, message_id: int) -> Row | None:
    result = await conn.execute(select(forwards).where(forwards.c.message_id == message_id))
    return result.first()


async def lineage(conn: DbConnection, forward_id: int) -> list[Row]:
    """The forward and each parent up to the one made from the post itself, newest first."""
    chain = select(forwards).where(forwards.c.id == forward_id).cte("chain", recursive=True)
    chain = chain.union_all(select(forwards).join(chain, forwards.c.id == chain.c.parent_id))
    result = await conn.execute(select(chain).order_by(chain.c.depth.desc()))
    return list(result)


async def insert_snapshot(
    conn: DbConnection, *, post_id: int, content: str, sha256: str, now_ms: int
) -> int:
    result = await conn.execute(
        insert(evidence_snapshots).values(
            post_id=post_id, content=content, sha256=sha256, captured_at=now_ms
        )
    )
    (snapshot_id,) = result.inserted_primary_key  # type: ignore[misc]
    return int(snapshot_id)


async def insert_escalation(conn: DbConnection, **values: Any) -> int:
    result = await conn.execute(insert(reach_escalations).values(**values))
    (escalation_id,) = result.inserted_primary_key  # type: ignore[misc]
    return int(escalation_id)


async def escalations(conn: DbConnection, *, after: int, limit: int) -> list[Row]:
    result = await conn.execute(
        select(
            reach_escalations,
            evidence_snapshots.c.content.label("snapshot_content"),
            evidence_snapshots.c.sha256.label("snapshot_sha256"),
            evidence_snapshots.c.captured_at.label("snapshot_captured_at"),
        )
        .join(evidence_snapshots, evidence_snapshots.c.id == reach_escalations.c.snapshot_id)
        .where(reach_escalations.c.id > after)
        .order_by(reach_escalations.c.id)
        .limit(limit)
    )
    return list(result)


async def forward_messages(conn: DbConnection, post_ids: Sequence[int]) -> list[int]:
    """The messages that carried any of these posts into conversations."""
    result = await conn.execute(
        select(forwards.c.message_id).where(forwards.c.post_id.in_(post_ids))
    )
    return list(result.scalars())
