"""Accounts, their sealed identities and agreement acceptances."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import bindparam, exists, insert, or_, select, update

from townhall.domain.accounts import AccountStatus, Role
from townhall.domain.messaging import ConversationKind, InvitationState, JoinRequestState
from townhall.store.database import DbConnection
from townhall.store.prepared import prepared
from townhall.store.records import record_or_none
from townhall.store.schema import (
    accounts,
    agreement_acceptances,
    contacts,
    conversations,
    friend_requests,
    invitations,
    join_requests,
    members,
)


@dataclass(frozen=True, slots=True)
class StoredAccount:
    id: int
    handle: str
    display_name: str
    password_hash: str = field(repr=False)
    status: str
    created_at: int
    role: str
    bio: str


async def insert_account(
    conn: DbConnection,
    *,
    handle: str,
    display_name: str,
    password_hash: str,
    status: str,
    now_ms: int,
    role: str = "user",
) -> int:
    result = await conn.execute(
        insert(accounts).values(
            handle=handle,
            display_name=display_name,
            password_hash=password_hash,
            status=status,
            created_at=now_ms,
            role=role,
        )
    )
    (account_id,) = result.inserted_primary_key
    return int(account_id)


async def handle_taken(conn: DbConnection, handle: str) -> bool:
    found = await conn.scalar(select(accounts.c.id).where(accounts.c.handle == handle))
    return found is not None


async def find_by_handle(conn: DbConnection, handle: str) -> StoredAccount | None:
    result = await conn.execute(select(accounts).where(accounts.c.handle == handle))
    return record_or_none(StoredAccount, result.first())


# Built once: a request reads an account, its agreement and its identity, and building a
# statement and its cache key cost more than running it.
_ACCOUNT = prepared(select(accounts).where(accounts.c.id == bindparam("account_id")))
_ACCEPTED_AGREEMENT = prepared(
    select(agreement_acceptances.c.version)
    .where(agreement_acceptances.c.account_id == bindparam("account_id"))
    .order_by(agreement_acceptances.c.accepted_at.desc())
    .limit(1)
)


async def get(conn: DbConnection, account_id: int) -> StoredAccount | None:
    result = await conn.execute(_ACCOUNT, {"account_id": account_id})
    return record_or_none(StoredAccount, result.first())


async def ids_with_role(conn: DbConnection, role: str) -> list[int]:
    result = await conn.execute(
        select(accounts.c.id).where(accounts.c.role == role).order_by(accounts.c.id)
    )
    return [row.id for row in result]


async def active_user_ids(conn: DbConnection, account_ids: Iterable[int]) -> set[int]:
    """Those of `account_ids` that are users' accounts (not staff's) and not deregistered."""
    wanted = list(set(account_ids))
    result = await conn.execute(
        select(accounts.c.id).where(
            accounts.c.id.in_(wanted),
            accounts.c.role == Role.USER,
            accounts.c.status == AccountStatus.ACTIVE,
        )
    )
    return {row.id for row in result}


async def deregistered_among(conn: DbConnection, account_ids: Iterable[int]) -> set[int]:
    """Those of `account_ids` whose holders deregistered (users' or staff's)."""
    result = await conn.execute(
        select(accounts.c.id).where(
            accounts.c.id.in_(list(set(account_ids))),
            accounts.c.status == AccountStatus.DEREGISTERED,
        )
    )
    return {row.id for row in result}


async def record_agreement(
    conn: DbConnection, *, account_id: int, version: str, ip: str | None, now_ms: int
) -> None:
    await conn.execute(
        insert(agreement_acceptances).values(
            account_id=account_id, version=version, accepted_at=now_ms, ip=ip
        )
    )


async def accepted_agreement(conn: DbConnection, account_id: int) -> str | None:
    """The version the account accepted last."""
    version: str | None = await conn.scalar(_ACCEPTED_AGREEMENT, {"account_id": account_id})
    return version


async def has_accepted(conn: DbConnection, account_id: int, version: str) -> bool:
    found = await conn.scalar(
        select(agreement_acceptances.c.version).where(
            agreement_acceptances.c.account_id == account_id,
            agreement_acceptances.c.version == version,
        )
    )
    return found is not None


# A '~' can never start a handle a user chooses (domain.accounts.HANDLE_PATTERN), so nobody can
# take this name first and make the erasure fail.
DEREGISTERED_HANDLE_PREFIX = "~deleted-"


async def update_profile(conn: DbConnection, account_id: int, **values: str) -> None:
    await conn.execute(update(accounts).where(accounts.c.id == account_id).values(**values))


async def erase_profile(conn: DbConnection, account_id: int, *, status: str) -> None:
    """Deregistration: the chosen profile and the credentials go; the id stays for history."""
    await conn.execute(
        update(accounts)
        .where(accounts.c.id == account_id)
        .values(
            handle=f"{DEREGISTERED_HANDLE_PREFIX}{account_id}",
            display_name="",
            bio="",
            password_hash="",
            status=status,
        )
    )


async def deregistered_with_ties(conn: DbConnection, *, after: int, limit: int) -> list[int]:
    """Deregistered accounts, by id after `after`, still in a group, tied to anyone either way,
    or with a friend request, an invitation or a join request: accounts deregistered by a
    release before deregistering cut these still hold them."""
    account_id = accounts.c.id
    in_a_group = (
        select(members.c.account_id)
        .join(conversations, conversations.c.id == members.c.conversation_id)
        .where(members.c.account_id == account_id, conversations.c.kind == ConversationKind.GROUP)
    )
    held = or_(
        exists(in_a_group),
        exists().where(contacts.c.owner_id == account_id),
        exists().where(contacts.c.contact_id == account_id),
        exists().where(friend_requests.c.requester_id == account_id),
        exists().where(friend_requests.c.addressee_id == account_id),
        exists().where(
            invitations.c.invitee_id == account_id,
            invitations.c.state == InvitationState.PENDING,
        ),
        exists().where(
            join_requests.c.account_id == account_id,
            join_requests.c.state == JoinRequestState.PENDING,
        ),
    )
    result = await conn.execute(
        select(account_id)
        .where(accounts.c.status == AccountStatus.DEREGISTERED, account_id > after, held)
        .order_by(account_id)
        .limit(limit)
    )
    return list(result.scalars())


async def replace_password_hash(
    conn: DbConnection, account_id: int, *, was: str, password_hash: str
) -> bool:
    """Set the hash if it is still `was`; False when another change came first."""
    result = await conn.execute(
        update(accounts)
        .where(accounts.c.id == account_id, accounts.c.password_hash == was)
        .values(password_hash=password_hash)
    )
    replaced: bool = result.rowcount == 1
    return replaced
