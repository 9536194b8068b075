"""Posts of public accounts and the timeline that merges them on read."""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, false, func, insert, or_, select, update
from sqlalchemy.sql import ColumnElement

from townhall.domain.search import SearchTerms
from townhall.store import search
from townhall.store.database import DbConnection
from townhall.store.prepared import prepared
from townhall.store.records import record, record_or_none, records
from townhall.store.schema import posts, public_accounts, subscriptions


@dataclass(frozen=True, slots=True)
class StoredPost:
    id: int
    public_account_id: int
    title: str
    body: str
    content_class: str
    source_post_id: int | None  # the post it re-publishes
    root_post_id: int | None  # the chain's original
    status: str
    created_at: int
    deleted_at: int | None
    views: int  # unique viewers
    forwards: int
    forward_depth: int
    forwarders: int  # distinct forwarders
    media: str | None  # JSON: the media objects it carries, as readers see them
    timeline_position: int | None  # taken when published; what the timeline's `since` counts


@dataclass(frozen=True, slots=True)
class PostWithAccount(StoredPost):
    """A post as a reader gets it, with its account's name, news entitlement, state and
    operator beside it."""

    account_name: str
    account_entitlement: str
    account_status: str
    operator_id: int


# What a reader gets of a post (PostWithAccount).
POST_COLUMNS = (
    *posts.c,
    public_accounts.c.name.label("account_name"),
    public_accounts.c.news_entitlement.label("account_entitlement"),
    public_accounts.c.status.label("account_status"),
    public_accounts.c.operator_id,
)


def _with_account() -> Any:
    return select(*POST_COLUMNS).join(
        public_accounts, public_accounts.c.id == posts.c.public_account_id
    )


# A timeline position above every post's (never correlated with a post being updated). Taken
# in the write turn, which one transaction at a time holds on either backend
# (store/database.py): positions commit in the order they are taken, so a reader's `since`
# never passes one that could still commit below it.
_TOP_POSITION = select(func.max(posts.c.timeline_position)).correlate(None).scalar_subquery()
_NEXT_POSITION = func.coalesce(_TOP_POSITION, 0) + 1


async def insert_post(conn: DbConnection, *, in_timelines: bool, **values: Any) -> int:
    """The post, its title in the search index; `in_timelines`: published at once, so it takes
    the next timeline position."""
    if in_timelines:
        values["timeline_position"] = _NEXT_POSITION
    result = await conn.execute(insert(posts).values(**values))
    (post_id,) = result.inserted_primary_key
    await search.index_post(conn, int(post_id), values["title"])
    return int(post_id)


async def get(conn: DbConnection, post_id: int) -> PostWithAccount | None:
    result = await conn.execute(_with_account().where(posts.c.id == post_id))
    return record_or_none(PostWithAccount, result.first())


async def existing(conn: DbConnection, post_id: int) -> PostWithAccount:
    """A post known to be there: just written, or named by a row that refers to it."""
    result = await conn.execute(_with_account().where(posts.c.id == post_id))
    return record(PostWithAccount, result.one())


async def post_times_since(conn: DbConnection, public_account_id: int, since_ms: int) -> list[int]:
    """Creation times of the account's posts after `since_ms`, oldest first; deleted posts
    count too, so deleting one does not give its quota back."""
    result = await conn.execute(
        select(posts.c.created_at)
        .where(posts.c.public_account_id == public_account_id, posts.c.created_at > since_ms)
        .order_by(posts.c.created_at)
    )
    return [row[0] for row in result]


async def of_account(
    conn: DbConnection, public_account_id: int, *, shown: tuple[str, ...], before: int, limit: int
) -> list[PostWithAccount]:
    result = await conn.execute(
        _with_account()
        .where(
            posts.c.public_account_id == public_account_id,
            posts.c.status.in_(shown),
            posts.c.id < before,
        )
        .order_by(posts.c.id.desc())
        .limit(limit)
    )
    return records(PostWithAccount, result)


async def newest_position(conn: DbConnection) -> int:
    """The newest timeline position, of any account (0 before the first post published)."""
    return await conn.scalar(select(func.max(posts.c.timeline_position))) or 0


