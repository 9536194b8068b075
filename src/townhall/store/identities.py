"""Sealed identities: verification and review state, access records, blacklist, phone codes."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, bindparam, delete, func, insert, select, update

from townhall.store.database import DbConnection
from townhall.store.prepared import prepared
from townhall.store.records import record_or_none, records
from townhall.store.schema import (
    accounts,
    blacklist,
    identities,
    identity_access,
    phone_codes,
)


@dataclass(frozen=True, slots=True)
class StoredIdentity:
    account_id: int
    key_id: str  # the vault key that sealed it
    sealed: bytes = field(repr=False)
    blind_index: str
    created_at: int
    status: str
    status_reason: str | None
    claimed_by: int | None
    claimed_at: int | None
    decided_by: int | None
    decided_at: int | None
    phone_verified_at: int | None
    purge_after: int | None
    provider_result: str | None
    provider_checked_at: int | None
    phone_index: str | None  # None: sealed before phones were indexed


@dataclass(frozen=True, slots=True)
class IdentityInReview(StoredIdentity):
    handle: str  # the account's


@dataclass(frozen=True, slots=True)
class IdentityAccess:
    """A human look at a plaintext identity."""

    id: int
    actor_id: int
    subject_id: int
    reason: str
    at: int
    reference: str | None


@dataclass(frozen=True, slots=True)
class PhoneCode:
    """The pending phone-check code of an account, and its rate-limit window."""

    account_id: int
    code_hash: str = field(repr=False)
    expires_at: int
    attempts: int
    window_started_at: int
    sent_in_window: int


async def insert_identity(
    conn: DbConnection,
    *,
    account_id: int,
    key_id: str,
    sealed: bytes,
    blind_index: str,
    phone_index: str,
    status: str,
    provider_result: str | None,
    now_ms: int,
) -> None:
    await conn.execute(
        insert(identities).values(
            account_id=account_id,
            key_id=key_id,
            sealed=sealed,
            blind_index=blind_index,
            phone_index=phone_index,
            status=status,
            provider_result=provider_result,
            provider_checked_at=now_ms if provider_result is not None else None,
            created_at=now_ms,
        )
    )


async def record_provider_result(
    conn: DbConnection, account_id: int, *, status: str, result: str, now_ms: int
) -> None:
    await conn.execute(
        update(identities)
        .where(identities.c.account_id == account_id)
        .values(status=status, provider_result=result, provider_checked_at=now_ms)
    )


_IDENTITY = prepared(select(identities).where(identities.c.account_id == bindparam("account_id")))


async def get(conn: DbConnection, account_id: int) -> StoredIdentity | None:
    result = await conn.execute(_IDENTITY, {"account_id": account_id})
    return record_or_none(StoredIdentity, result.first())


async def count_active_holders(
    conn: DbConnection, blind_index: str, *, active: str, rejected: str
) -> int:
    """Accounts in use holding this document: deregistered accounts and rejected identities no
    longer count, so a rejected claim cannot lock the real holder out."""
    count = await conn.scalar(
        select(func.count())
        .select_from(identities.join(accounts, accounts.c.id == identities.c.account_id))
        .where(
            identities.c.blind_index == blind_index,
            accounts.c.status == active,
            identities.c.status != rejected,
        )
    )
    return count or 0


async def is_blacklisted(conn: DbConnection, *blind_indexes: str) -> bool:
    found = await conn.scalar(
        select(blacklist.c.blind_index).where(blacklist.c.blind_index.in_(blind_indexes)).limit(1)
    )
    return found is not None


async def add_to_blacklist(
    conn: DbConnection, *, blind_index: str, reason: str, added_by: int, now_ms: int
) -> bool:
    """False when the identity was already on it."""
    if await is_blacklisted(conn, blind_index):
        return False
    await conn.execute(
        insert(blacklist).values(
            blind_index=blind_index, reason=reason, added_by=added_by, added_at=now_ms
        )
    )
    return True


async def in_review(
    conn: DbConnection, *, status: str, active: str, after_account_id: int, limit: int
) -> list[IdentityInReview]:
    result = await conn.execute(
        select(identities, accounts.c.handle)
        .join(accounts, accounts.c.id == identities.c.account_id)
        .where(
            identities.c.status == status,
            accounts.c.status == active,
            identities.c.account_id > after_account_id,
        )
        .order_by(identities.c.account_id)
        .limit(limit)
    )
    return records(IdentityInReview, result)


async def claim(conn: DbConnection, account_id: int, reviewer_id: int, now_ms: int) -> None:
    await conn.execute(
        update(identities)
        .where(identities.c.account_id == account_id)
        .values(claimed_by=reviewer_id, claimed_at=now_ms)
    )


async def decide(
    conn: DbConnection,
    account_id: int,
    *,
    status: str,
    reason: str | None,
    reviewer_id: int,
    now_ms: int,
) -> None:
    await conn.execute(
        update(identities)
        .where(identities.c.account_id == account_id)
        .values(status=status, status_reason=reason, decided_by=reviewer_id, decided_at=now_ms)
    )


async def record_access(
    conn: DbConnection,
    *,
    actor_id: int,
    subject_id: int,
    reason: str,
    reference: str,
    now_ms: int,
) -> int:
    result = await conn.execute(
        insert(identity_access).values(
            actor_id=actor_id, subject_id=subject_id, reason=reason, reference=reference, at=now_ms
        )
    )
    (record_id,) = result.inserted_primary_key
    return int(record_id)


async def accesses_since(conn: DbConnection, actor_id: int, since_ms: int) -> list[int]:
    """When `actor_id` looked at identities since `since_ms`, oldest first."""
    result = await conn.execute(
        select(identity_access.c.at)
        .where(identity_access.c.actor_id == actor_id, identity_access.c.at >= since_ms)
        .order_by(identity_access.c.at)
    )
    return [row.at for row in result]


async def access_records(
    conn: DbConnection, *, subject_id: int | None, before: int | None = None, limit: int
) -> list[IdentityAccess]:
    """Newest first; `before`: only records older than that id."""
    query = select(identity_access).order_by(identity_access.c.id.desc()).limit(limit)
    if subject_id is not None:
        query = query.where(identity_access.c.subject_id == subject_id)
    if before is not None:
        query = query.where(identity_access.c.id < before)
    return records(IdentityAccess, await conn.execute(query))


async def schedule_purge(conn: DbConnection, account_id: int, purge_after_ms: int) -> None:
    await conn.execute(
        update(identities)
        .where(identities.c.account_id == account_id)
        .values(purge_after=purge_after_ms)
    )


def _due(now_ms: int) -> ColumnElement[bool]:
    return identities.c.purge_after.is_not(None) & (identities.c.purge_after <= now_ms)


async def count_purge_due(conn: DbConnection, now_ms: int) -> int:
    return await conn.scalar(select(func.count()).select_from(identities).where(_due(now_ms))) or 0


async def purge_due(conn: DbConnection, now_ms: int) -> int:
    """Delete identities whose retention has ended; returns how many."""
    due = _due(now_ms)
    await conn.execute(
        delete(phone_codes).where(
            phone_codes.c.account_id.in_(select(identities.c.account_id).where(due))
        )
    )
    result = await conn.execute(delete(identities).where(due))
    return result.rowcount or 0


async def sealed_page(
    conn: DbConnection, *, not_key_id: str, after_account_id: int, limit: int
) -> list[StoredIdentity]:
    """Identities sealed under any key but `not_key_id`, in account order."""
    result = await conn.execute(
        select(identities)
        .where(identities.c.key_id != not_key_id, identities.c.account_id > after_account_id)
        .order_by(identities.c.account_id)
        .limit(limit)
    )
    return records(StoredIdentity, result)


async def count_all(conn: DbConnection) -> int:
    return await conn.scalar(select(func.count()).select_from(identities)) or 0


async def count_not_under(conn: DbConnection, key_id: str) -> int:
    return (
        await conn.scalar(
            select(func.count()).select_from(identities).where(identities.c.key_id != key_id)
        )
        or 0
    )


async def without_phone_index(
    conn: DbConnection, *, after_account_id: int, limit: int
) -> list[StoredIdentity]:
    """Identities sealed before phones were indexed, a page at a time."""
    result = await conn.execute(
        select(identities)
        .where(identities.c.phone_index.is_(None), identities.c.account_id > after_account_id)
        .order_by(identities.c.account_id)
        .limit(limit)
    )
    return records(StoredIdentity, result)


async def set_phone_index(conn: DbConnection, account_id: int, phone_index: str) -> None:
    await conn.execute(
        update(identities)
        .where(identities.c.account_id == account_id)
        .values(phone_index=phone_index)
    )


async def reseal(conn: DbConnection, account_id: int, key_id: str, sealed: bytes) -> None:
    await conn.execute(
        update(identities)
        .where(identities.c.account_id == account_id)
        .values(key_id=key_id, sealed=sealed)
    )


async def mark_phone_verified(conn: DbConnection, account_id: int, now_ms: int) -> None:
    await conn.execute(
        update(identities)
        .where(identities.c.account_id == account_id)
        .values(phone_verified_at=now_ms)
    )
    await conn.execute(delete(phone_codes).where(phone_codes.c.account_id == account_id))


async def phone_code(conn: DbConnection, account_id: int) -> PhoneCode | None:
    result = await conn.execute(select(phone_codes).where(phone_codes.c.account_id == account_id))
    return record_or_none(PhoneCode, result.first())


async def save_phone_code(conn: DbConnection, account_id: int, **values: int | str) -> None:
    if await phone_code(conn, account_id) is None:
        await conn.execute(insert(phone_codes).values(account_id=account_id, **values))
    else:
        await conn.execute(
            update(phone_codes).where(phone_codes.c.account_id == account_id).values(**values)
        )
