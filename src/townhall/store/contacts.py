"""Contacts: each user's side of their ties to others (friend, remark, block), friend requests,
and finding a user by handle or, where they allow it, by the keyed hash of their phone."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, delete, or_, select, update

from townhall.domain.messaging import MemberRole
from townhall.store.database import DbConnection
from townhall.store.on_conflict import insert_on_conflict
from townhall.store.records import record_or_none, records
from townhall.store.schema import (
    accounts,
    contact_settings,
    contacts,
    friend_requests,
    identities,
    invitations,
    join_requests,
    member_history,
    members,
)


@dataclass(frozen=True, slots=True)
class StoredTie:
    """One user's side of their tie to another."""

    owner_id: int
    contact_id: int
    friend_since: int | None
    remark: str | None
    blocked_at: int | None
    updated_at: int


@dataclass(frozen=True, slots=True)
class StoredRequest:
    requester_id: int
    addressee_id: int
    state: str
    greeting: str
    greetings: int
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class UserCard:
    """What anyone who finds a user sees of them."""

    id: int
    handle: str
    display_name: str


async def tie(conn: DbConnection, owner_id: int, contact_id: int) -> StoredTie | None:
    result = await conn.execute(
        select(contacts).where(contacts.c.owner_id == owner_id, contacts.c.contact_id == contact_id)
    )
    return record_or_none(StoredTie, result.first())


async def ties_between(conn: DbConnection, first_id: int, second_id: int) -> list[StoredTie]:
    """Both sides of a pair's tie, as far as either has one."""
    result = await conn.execute(
        select(contacts).where(
            (contacts.c.owner_id == first_id) & (contacts.c.contact_id == second_id)
            | (contacts.c.owner_id == second_id) & (contacts.c.contact_id == first_id)
        )
    )
    return records(StoredTie, result)


async def save_tie(
    conn: DbConnection, owner_id: int, contact_id: int, *, now_ms: int, **values: object
) -> StoredTie:
    """Write the named columns of one side of a tie (made if it had none); returns it."""
    statement = insert_on_conflict(contacts).values(
        owner_id=owner_id, contact_id=contact_id, updated_at=now_ms, **values
    )
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[contacts.c.owner_id, contacts.c.contact_id],
            set_={"updated_at": now_ms, **values},
        )
    )
    saved = await tie(conn, owner_id, contact_id)
    assert saved is not None
    return saved


async def ties_with(conn: DbConnection, account_id: int) -> list[StoredTie]:
    """Every side of every tie the account is in: its own and others' of it."""
    result = await conn.execute(
        select(contacts).where(
            (contacts.c.owner_id == account_id) | (contacts.c.contact_id == account_id)
        )
    )
    return records(StoredTie, result)


async def delete_ties_with(conn: DbConnection, account_id: int) -> None:
    """Both sides of every tie the account is in, and every friend request between it and
    anyone, open or answered."""
    await conn.execute(
        delete(contacts).where(
            (contacts.c.owner_id == account_id) | (contacts.c.contact_id == account_id)
        )
    )
    await conn.execute(
        delete(friend_requests).where(
            (friend_requests.c.requester_id == account_id)
            | (friend_requests.c.addressee_id == account_id)
        )
    )


async def ties_of(conn: DbConnection, owner_id: int, *, after: int, limit: int) -> list[StoredTie]:
    """The owner's friends and the users they block, by the other's id after `after`."""
    result = await conn.execute(
        select(contacts)
        .where(
            contacts.c.owner_id == owner_id,
            contacts.c.contact_id > after,
            contacts.c.friend_since.is_not(None) | contacts.c.blocked_at.is_not(None),
        )
        .order_by(contacts.c.contact_id)
        .limit(limit)
    )
    return records(StoredTie, result)


async def friends_among(
    conn: DbConnection, user_id: int, candidate_ids: Collection[int]
) -> set[int]:
    """Those of `candidate_ids` who are `user_id`'s friends (each side's tie says so)."""
    candidates = list(candidate_ids)
    theirs = select(contacts.c.owner_id).where(
        contacts.c.contact_id == user_id,
        contacts.c.owner_id.in_(candidates),
        contacts.c.friend_since.is_not(None),
    )
    result = await conn.execute(
        select(contacts.c.contact_id).where(
            contacts.c.owner_id == user_id,
            contacts.c.contact_id.in_(theirs),
            contacts.c.friend_since.is_not(None),
        )
    )
    return set(result.scalars())


