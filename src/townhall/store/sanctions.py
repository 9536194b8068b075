"""Sanctions and appeals: rows are never deleted; a sanction's state records how it ended."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, delete, insert, or_, select, update

from townhall.domain.enforcement import AppealState, SanctionState, SubjectType
from townhall.store.database import DbConnection
from townhall.store.prepared import prepared
from townhall.store.records import record, record_or_none, records
from townhall.store.schema import appeals, blacklist, members, sanctions


@dataclass(frozen=True, slots=True)
class StoredSanction:
    id: int
    subject_type: str
    subject_id: int
    person_key: str | None  # a user's: the blind index of the identity it was applied to
    kind: str
    member_id: int | None  # remove_rights
    case_id: int | None
    category: str | None
    severity: str | None
    points: int  # its strike
    ground: str
    reason: str  # the facts, as the statement of reasons gives them
    automated: int
    applied_by: int
    starts_at: int
    ends_at: int | None
    state: str
    ended_at: int | None
    ended_by: int | None
    end_reason: str | None
    undo: str | None  # JSON: what lifting it restores (a member's role)


@dataclass(frozen=True, slots=True)
class StoredAppeal:
    id: int
    sanction_id: int | None
    case_id: int | None
    appellant_id: int
    statement: str
    created_at: int
    state: str
    decided_by: int | None
    decided_at: int | None
    reason: str | None


async def insert_sanction(conn: DbConnection, **values: Any) -> StoredSanction:
    result = await conn.execute(insert(sanctions).values(**values).returning(*sanctions.c))
    return record(StoredSanction, result.one())


async def get(conn: DbConnection, sanction_id: int) -> StoredSanction | None:
    result = await conn.execute(select(sanctions).where(sanctions.c.id == sanction_id))
    return record_or_none(StoredSanction, result.first())


async def existing(conn: DbConnection, sanction_id: int) -> StoredSanction:
    """A sanction known to be there: named by a row that refers to it (an appeal)."""
    result = await conn.execute(select(sanctions).where(sanctions.c.id == sanction_id))
    return record(StoredSanction, result.one())


async def for_case(conn: DbConnection, case_id: int) -> StoredSanction | None:
    result = await conn.execute(select(sanctions).where(sanctions.c.case_id == case_id))
    return record_or_none(StoredSanction, result.first())


async def of_subject(
    conn: DbConnection, subject_type: str, subject_id: int
) -> list[StoredSanction]:
    """Every sanction the subject ever had, oldest first."""
    result = await conn.execute(
        select(sanctions)
        .where(sanctions.c.subject_type == subject_type, sanctions.c.subject_id == subject_id)
        .order_by(sanctions.c.id)
    )
    return records(StoredSanction, result)


def _persons_sanctions(key_matches: ColumnElement[bool]) -> Select[Any]:
    """A person's sanctions as a user: those of the account, and those whose person key
    matches. A None account id matches nothing."""
    return (
        select(sanctions)
        .where(
            sanctions.c.subject_type == SubjectType.USER,
            or_(key_matches, sanctions.c.subject_id == bindparam("account_id")),
        )
        .order_by(sanctions.c.id)
    )


# Built once: every signed-in request's standing reads them. An empty list of keys matches
# nothing. Most persons hold one identity, one key: their read is prepared (a list is
# expanded per call, which the inline reader's shortcut does not do).
_PERSONS_SANCTIONS = _persons_sanctions(
    sanctions.c.person_key.in_(bindparam("person_keys", expanding=True))
)
_ONE_KEYS_SANCTIONS = prepared(
    _persons_sanctions(sanctions.c.person_key == bindparam("person_key"))
)


async def of_person(
    conn: DbConnection, account_id: int | None, person_keys: Collection[str]
) -> list[StoredSanction]:
    """Every sanction a person ever had as a user, oldest first: those of the account, and those
    tied to any of the person's identities (blind indexes)."""
    if account_id is None and not person_keys:
        return []
    if len(person_keys) == 1:
        (person_key,) = person_keys
        one = {"account_id": account_id, "person_key": person_key}
        return records(StoredSanction, await conn.execute(_ONE_KEYS_SANCTIONS, one))
    several = {"account_id": account_id, "person_keys": list(person_keys)}
    return records(StoredSanction, await conn.execute(_PERSONS_SANCTIONS, several))


