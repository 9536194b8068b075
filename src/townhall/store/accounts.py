"""Accounts, their sealed identities and agreement acceptances."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Row, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from townhall.store.schema import accounts, agreement_acceptances, identities


async def insert_account(
    conn: AsyncConnection,
    *,
    handle: str,
    display_name: str,
    password_hash: str,
    status: str,
    now_ms: int,
) -> int:
    result = await conn.execute(
        insert(accounts).values(
            handle=handle,
            display_name=display_name,
            password_hash=password_hash,
            status=status,
            created_at=now_ms,
        )
    )
    (account_id,) = result.inserted_primary_key  # type: ignore[misc]
    return int(account_id)


async def handle_taken(conn: AsyncConnection, handle: str) -> bool:
    found = await conn.scalar(select(accounts.c.id).where(accounts.c.handle == handle))
    return found is not None


async def find_by_handle(conn: AsyncConnection, handle: str) -> Row | None:
    result = await conn.execute(select(accounts).where(accounts.c.handle == handle))
    return result.first()


async def get(conn: AsyncConnection, account_id: int) -> Row | None:
    result = await conn.execute(select(accounts).where(accounts.c.id == account_id))
    return result.first()


async def existing_ids(conn: AsyncConnection, account_ids: Iterable[int]) -> set[int]:
    wanted = list(set(account_ids))
    result = await conn.execute(select(accounts.c.id).where(accounts.c.id.in_(wanted)))
    return {row.id for row in result}


async def insert_identity(
    conn: AsyncConnection,
    *,
    account_id: int,
    key_id: str,
    sealed: bytes,
    blind_index: str,
    now_ms: int,
) -> None:
    await conn.execute(
        insert(identities).values(
            account_id=account_id,
            key_id=key_id,
            sealed=sealed,
            blind_index=blind_index,
            created_at=now_ms,
        )
    )


async def has_identity(conn: AsyncConnection, account_id: int) -> bool:
    found = await conn.scalar(
        select(identities.c.account_id).where(identities.c.account_id == account_id)
    )
    return found is not None


async def record_agreement(
    conn: AsyncConnection, *, account_id: int, version: str, ip: str | None, now_ms: int
) -> None:
    await conn.execute(
        insert(agreement_acceptances).values(
            account_id=account_id, version=version, accepted_at=now_ms, ip=ip
        )
    )
