"""Login sessions, found by the SHA-256 of their bearer token."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import insert, select, update

from townhall.store.database import DbConnection
from townhall.store.records import record_or_none
from townhall.store.schema import sessions


@dataclass(frozen=True, slots=True)
class StoredSession:
    token_hash: str = field(repr=False)
    account_id: int
    created_at: int
    expires_at: int
    revoked_at: int | None


async def insert_session(
    conn: DbConnection, *, token_hash: str, account_id: int, now_ms: int, expires_at_ms: int
) -> None:
    await conn.execute(
        insert(sessions).values(
            token_hash=token_hash,
            account_id=account_id,
            created_at=now_ms,
            expires_at=expires_at_ms,
        )
    )


async def find(conn: DbConnection, token_hash: str) -> StoredSession | None:
    result = await conn.execute(select(sessions).where(sessions.c.token_hash == token_hash))
    return record_or_none(StoredSession, result.first())


async def revoke(conn: DbConnection, token_hash: str, now_ms: int) -> None:
    await conn.execute(
        update(sessions)
        .where(sessions.c.token_hash == token_hash, sessions.c.revoked_at.is_(None))
        .values(revoked_at=now_ms)
    )


async def revoke_all(conn: DbConnection, account_id: int, now_ms: int) -> None:
    await conn.execute(
        update(sessions)
        .where(sessions.c.account_id == account_id, sessions.c.revoked_at.is_(None))
        .values(revoked_at=now_ms)
    )