async def listing(
    conn: DbConnection,
    *,
    subject_type: str | None,
    subject_id: int | None,
    state: str | None,
    after: int,
    limit: int,
) -> list[StoredSanction]:
    query = select(sanctions).where(sanctions.c.id > after)
    if subject_type is not None:
        query = query.where(sanctions.c.subject_type == subject_type)
    if subject_id is not None:
        query = query.where(sanctions.c.subject_id == subject_id)
    if state is not None:
        query = query.where(sanctions.c.state == state)
    result = await conn.execute(query.order_by(sanctions.c.id).limit(limit))
    return records(StoredSanction, result)


async def due_to_expire(
    conn: DbConnection, now_ms: int, limit: int, *, to_end: bool = False
) -> list[StoredSanction]:
    """Active sanctions whose time is up. `to_end`: locked for the caller's transaction, less
    those another process is ending now (PostgreSQL; SQLite has one writer), so that neither
    process finds the other's end written under it."""
    query = (
        select(sanctions)
        .where(sanctions.c.state == SanctionState.ACTIVE, sanctions.c.ends_at <= now_ms)
        .order_by(sanctions.c.ends_at)
        .limit(limit)
    )
    if to_end:
        query = query.with_for_update(skip_locked=True)
    return records(StoredSanction, await conn.execute(query))


async def set_state(
    conn: DbConnection, sanction_id: int, was: str, **values: Any
) -> StoredSanction | None:
    """The sanction as it now stands; None if its state is no longer `was` (another process
    changed it since the caller read it)."""
    result = await conn.execute(
        update(sanctions)
        .where(sanctions.c.id == sanction_id, sanctions.c.state == was)
        .values(**values)
        .returning(*sanctions.c)
    )
    return record_or_none(StoredSanction, result.first())


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


async def insert_appeal(conn: DbConnection, **values: Any) -> StoredAppeal:
    result = await conn.execute(insert(appeals).values(**values).returning(*appeals.c))
    return record(StoredAppeal, result.one())


async def get_appeal(conn: DbConnection, appeal_id: int) -> StoredAppeal | None:
    result = await conn.execute(select(appeals).where(appeals.c.id == appeal_id))
    return record_or_none(StoredAppeal, result.first())


async def appeal_of(
    conn: DbConnection, *, sanction_id: int | None, case_id: int | None
) -> StoredAppeal | None:
    clauses = []
    if sanction_id is not None:
        clauses.append(appeals.c.sanction_id == sanction_id)
    if case_id is not None:
        clauses.append(appeals.c.case_id == case_id)
    result = await conn.execute(select(appeals).where(or_(*clauses)))
    return record_or_none(StoredAppeal, result.first())


async def appeals_by(
    conn: DbConnection, appellant_id: int, *, after: int, limit: int
) -> list[StoredAppeal]:
    result = await conn.execute(
        select(appeals)
        .where(appeals.c.appellant_id == appellant_id, appeals.c.id > after)
        .order_by(appeals.c.id)
        .limit(limit)
    )
    return records(StoredAppeal, result)


async def appeal_queue(
    conn: DbConnection, *, state: str, after: int, limit: int
) -> list[StoredAppeal]:
    result = await conn.execute(
        select(appeals)
        .where(appeals.c.state == state, appeals.c.id > after)
        .order_by(appeals.c.id)
        .limit(limit)
    )
    return records(StoredAppeal, result)


async def decide_appeal(conn: DbConnection, appeal_id: int, **values: Any) -> StoredAppeal | None:
    """Decide a pending appeal; the appeal as decided, or None if it is no longer pending
    (another process decided it since the caller read it)."""
    result = await conn.execute(
        update(appeals)
        .where(appeals.c.id == appeal_id, appeals.c.state == AppealState.PENDING)
        .values(**values)
        .returning(*appeals.c)
    )
    return record_or_none(StoredAppeal, result.first())
