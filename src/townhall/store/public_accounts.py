"""Public accounts, their review state, and who subscribes to them."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from townhall.domain.search import SearchTerms
from townhall.store import search
from townhall.store.database import DbConnection
from townhall.store.on_conflict import insert_on_conflict
from townhall.store.records import record, record_or_none, records
from townhall.store.schema import accounts, identities, public_accounts, subscriptions


@dataclass(frozen=True, slots=True)
class StoredPublicAccount:
    id: int
    name: str
    name_key: str  # normalized: names stay unique
    category: str
    account_type: str
    description: str
    operator_id: int
    entity_kind: str
    entity_name: str | None
    registration_number_type: str | None
    registration_number: str | None
    news_licence: str | None
    status: str
    status_reason: str | None
    news_entitlement: str
    reviewed_by: int | None
    reviewed_at: int | None
    approved_at: int | None
    created_at: int
    subscriber_count: int


@dataclass(frozen=True, slots=True)
class PublicAccountInQueue(StoredPublicAccount):
    handle: str  # its operator's


async def insert_account(conn: DbConnection, **values: Any) -> int:
    """The account, its name in the search index."""
    result = await conn.execute(insert(public_accounts).values(**values))
    (account_id,) = result.inserted_primary_key
    await search.index_public_account(conn, int(account_id), values["name"])
    return int(account_id)


async def get(conn: DbConnection, public_account_id: int) -> StoredPublicAccount | None:
    result = await conn.execute(
        select(public_accounts).where(public_accounts.c.id == public_account_id)
    )
    return record_or_none(StoredPublicAccount, result.first())


async def existing(conn: DbConnection, public_account_id: int) -> StoredPublicAccount:
    """An account known to be there: just written, or named by a row that refers to it."""
    result = await conn.execute(
        select(public_accounts).where(public_accounts.c.id == public_account_id)
    )
    return record(StoredPublicAccount, result.one())


async def name_in_use(conn: DbConnection, name_key: str, *, rejected: str) -> bool:
    """Rejected applications give their name back; every other state keeps it."""
    found = await conn.scalar(
        select(public_accounts.c.id)
        .where(public_accounts.c.name_key == name_key, public_accounts.c.status != rejected)
        .limit(1)
    )
    return found is not None


async def count_held_by_identity(
    conn: DbConnection, operator_id: int, *, entity_kind: str, rejected: str
) -> int:
    """Accounts of one entity kind held by everyone sharing the operator's identity document
    (found by its blind index, never decrypted), deregistered users included while their
    identity is retained: deregistering and registering again does not reset the cap.
    Rejected applications do not count."""
    same_identity = select(identities.c.account_id).where(
        identities.c.blind_index
        == select(identities.c.blind_index)
        .where(identities.c.account_id == operator_id)
        .scalar_subquery()
    )
    count = await conn.scalar(
        select(func.count()).where(
            public_accounts.c.operator_id.in_(same_identity),
            public_accounts.c.entity_kind == entity_kind,
            public_accounts.c.status != rejected,
        )
    )
    return count or 0


async def list_by_operator(
    conn: DbConnection, operator_id: int, *, after: int, limit: int
) -> list[StoredPublicAccount]:
    result = await conn.execute(
        select(public_accounts)
        .where(public_accounts.c.operator_id == operator_id, public_accounts.c.id > after)
        .order_by(public_accounts.c.id)
        .limit(limit)
    )
    return records(StoredPublicAccount, result)


async def list_in_states(
    conn: DbConnection, states: Collection[str], *, after: int, limit: int
) -> list[StoredPublicAccount]:
    """The accounts in any of `states`, by id after `after`: the directory's page."""
    result = await conn.execute(
        select(public_accounts)
        .where(public_accounts.c.status.in_(states), public_accounts.c.id > after)
        .order_by(public_accounts.c.id)
        .limit(limit)
    )
    return records(StoredPublicAccount, result)


async def find(
    conn: DbConnection, terms: SearchTerms, *, states: Collection[str], after: int, limit: int
) -> list[StoredPublicAccount]:
    """The accounts in any of `states` whose names hold the terms, by id after `after`."""
    index = search.public_account_search
    result = await conn.execute(
        select(public_accounts)
        .select_from(index)
        .join(public_accounts, public_accounts.c.id == index.c.rowid)
        .where(
            search.matches(index, terms),
            public_accounts.c.status.in_(states),
            index.c.rowid > after,
        )
        .order_by(index.c.rowid)
        .limit(limit)
    )
    return records(StoredPublicAccount, result)


