"""The reach ledger: unique views, forwards and their lineage, per-day totals, escalations
and the evidence snapshots frozen when a post or an author's totals cross a threshold."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, and_, case, cast, func, insert, literal, select, update

from townhall.domain.reach import Measure, Reach
from townhall.domain.review import Target
from townhall.store.database import DbConnection
from townhall.store.on_conflict import insert_on_conflict
from townhall.store.posts import StoredPost
from townhall.store.records import record, record_or_none, records
from townhall.store.schema import (
    evidence_snapshots,
    forwards,
    post_views,
    posts,
    public_accounts,
    reach_daily,
    reach_escalations,
    review_cases,
)

REACH_COLUMNS = (posts.c.views, posts.c.forwards, posts.c.forwarders, posts.c.forward_depth)


@dataclass(frozen=True, slots=True)
class ReachTotals:
    """Per-day reach summed over days (and accounts)."""

    views: int
    forwards: int
    forwarders: int


@dataclass(frozen=True, slots=True)
class StoredForward:
    id: int
    post_id: int
    forwarder_id: int
    conversation_id: int
    message_id: int
    parent_id: int | None  # the forward it was forwarded from
    depth: int
    created_at: int


@dataclass(frozen=True, slots=True)
class ReachedPost(StoredPost):
    """One of an author's posts with its account's name and the review case it has, if any."""

    account_name: str
    case_id: int | None


@dataclass(frozen=True, slots=True)
class EvidenceSnapshot:
    id: int
    post_id: int  # the post whose reach crossed the threshold
    content: str  # as JSON
    sha256: str
    captured_at: int


@dataclass(frozen=True, slots=True)
class StoredEscalation:
    id: int
    post_id: int | None  # None: the author's rolling totals crossed it
    public_account_id: int
    measure: str
    threshold: int
    count: int
    snapshot_id: int
    created_at: int
    author_id: int
    audit_seq: int | None


@dataclass(frozen=True, slots=True)
class EscalationWithEvidence(StoredEscalation):
    snapshot_content: str
    snapshot_sha256: str
    snapshot_captured_at: int


async def insert_new_views(
    conn: DbConnection, pairs: Iterable[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Record (post_id, viewer_id) pairs; returns the ones not seen before."""
    rows = [{"post_id": post_id, "viewer_id": viewer_id} for post_id, viewer_id in pairs]
    if not rows:
        return []
    result = await conn.execute(
        insert_on_conflict(post_views)
        .on_conflict_do_nothing()
        .returning(post_views.c.post_id, post_views.c.viewer_id),
        rows,
    )
    return [(row.post_id, row.viewer_id) for row in result]


async def add_to_post(
    conn: DbConnection,
    post_id: int,
    *,
    views: int = 0,
    forwards_added: int = 0,
    forwarders_added: int = 0,
    depth: int = 0,
) -> Reach:
    """Move the post's counters and return them after the change."""
    result = await conn.execute(
        update(posts)
        .where(posts.c.id == post_id)
        .values(
            views=posts.c.views + views,
            forwards=posts.c.forwards + forwards_added,
            forwarders=posts.c.forwarders + forwarders_added,
            forward_depth=_greatest(posts.c.forward_depth, depth),
        )
        .returning(*REACH_COLUMNS)
    )
    return record(Reach, result.one())


async def reach_of(conn: DbConnection, post_id: int) -> Reach:
    result = await conn.execute(select(*REACH_COLUMNS).where(posts.c.id == post_id))
    return record(Reach, result.one())


def _greatest(column: Any, value: int) -> Any:
    # SQLite's max(a, b) is PostgreSQL's greatest(a, b): a CASE is both databases' SQL.
    return case((column >= value, column), else_=literal(value))


async def add_to_day(
    conn: DbConnection,
    public_account_id: int,
    day: int,
    *,
    views: int,
    forwards_added: int,
    forwarders_added: int,
) -> None:
    statement = insert_on_conflict(reach_daily).values(
        public_account_id=public_account_id,
        day=day,
        views=views,
        forwards=forwards_added,
        forwarders=forwarders_added,
    )
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[reach_daily.c.public_account_id, reach_daily.c.day],
            set_={
                "views": reach_daily.c.views + statement.excluded.views,
                "forwards": reach_daily.c.forwards + statement.excluded.forwards,
                "forwarders": reach_daily.c.forwarders + statement.excluded.forwarders,
            },
        )
    )


def _sums() -> tuple[Any, ...]:
    # PostgreSQL sums integers as numeric (a Decimal): cast back to the integer it is.
    return tuple(
        cast(func.coalesce(func.sum(column), 0), BigInteger).label(column.name)
        for column in (reach_daily.c.views, reach_daily.c.forwards, reach_daily.c.forwarders)
    )


async def totals_since(
    conn: DbConnection, public_account_ids: list[int], from_day: int
) -> ReachTotals:
    result = await conn.execute(
        select(*_sums()).where(
            reach_daily.c.public_account_id.in_(public_account_ids),
            reach_daily.c.day >= from_day,
        )
    )
    return record(ReachTotals, result.one())


