"""Persons: identities (blind indexes) established to belong to one person, and their accounts.

A person is a set of blind indexes sharing one `person_key`; an identity never linked is a
person of its own, keyed by its blind index, with no row here.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, insert, select, update

from townhall.store.database import DbConnection
from townhall.store.prepared import prepared
from townhall.store.records import records
from townhall.store.schema import accounts, identities, identity_links


@dataclass(frozen=True, slots=True)
class IdentityLink:
    """An identity (blind index) linked into a person."""

    blind_index: str
    person_key: str
    source: str  # same_phone | reviewer
    linked_by: int | None  # None: automatic
    linked_at: int


# Built once: every signed-in request's standing reads them.
_PERSON_KEY = prepared(
    select(identity_links.c.person_key).where(
        identity_links.c.blind_index == bindparam("blind_index")
    )
)
_PERSONS_INDEXES = prepared(
    select(identity_links.c.blind_index).where(
        identity_links.c.person_key == bindparam("person_key")
    )
)


async def keys_of(conn: DbConnection, blind_index: str) -> frozenset[str]:
    """Every blind index of the person who holds `blind_index`, itself included."""
    person_key = await conn.scalar(_PERSON_KEY, {"blind_index": blind_index})
    if person_key is None:
        return frozenset({blind_index})
    result = await conn.execute(_PERSONS_INDEXES, {"person_key": person_key})
    return frozenset({blind_index, *result.scalars()})


async def link(
    conn: DbConnection,
    first: str,
    second: str,
    *,
    source: str,
    linked_by: int | None,
    now_ms: int,
) -> bool:
    """Make two identities one person (their persons merge); False if they already were."""
    first_keys, second_keys = await keys_of(conn, first), await keys_of(conn, second)
    if second in first_keys:
        return False
    person_key = await _person_key(conn, first) or first
    await conn.execute(
        update(identity_links)
        .where(identity_links.c.blind_index.in_(second_keys))
        .values(person_key=person_key)
    )
    linked = await conn.execute(
        select(identity_links.c.blind_index).where(identity_links.c.person_key == person_key)
    )
    missing = (first_keys | second_keys) - set(linked.scalars())
    if missing:
        await conn.execute(
            insert(identity_links),
            [
                {
                    "blind_index": key,
                    "person_key": person_key,
                    "source": source,
                    "linked_by": linked_by,
                    "linked_at": now_ms,
                }
                for key in sorted(missing)
            ],
        )
    return True


async def unlink(conn: DbConnection, blind_index: str) -> bool:
    """Take an identity out of its person; False if it was linked to none."""
    person_key = await _person_key(conn, blind_index)
    if person_key is None:
        return False
    await conn.execute(delete(identity_links).where(identity_links.c.blind_index == blind_index))
    left = await conn.scalar(select(func.count()).where(identity_links.c.person_key == person_key))
    if left == 1:  # a person of one needs no row
        await conn.execute(delete(identity_links).where(identity_links.c.person_key == person_key))
    return True


async def _person_key(conn: DbConnection, blind_index: str) -> str | None:
    person_key: str | None = await conn.scalar(
        select(identity_links.c.person_key).where(identity_links.c.blind_index == blind_index)
    )
    return person_key


async def with_phone(conn: DbConnection, phone_index: str) -> frozenset[str]:
    """The blind indexes of the identities on file with this phone."""
    result = await conn.execute(
        select(identities.c.blind_index).where(identities.c.phone_index == phone_index).distinct()
    )
    return frozenset(result.scalars())


async def accounts_of(conn: DbConnection, keys: Collection[str], *, active: str) -> list[int]:
    """The accounts in use that hold one of these identities."""
    result = await conn.execute(
        select(identities.c.account_id)
        .join(accounts, accounts.c.id == identities.c.account_id)
        .where(identities.c.blind_index.in_(keys), accounts.c.status == active)
        .order_by(identities.c.account_id)
    )
    return list(result.scalars())


async def links_of(conn: DbConnection, keys: Collection[str]) -> list[IdentityLink]:
    result = await conn.execute(
        select(identity_links).where(identity_links.c.blind_index.in_(keys))
    )
    return records(IdentityLink, result)