async def timeline(
    conn: DbConnection,
    subscriber_id: int,
    *,
    shown: tuple[str, ...],
    open_accounts: tuple[str, ...],
    since: int,
    before: int,
    limit: int,
) -> list[PostWithAccount]:
    """Newest published first, posts with since < timeline position < before of the accounts
    the subscriber follows."""
    parameters = {"subscriber_id": subscriber_id, "since": since, "before": before, "limit": limit}
    result = await conn.execute(_timeline_page(shown, open_accounts), parameters)
    return records(PostWithAccount, result)


@functools.cache
def _timeline_page(shown: tuple[str, ...], open_accounts: tuple[str, ...]) -> Any:
    """A page of a timeline, built once for each pair of the caller's constants. The statuses
    are compared one by one: an IN list would be expanded on every call (store/prepared.py)."""
    followed = select(subscriptions.c.public_account_id).where(
        subscriptions.c.subscriber_id == bindparam("subscriber_id")
    )
    return prepared(
        _with_account()
        .where(
            posts.c.public_account_id.in_(followed),
            or_(false(), *(posts.c.status == status for status in shown)),
            or_(false(), *(public_accounts.c.status == status for status in open_accounts)),
            posts.c.timeline_position > bindparam("since"),
            posts.c.timeline_position < bindparam("before"),
        )
        .order_by(posts.c.timeline_position.desc())
        .limit(bindparam("limit"))
    )


async def mark_deleted(conn: DbConnection, post_id: int, *, deleted: str, now_ms: int) -> None:
    await conn.execute(
        update(posts).where(posts.c.id == post_id).values(status=deleted, deleted_at=now_ms)
    )


async def publish(conn: DbConnection, post_ids: Sequence[int], *, published: str) -> None:
    """Published now (approved, or restored): each at the next timeline position, in order, so
    readers polling timelines with `since` get them as new."""
    for post_id in post_ids:  # one at a time: the next position counts the one before
        await conn.execute(
            update(posts)
            .where(posts.c.id == post_id)
            .values(status=published, timeline_position=_NEXT_POSITION)
        )


async def set_status(conn: DbConnection, post_ids: Sequence[int], status: str) -> None:
    await conn.execute(update(posts).where(posts.c.id.in_(post_ids)).values(status=status))


async def statuses(conn: DbConnection, post_ids: Sequence[int]) -> dict[int, str]:
    result = await conn.execute(select(posts.c.id, posts.c.status).where(posts.c.id.in_(post_ids)))
    return {row.id: row.status for row in result}


async def reposts_of(conn: DbConnection, post_ids: Sequence[int]) -> list[int]:
    """Posts re-publishing any of these, however many hops down the chain."""
    found: list[int] = []
    frontier = list(post_ids)
    while frontier:
        result = await conn.execute(select(posts.c.id).where(posts.c.source_post_id.in_(frontier)))
        frontier = [post_id for post_id in result.scalars() if post_id not in found]
        found.extend(frontier)
    return found


async def published_since(
    conn: DbConnection, *, since_ms: int, after_id: int, limit: int, published: str
) -> list[PostWithAccount]:
    """Published posts created at or after `since_ms`, in id order, a page after `after_id`."""
    result = await conn.execute(
        _with_account()
        .where(*_published_since(since_ms, published), posts.c.id > after_id)
        .order_by(posts.c.id)
        .limit(limit)
    )
    return records(PostWithAccount, result)


async def count_published_since(conn: DbConnection, *, since_ms: int, published: str) -> int:
    """How many posts published_since would page through."""
    query = select(func.count()).where(*_published_since(since_ms, published))
    count: int = (await conn.execute(query)).scalar_one()
    return count


def _published_since(since_ms: int, published: str) -> tuple[ColumnElement[bool], ...]:
    return (posts.c.created_at >= since_ms, posts.c.status == published)


async def find(
    conn: DbConnection,
    terms: SearchTerms,
    *,
    published: str,
    open_accounts: Collection[str],
    before: int | None,
    limit: int,
) -> list[PostWithAccount]:
    """The published posts of open accounts whose titles hold the terms, newest first (by id,
    below `before`)."""
    index = search.post_search
    query = (
        select(*POST_COLUMNS)
        .select_from(index)
        .join(posts, posts.c.id == index.c.rowid)
        .join(public_accounts, public_accounts.c.id == posts.c.public_account_id)
        .where(
            search.matches(index, terms),
            posts.c.status == published,
            public_accounts.c.status.in_(open_accounts),
        )
        .order_by(index.c.rowid.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(index.c.rowid < before)
    return records(PostWithAccount, await conn.execute(query))