async def blockers_among(
    conn: DbConnection, blocked_id: int, owner_ids: Collection[int]
) -> set[int]:
    """Those of `owner_ids` who block `blocked_id`."""
    result = await conn.execute(
        select(contacts.c.owner_id).where(
            contacts.c.contact_id == blocked_id,
            contacts.c.owner_id.in_(list(owner_ids)),
            contacts.c.blocked_at.is_not(None),
        )
    )
    return set(result.scalars())


async def blocked_either_way(
    conn: DbConnection, account_id: int, other_ids: Collection[int]
) -> set[int]:
    """Those of `other_ids` who block `account_id` or whom it blocks."""
    others = list(other_ids)
    result = await conn.execute(
        select(contacts.c.owner_id, contacts.c.contact_id).where(
            contacts.c.blocked_at.is_not(None),
            (contacts.c.owner_id == account_id) & contacts.c.contact_id.in_(others)
            | (contacts.c.contact_id == account_id) & contacts.c.owner_id.in_(others),
        )
    )
    return {contact_id if owner_id == account_id else owner_id for owner_id, contact_id in result}


async def request(conn: DbConnection, requester_id: int, addressee_id: int) -> StoredRequest | None:
    result = await conn.execute(
        select(friend_requests).where(
            friend_requests.c.requester_id == requester_id,
            friend_requests.c.addressee_id == addressee_id,
        )
    )
    return record_or_none(StoredRequest, result.first())


async def open_request(
    conn: DbConnection,
    requester_id: int,
    addressee_id: int,
    *,
    greeting: str,
    state: str,
    now_ms: int,
) -> StoredRequest:
    """A request with its first greeting, made anew over an answered one."""
    values = {"state": state, "greeting": greeting, "greetings": 1, "created_at": now_ms}
    statement = insert_on_conflict(friend_requests).values(
        requester_id=requester_id, addressee_id=addressee_id, updated_at=now_ms, **values
    )
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[friend_requests.c.requester_id, friend_requests.c.addressee_id],
            set_={"updated_at": now_ms, **values},
        )
    )
    return await _stored_request(conn, requester_id, addressee_id)


async def update_request(
    conn: DbConnection, requester_id: int, addressee_id: int, *, now_ms: int, **values: object
) -> StoredRequest:
    await conn.execute(
        update(friend_requests)
        .where(
            friend_requests.c.requester_id == requester_id,
            friend_requests.c.addressee_id == addressee_id,
        )
        .values(updated_at=now_ms, **values)
    )
    return await _stored_request(conn, requester_id, addressee_id)


async def _stored_request(
    conn: DbConnection, requester_id: int, addressee_id: int
) -> StoredRequest:
    saved = await request(conn, requester_id, addressee_id)
    assert saved is not None
    return saved


async def requests_to(
    conn: DbConnection, addressee_id: int, *, state: str, after: int, limit: int
) -> list[StoredRequest]:
    """Requests in `state` to the addressee, by requester id after `after`, leaving out those
    between two of whom either blocks the other (a requester who blocks since asking has
    taken the request back)."""
    blocked = contacts.alias("blocked")
    addressee, requester = friend_requests.c.addressee_id, friend_requests.c.requester_id
    result = await conn.execute(
        select(friend_requests)
        .outerjoin(
            blocked,
            and_(
                or_(
                    and_(blocked.c.owner_id == addressee, blocked.c.contact_id == requester),
                    and_(blocked.c.owner_id == requester, blocked.c.contact_id == addressee),
                ),
                blocked.c.blocked_at.is_not(None),
            ),
        )
        .where(
            friend_requests.c.addressee_id == addressee_id,
            friend_requests.c.state == state,
            friend_requests.c.requester_id > after,
            blocked.c.owner_id.is_(None),
        )
        .order_by(friend_requests.c.requester_id)
        .limit(limit)
    )
    return records(StoredRequest, result)


def _cards(active: str, role: str) -> Select[tuple[int, str, str]]:
    return select(accounts.c.id, accounts.c.handle, accounts.c.display_name).where(
        accounts.c.status == active, accounts.c.role == role
    )