async def author_totals_since(conn: DbConnection, author_id: int, from_day: int) -> ReachTotals:
    """The rolling totals of every public account the author operates."""
    result = await conn.execute(
        select(*_sums())
        .join(public_accounts, public_accounts.c.id == reach_daily.c.public_account_id)
        .where(public_accounts.c.operator_id == author_id, reach_daily.c.day >= from_day)
    )
    return record(ReachTotals, result.one())


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


async def has_forwarded(conn: DbConnection, post_id: int, forwarder_id: int) -> bool:
    result = await conn.execute(
        select(literal(1))
        .where(forwards.c.post_id == post_id, forwards.c.forwarder_id == forwarder_id)
        .limit(1)
    )
    return result.first() is not None


async def insert_forward(conn: DbConnection, **values: Any) -> StoredForward:
    result = await conn.execute(insert(forwards).values(**values).returning(*forwards.c))
    return record(StoredForward, result.one())


async def forward_by_message(conn: DbConnection, message_id: int) -> StoredForward | None:
    result = await conn.execute(select(forwards).where(forwards.c.message_id == message_id))
    return record_or_none(StoredForward, result.first())


async def lineage(conn: DbConnection, forward_id: int) -> list[StoredForward]:
    """The forward and each parent up to the one made from the post itself, newest first."""
    chain = select(forwards).where(forwards.c.id == forward_id).cte("chain", recursive=True)
    chain = chain.union_all(select(forwards).join(chain, forwards.c.id == chain.c.parent_id))
    result = await conn.execute(select(chain).order_by(chain.c.depth.desc()))
    return records(StoredForward, result)


async def insert_snapshot(
    conn: DbConnection, *, post_id: int, content: str, sha256: str, now_ms: int
) -> int:
    result = await conn.execute(
        insert(evidence_snapshots).values(
            post_id=post_id, content=content, sha256=sha256, captured_at=now_ms
        )
    )
    (snapshot_id,) = result.inserted_primary_key
    return int(snapshot_id)


async def insert_escalation(conn: DbConnection, **values: Any) -> int:
    result = await conn.execute(insert(reach_escalations).values(**values))
    (escalation_id,) = result.inserted_primary_key
    return int(escalation_id)


async def set_audit_seq(conn: DbConnection, escalation_id: int, seq: int) -> None:
    await conn.execute(
        update(reach_escalations)
        .where(reach_escalations.c.id == escalation_id)
        .values(audit_seq=seq)
    )


async def last_author_escalation(conn: DbConnection, author_id: int, measure: str) -> int | None:
    """When the author's totals were last escalated on this measure (ms), if ever."""
    result = await conn.execute(
        select(func.max(reach_escalations.c.created_at)).where(
            reach_escalations.c.author_id == author_id,
            reach_escalations.c.measure == measure,
            reach_escalations.c.post_id.is_(None),
        )
    )
    last: int | None = result.scalar()
    return last


async def most_reached_posts(
    conn: DbConnection, author_id: int, *, measure: str, limit: int
) -> list[ReachedPost]:
    """The author's posts with any reach, the most reached on `measure` first, each with the
    review case it has (flagged, reported, escalated), if any."""
    counted = posts.c.views if measure == Measure.VIEWS else posts.c.forwarders
    result = await conn.execute(
        select(
            posts,
            public_accounts.c.name.label("account_name"),
            review_cases.c.id.label("case_id"),
        )
        .join(public_accounts, public_accounts.c.id == posts.c.public_account_id)
        .outerjoin(
            review_cases,
            and_(review_cases.c.target_type == Target.POST, review_cases.c.target_id == posts.c.id),
        )
        .where(public_accounts.c.operator_id == author_id, (posts.c.views + posts.c.forwards) > 0)
        .order_by(counted.desc(), posts.c.id)
        .limit(limit)
    )
    return records(ReachedPost, result)


SNAPSHOTS_PER_QUERY = 1_000


async def snapshots(conn: DbConnection, snapshot_ids: Sequence[int]) -> dict[int, EvidenceSnapshot]:
    found: dict[int, EvidenceSnapshot] = {}
    for start in range(0, len(snapshot_ids), SNAPSHOTS_PER_QUERY):
        chunk = snapshot_ids[start : start + SNAPSHOTS_PER_QUERY]
        result = await conn.execute(
            select(evidence_snapshots).where(evidence_snapshots.c.id.in_(chunk))
        )
        found.update((snapshot.id, snapshot) for snapshot in records(EvidenceSnapshot, result))
    return found


async def escalations(
    conn: DbConnection, *, after: int, limit: int
) -> list[EscalationWithEvidence]:
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
    return records(EscalationWithEvidence, result)


async def forward_messages(conn: DbConnection, post_ids: Sequence[int]) -> list[int]:
    """The messages that carried any of these posts into conversations."""
    result = await conn.execute(
        select(forwards.c.message_id).where(forwards.c.post_id.in_(post_ids))
    )
    return list(result.scalars())