async def list_by_status(
    conn: DbConnection, status: str, *, after: int, limit: int
) -> list[PublicAccountInQueue]:
    result = await conn.execute(
        select(public_accounts, accounts.c.handle)
        .join(accounts, accounts.c.id == public_accounts.c.operator_id)
        .where(public_accounts.c.status == status, public_accounts.c.id > after)
        .order_by(public_accounts.c.id)
        .limit(limit)
    )
    return records(PublicAccountInQueue, result)


async def list_for_filing(
    conn: DbConnection, statuses: Iterable[str], *, category: str | None
) -> list[StoredPublicAccount]:
    query = select(public_accounts).where(public_accounts.c.status.in_(list(statuses)))
    if category is not None:
        query = query.where(public_accounts.c.category == category)
    result = await conn.execute(query.order_by(public_accounts.c.category, public_accounts.c.id))
    return records(StoredPublicAccount, result)


async def filed_page(
    conn: DbConnection, statuses: Iterable[str], *, category: str | None, after: int, limit: int
) -> list[StoredPublicAccount]:
    """Up to `limit` of the accounts `list_for_filing` lists, in id order, after id `after`."""
    query = select(public_accounts).where(
        public_accounts.c.status.in_(list(statuses)), public_accounts.c.id > after
    )
    if category is not None:
        query = query.where(public_accounts.c.category == category)
    result = await conn.execute(query.order_by(public_accounts.c.id).limit(limit))
    return records(StoredPublicAccount, result)


async def set_review(conn: DbConnection, public_account_id: int, **values: Any) -> None:
    await conn.execute(
        update(public_accounts).where(public_accounts.c.id == public_account_id).values(**values)
    )


async def close_operated_by(
    conn: DbConnection,
    operator_id: int,
    *,
    closed: str,
    open_states: Iterable[str],
    reason: str,
    now_ms: int,
) -> None:
    await conn.execute(
        update(public_accounts)
        .where(
            public_accounts.c.operator_id == operator_id,
            public_accounts.c.status.in_(list(open_states)),
        )
        .values(status=closed, status_reason=reason, reviewed_at=now_ms)
    )


async def subscribe(
    conn: DbConnection, subscriber_id: int, public_account_id: int, now_ms: int
) -> bool:
    """True when the subscription is new; the subscriber count moves only then."""
    result = await conn.execute(
        insert_on_conflict(subscriptions)
        .values(subscriber_id=subscriber_id, public_account_id=public_account_id, created_at=now_ms)
        .on_conflict_do_nothing()
    )
    added: bool = result.rowcount == 1
    if added:
        await _count_subscribers(conn, public_account_id, +1)
    return added


async def unsubscribe(conn: DbConnection, subscriber_id: int, public_account_id: int) -> bool:
    result = await conn.execute(
        delete(subscriptions).where(
            subscriptions.c.subscriber_id == subscriber_id,
            subscriptions.c.public_account_id == public_account_id,
        )
    )
    removed: bool = result.rowcount == 1
    if removed:
        await _count_subscribers(conn, public_account_id, -1)
    return removed


async def _count_subscribers(conn: DbConnection, public_account_id: int, change: int) -> None:
    await conn.execute(
        update(public_accounts)
        .where(public_accounts.c.id == public_account_id)
        .values(subscriber_count=public_accounts.c.subscriber_count + change)
    )


async def is_subscribed(conn: DbConnection, subscriber_id: int, public_account_id: int) -> bool:
    found = await conn.scalar(
        select(subscriptions.c.created_at).where(
            subscriptions.c.subscriber_id == subscriber_id,
            subscriptions.c.public_account_id == public_account_id,
        )
    )
    return found is not None


async def subscribed_among(
    conn: DbConnection, subscriber_id: int, public_account_ids: Collection[int]
) -> set[int]:
    """Those of the accounts the subscriber follows."""
    result = await conn.execute(
        select(subscriptions.c.public_account_id).where(
            subscriptions.c.subscriber_id == subscriber_id,
            subscriptions.c.public_account_id.in_(public_account_ids),
        )
    )
    return set(result.scalars())


async def followed_by(conn: DbConnection, subscriber_id: int) -> list[int]:
    result = await conn.execute(
        select(subscriptions.c.public_account_id).where(
            subscriptions.c.subscriber_id == subscriber_id
        )
    )
    return [row[0] for row in result]
