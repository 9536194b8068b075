"""Conversations and their members."""

from __future__ import annotations

from sqlalchemy import Row, insert, select

from townhall.store.database import DbConnection
from townhall.store.schema import conversations, members


async def insert_conversation(
    conn: DbConnection,
    *,
    kind: str,
    title: str | None,
    direct_key: str | None,
    created_by: int,
    now_ms: int,
) -> int:
    result = await conn.execute(
        insert(conversations).values(
            kind=kind, title=title, direct_key=direct_key, created_by=created_by, created_at=now_ms
        )
    )
    (conversation_id,) = result.inserted_primary_key  # type: ignore[misc]
    return int(conversation_id)


async def insert_members(
    conn: DbConnection, conversation_id: int, roles: dict[int, str], now_ms: int
) -> None:
    await conn.execute(
        insert(members),
        [
            {
                "conversation_id": conversation_id,
                "account_id": account_id,
                "role": role,
                "joined_at": now_ms,
            }
            for account_id, role in roles.items()
        ],
    )


async def find_direct(conn: DbConnection, direct_key: str) -> Row | None:
    result = await conn.execute(
        select(conversations).where(conversations.c.direct_key == direct_key)
    )
    return result.first()


async def get(conn: DbConnection, conversation_id: int) -> Row | None:
    result = await conn.execute(select(conversations).where(conversations.c.id == conversation_id))
    return result.first()


async def member_roles(conn: DbConnection, conversation_id: int) -> dict[int, str]:
    result = await conn.execute(
        select(members.c.account_id, members.c.role)
        .where(members.c.conversation_id == conversation_id)
        .order_by(members.c.joined_at, members.c.account_id)
    )
    return {row.account_id: row.role for row in result}


async def member_roles_of(
    conn: DbConnection, conversation_ids: list[int]
) -> dict[int, dict[int, str]]:
    result = await conn.execute(
        select(members.c.conversation_id, members.c.account_id, members.c.role)
        .where(members.c.conversation_id.in_(conversation_ids))
        .order_by(members.c.conversation_id, members.c.joined_at, members.c.account_id)
    )
    roles: dict[int, dict[int, str]] = {conversation_id: {} for conversation_id in conversation_ids}
    for row in result:
        roles[row.conversation_id][row.account_id] = row.role
    return roles


async def list_for_account(conn: DbConnection, account_id: int) -> list[Row]:
    result = await conn.execute(
        select(conversations)
        .join(members, members.c.conversation_id == conversations.c.id)
        .where(members.c.account_id == account_id)
        .order_by(conversations.c.id)
    )
    return list(result)
