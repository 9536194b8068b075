"""Sanctions and appeals: rows are never deleted; a sanction's state records how it ended."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Row, delete, insert, or_, select, update

from townhall.domain.enforcement import AppealState, SanctionState, SubjectType
from townhall.store.database import DbConnection
from townhall.store.schema import appeals, blacklist, members, sanctions


async def insert_sanction(conn: DbConnection, **values: Any) -> Row:
    result = await conn.execute(insert(sanctions).values(**values).returning(*sanctions.c))
    return result.one()


async def get(conn: DbConnection, sanction_id: int) -> Row | None:
    result = await conn.execute(select(sanctions).where(sanctions.c.id == sanction_id))
    return result.first()


async def for_case(conn: DbConnection, case_id: int) -> Row | None:
    result = await conn.execute(select(sanctions).where(sanctions.c.case_id == case_id))
    return result.first()


async def of_subject(conn: DbConnection, subject_type: str, subject_id: int) -> list[Row]:
    """Every sanction the subject ever had, oldest first."""
    result = await conn.execute(
        select(sanctions)
        .where(sanctions.c.subject_type == subject_type, sanctions.c.subject_id == subject_id)
        .order_by(sanctions.c.id)
    )
    return list(result)


async def of_person(
    conn: DbConnection, account_id: int | None, person_keys: Collection[str]
) -> list[Row]:
    """Every sanction a person ever had as a user, oldest first: those of the account, and those
    tied to any of the person's identities (blind indexes)."""
    clauses = [sanctions.c.person_key.in_(person_keys)] if person_keys else []
    if account_id is not None:
        clauses.append(sanctions.c.subject_id == account_id)
    if not clauses:
        return []
    result = await conn.execute(
        select(sanctions)
        .where(sanctions.c.subject_type == SubjectType.USER, or_(*clauses))
        .order_by(sanctions.c.id)
    )
    return list(result)


async def listing(
    conn: DbConnection,
    *,
    subject_type: str | None,
    subject_id: int | None,
    state: str | None,
    after: int,
    limit: int,
) -> list[Row]:
    query = select(sanctions).where(sanctions.c.id > after)
    if subject_type is not None:
        query = query.where(sanctions.c.subject_type == subject_type)
    if subject_id is not None:
        query = query.where(sanctions.c.subject_id == subject_id)
    if state is not None:
        query = query.where(sanctions.c.state == state)
    result = await conn.execute(query.order_by(sanctions.c.id).limit(limit))
    return list(result)


async def due_to_expire(conn: DbConnection, now_ms: int, limit: int) -> list[Row]:
    result = await conn.execute(
        select(sanctions)
        .where(sanctions.c.state == SanctionState.ACTIVE, sanctions.c.ends_at <= now_ms)
        .order_by(sanctions.c.ends_at)
        .limit(limit)
    )
    return list(result)


async def set_state(conn: DbConnection, sanction_id: int, **values: Any) -> Row:
    """The sanction as it now stands."""
    result = await conn.execute(
        update(sanctions)
        .where(sanctions.c.id == sanction_id)
        .values(**values)
        .returning(*sanctions.c)
    )
    return result.one()


async def set_member_role(
    conn: DbConnection, conversation_id: int, account_id: int, role: str
) -> None:
    await conn.execute(
        update(members)
        .where(members.c.conversation_id == conversation_id, members.c.account_id == account_id)
        .values(role=role)
    )


async def unlist_identity(conn: DbConnection, blind_index: str) -> None:
    await conn.execute(delete(blacklist).where(blacklist.c.blind_index == blind_index))


# Appeals -----------------------------------------------------------------------------------


async def insert_appeal(conn: DbConnection, **values: Any) -> Row:
    result = await conn.execute(insert(appeals).values(**values).returning(*appeals.c))
    return result.one()


async def get_appeal(conn: DbConnection, appeal_id: int) -> Row | None:
    result = await conn.execute(select(appeals).where(appeals.c.id == appeal_id))
    return result.first()


async def appeal_of(
    conn: DbConnection, *, sanction_id: int | None, case_id: int | None
) -> Row | None:
    clauses = []
    if sanction_id is not None:
        clauses.append(appeals.c.sanction_id == sanction_id)
    if case_id is not None:
        clauses.append(appeals.c.case_id == case_id)
    result = await conn.execute(select(appeals).where(or_(*clauses)))
    return result.first()


async def appeals_by(conn: DbConnection, appellant_id: int, *, after: int, limit: int) -> list[Row]:
    result = await conn.execute(
        select(appeals)
        .where(appeals.c.appellant_id == appellant_id, appeals.c.id > after)
        .order_by(appeals.c.id)
        .limit(limit)
    )
    return list(result)


async def appeal_queue(conn: DbConnection, *, state: str, after: int, limit: int) -> list[Row]:
    result = await conn.execute(
        select(appeals)
        .where(appeals.c.state == state, appeals.c.id > after)
        .order_by(appeals.c.id)
        .limit(limit)
    )
    return list(result)


async def decide_appeal(conn: DbConnection, appeal_id: int, **values: Any) -> Row:
    """Decide a pending appeal; the appeal as decided."""
    result = await conn.execute(
        update(appeals)
        .where(appeals.c.id == appeal_id, appeals.c.state == AppealState.PENDING)
        .values(**values)
        .returning(*appeals.c)
    )
    return result.one()
