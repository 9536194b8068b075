"""Login sessions, found by the SHA-256 of their bearer token, and named to their owner by id."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, insert, select, update

from townhall.store.database import DbConnection
from townhall.store.records import record_or_none, records
from townhall.store.schema import sessions


@dataclass(frozen=True, slots=True)
class StoredSession:
    id: int
    token_hash: str = field(repr=False)
    account_id: int
    created_at: int
    expires_at: int
    revoked_at: int | None
    last_seen_at: int
    device: str | None


async def insert_session(
    conn: DbConnection,
    *,
    token_hash: str,
    account_id: int,
    now_ms: int,
    expires_at_ms: int,
    device: str | None,
) -> None:
    await conn.execute(
        insert(sessions).values(
            token_hash=token_hash,
            account_id=account_id,
            created_at=now_ms,
            expires_at=expires_at_ms,
            last_seen_at=now_ms,
            device=device,
        )
    )


async def find(conn: DbConnection, token_hash: str) -> StoredSession | None:
    result = await conn.execute(select(sessions).where(sessions.c.token_hash == token_hash))
    return record_or_none(StoredSession, result.first())


def _live(account_id: int, now_ms: int) -> list[ColumnElement[bool]]:
    return [
        sessions.c.account_id == account_id,
        sessions.c.revoked_at.is_(None),
        sessions.c.expires_at > now_ms,
    ]


async def live_of(
    conn: DbConnection, account_id: int, now_ms: int, *, before: int | None, limit: int
) -> list[StoredSession]:
    """A page of an account's sessions not ended, the newest first, with ids below `before`."""
    query = select(sessions).where(*_live(account_id, now_ms))
    if before is not None:
        query = query.where(sessions.c.id < before)
    result = await conn.execute(query.order_by(sessions.c.id.desc()).limit(limit))
    return records(StoredSession, result)


async def find_live(
    conn: DbConnection, account_id: int, session_id: int, now_ms: int
) -> StoredSession | None:
    """One of the account's sessions not ended; None for another account's, or an ended one."""
    result = await conn.execute(
        select(sessions).where(sessions.c.id == session_id, *_live(account_id, now_ms))
    )
    return record_or_none(StoredSession, result.first())


async def seen(conn: DbConnection, token_hash: str, now_ms: int) -> None:
    await conn.execute(
        update(sessions).where(sessions.c.token_hash == token_hash).values(last_seen_at=now_ms)
    )


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


async def revoke_all_but(
    conn: DbConnection, account_id: int, kept_token_hash: str, now_ms: int
) -> list[str]:
    """End every session of the account but one; the token hashes of those it ended."""
    ended = await conn.execute(
        update(sessions)
        .where(*_live(account_id, now_ms), sessions.c.token_hash != kept_token_hash)
        .values(revoked_at=now_ms)
        .returning(sessions.c.token_hash)
    )
    return list(ended.scalars())