async def with_handle(conn: DbConnection, handle: str, *, active: str, role: str) -> list[UserCard]:
    result = await conn.execute(_cards(active, role).where(accounts.c.handle == handle))
    return records(UserCard, result)


@dataclass(frozen=True, slots=True)
class StaffCard:
    """A user or staff account as the desks see it, whatever its status."""

    id: int
    handle: str
    display_name: str
    role: str
    status: str


async def staff_cards(
    conn: DbConnection, *, ids: Collection[int], handle: str | None
) -> list[StaffCard]:
    """The accounts with any of `ids`, and the one with `handle`, by id."""
    clauses: list[ColumnElement[bool]] = []
    if ids:
        clauses.append(accounts.c.id.in_(list(ids)))
    if handle is not None:
        clauses.append(accounts.c.handle == handle)
    if not clauses:
        return []
    result = await conn.execute(
        select(
            accounts.c.id,
            accounts.c.handle,
            accounts.c.display_name,
            accounts.c.role,
            accounts.c.status,
        )
        .where(or_(*clauses))
        .order_by(accounts.c.id)
    )
    return records(StaffCard, result)


async def known_to(
    conn: DbConnection, viewer_id: int, user_ids: Collection[int], *, active: str, role: str
) -> list[UserCard]:
    """The cards of those of `user_ids` the viewer knows: themselves, anyone who is or was a
    member of a conversation the viewer is in, their contacts, anyone a friend request is
    open or was answered between them, whoever invited them to a group, and whoever asked to
    join by link a group they run."""
    mine = select(members.c.conversation_id).where(members.c.account_id == viewer_id)
    run = mine.where(members.c.role.in_((MemberRole.OWNER, MemberRole.ADMIN)))
    known = or_(
        accounts.c.id == viewer_id,
        select(members.c.account_id)
        .where(members.c.conversation_id.in_(mine), members.c.account_id == accounts.c.id)
        .exists(),
        select(member_history.c.id)
        .where(
            member_history.c.conversation_id.in_(mine),
            member_history.c.account_id == accounts.c.id,
        )
        .exists(),
        select(contacts.c.owner_id)
        .where(contacts.c.owner_id == viewer_id, contacts.c.contact_id == accounts.c.id)
        .exists(),
        select(friend_requests.c.state)
        .where(
            or_(
                and_(
                    friend_requests.c.requester_id == viewer_id,
                    friend_requests.c.addressee_id == accounts.c.id,
                ),
                and_(
                    friend_requests.c.requester_id == accounts.c.id,
                    friend_requests.c.addressee_id == viewer_id,
                ),
            )
        )
        .exists(),
        select(invitations.c.state)
        .where(invitations.c.invitee_id == viewer_id, invitations.c.inviter_id == accounts.c.id)
        .exists(),
        select(join_requests.c.state)
        .where(
            join_requests.c.conversation_id.in_(run), join_requests.c.account_id == accounts.c.id
        )
        .exists(),
    )
    result = await conn.execute(
        _cards(active, role).where(accounts.c.id.in_(user_ids), known).order_by(accounts.c.id)
    )
    return records(UserCard, result)


async def with_phone(
    conn: DbConnection, phone_index: str, *, active: str, role: str
) -> list[UserCard]:
    """The users on file with this phone who allow being found by it: one indexed read, whether
    the phone is on file or not, and whether or not they allow it."""
    result = await conn.execute(
        _cards(active, role)
        .join(identities, identities.c.account_id == accounts.c.id)
        .join(contact_settings, contact_settings.c.account_id == accounts.c.id)
        .where(
            identities.c.phone_index == phone_index,
            contact_settings.c.findable_by_phone.is_(True),
        )
        .order_by(accounts.c.id)
    )
    return records(UserCard, result)


async def findable_by_phone(conn: DbConnection, account_id: int) -> bool:
    return bool(
        await conn.scalar(
            select(contact_settings.c.findable_by_phone).where(
                contact_settings.c.account_id == account_id
            )
        )
    )


async def set_findable_by_phone(conn: DbConnection, account_id: int, findable: bool) -> None:
    statement = insert_on_conflict(contact_settings).values(
        account_id=account_id, findable_by_phone=findable
    )
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[contact_settings.c.account_id],
            set_={"findable_by_phone": findable},
        )
    )
