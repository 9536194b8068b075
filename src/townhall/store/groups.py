"""Group life: a group's settings, its members' roles and mutes, join links, join requests, and
the membership history."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from townhall.domain.messaging import InvitationState, JoinRequestState
from townhall.store.database import DbConnection
from townhall.store.records import record_or_none, records
from townhall.store.schema import (
    conversations,
    invitations,
    join_links,
    join_requests,
    member_history,
    members,
)


@dataclass(frozen=True, slots=True)
class StoredJoinLink:
    id: int
    conversation_id: int
    token: str
    created_by: int
    created_at: int
    expires_at: int
    needs_approval: int
    revoked_at: int | None


@dataclass(frozen=True, slots=True)
class StoredJoinRequest:
    conversation_id: int
    account_id: int
    link_id: int
    state: str
    created_at: int
    answered_by: int | None
    answered_at: int | None


@dataclass(frozen=True, slots=True)
class MemberHistoryEntry:
    id: int
    conversation_id: int
    account_id: int
    change: str
    actor_id: int | None  # who invited, added, removed, promoted or muted them
    link_id: int | None  # the join link they came by
    at: int


@dataclass(frozen=True, slots=True)
class MemberChangeRow:
    """One history row to write: `account_id` underwent `change`, done by `actor_id`."""

    account_id: int
    change: str
    actor_id: int | None
    link_id: int | None = None


async def update_group(conn: DbConnection, conversation_id: int, **values: object) -> None:
    await conn.execute(
        update(conversations).where(conversations.c.id == conversation_id).values(**values)
    )


async def update_member(
    conn: DbConnection, conversation_id: int, account_id: int, **values: object
) -> None:
    await conn.execute(
        update(members)
        .where(members.c.conversation_id == conversation_id, members.c.account_id == account_id)
        .values(**values)
    )


async def delete_members(conn: DbConnection, conversation_id: int, account_ids: list[int]) -> None:
    await conn.execute(
        delete(members).where(
            members.c.conversation_id == conversation_id, members.c.account_id.in_(account_ids)
        )
    )


async def invite_again(
    conn: DbConnection,
    conversation_id: int,
    invitee_ids: list[int],
    *,
    inviter_id: int,
    now_ms: int,
) -> None:
    """Pending invitations for the invitees, replacing any earlier answer of theirs."""
    if not invitee_ids:
        return
    await conn.execute(
        delete(invitations).where(
            invitations.c.conversation_id == conversation_id,
            invitations.c.invitee_id.in_(invitee_ids),
        )
    )
    await conn.execute(
        insert(invitations),
        [
            {
                "conversation_id": conversation_id,
                "invitee_id": invitee_id,
                "inviter_id": inviter_id,
                "state": InvitationState.PENDING,
                "created_at": now_ms,
            }
            for invitee_id in invitee_ids
        ],
    )


# Join links --------------------------------------------------------------------------------------


async def insert_link(
    conn: DbConnection,
    conversation_id: int,
    *,
    token: str,
    created_by: int,
    now_ms: int,
    expires_at: int,
    needs_approval: bool,
) -> StoredJoinLink:
    result = await conn.execute(
        insert(join_links).values(
            conversation_id=conversation_id,
            token=token,
            created_by=created_by,
            created_at=now_ms,
            expires_at=expires_at,
            needs_approval=int(needs_approval),
        )
    )
    (link_id,) = result.inserted_primary_key
    return StoredJoinLink(
        id=int(link_id),
        conversation_id=conversation_id,
        token=token,
        created_by=created_by,
        created_at=now_ms,
        expires_at=expires_at,
        needs_approval=int(needs_approval),
        revoked_at=None,
    )


async def link_by_token(conn: DbConnection, token: str) -> StoredJoinLink | None:
    result = await conn.execute(select(join_links).where(join_links.c.token == token))
    return record_or_none(StoredJoinLink, result.first())


async def link(conn: DbConnection, conversation_id: int, link_id: int) -> StoredJoinLink | None:
    result = await conn.execute(
        select(join_links).where(
            join_links.c.id == link_id, join_links.c.conversation_id == conversation_id
        )
    )
    return record_or_none(StoredJoinLink, result.first())


async def live_links(
    conn: DbConnection, conversation_id: int, now_ms: int, *, after: int, limit: int
) -> list[StoredJoinLink]:
    """The group's links neither revoked nor expired with an id above `after`, oldest first."""
    result = await conn.execute(
        select(join_links)
        .where(
            join_links.c.conversation_id == conversation_id,
            join_links.c.revoked_at.is_(None),
            join_links.c.expires_at > now_ms,
            join_links.c.id > after,
        )
        .order_by(join_links.c.id)
        .limit(limit)
    )
    return records(StoredJoinLink, result)


async def revoke_link(conn: DbConnection, link_id: int, now_ms: int) -> None:
    await conn.execute(
        update(join_links)
        .where(join_links.c.id == link_id, join_links.c.revoked_at.is_(None))
        .values(revoked_at=now_ms)
    )


# Join requests -----------------------------------------------------------------------------------


async def request_to_join(
    conn: DbConnection, conversation_id: int, account_id: int, *, link_id: int, now_ms: int
) -> None:
    """A pending request, replacing an earlier answered one."""
    await conn.execute(
        delete(join_requests).where(
            join_requests.c.conversation_id == conversation_id,
            join_requests.c.account_id == account_id,
        )
    )
    await conn.execute(
        insert(join_requests).values(
            conversation_id=conversation_id,
            account_id=account_id,
            link_id=link_id,
            state=JoinRequestState.PENDING,
            created_at=now_ms,
        )
    )


async def join_request(
    conn: DbConnection, conversation_id: int, account_id: int
) -> StoredJoinRequest | None:
    result = await conn.execute(
        select(join_requests).where(
            join_requests.c.conversation_id == conversation_id,
            join_requests.c.account_id == account_id,
        )
    )
    return record_or_none(StoredJoinRequest, result.first())


async def join_requests_in(
    conn: DbConnection, conversation_id: int, state: str, *, after: int, limit: int
) -> list[StoredJoinRequest]:
    """The group's requests in a state from users with an id above `after`."""
    result = await conn.execute(
        select(join_requests)
        .where(
            join_requests.c.conversation_id == conversation_id,
            join_requests.c.state == state,
            join_requests.c.account_id > after,
        )
        .order_by(join_requests.c.account_id)
        .limit(limit)
    )
    return records(StoredJoinRequest, result)


async def withdraw_waiting(conn: DbConnection, account_id: int) -> list[int]:
    """Take back, in every group, the account's invitations and join requests still waiting;
    returns the groups whose requests they were."""
    await conn.execute(
        delete(invitations).where(
            invitations.c.invitee_id == account_id,
            invitations.c.state == InvitationState.PENDING,
        )
    )
    waiting = (
        join_requests.c.account_id == account_id,
        join_requests.c.state == JoinRequestState.PENDING,
    )
    asked = await conn.execute(
        select(join_requests.c.conversation_id)
        .where(*waiting)
        .order_by(join_requests.c.conversation_id)
    )
    conversation_ids = [row.conversation_id for row in asked]
    await conn.execute(delete(join_requests).where(*waiting))
    return conversation_ids


async def delete_pending_join_requests(
    conn: DbConnection, conversation_id: int, account_ids: Iterable[int]
) -> None:
    """Their requests to join the group still waiting: answered by their joining, or withdrawn
    by their leaving."""
    await conn.execute(
        delete(join_requests).where(
            join_requests.c.conversation_id == conversation_id,
            join_requests.c.account_id.in_(list(account_ids)),
            join_requests.c.state == JoinRequestState.PENDING,
        )
    )


async def answer_join_request(
    conn: DbConnection,
    conversation_id: int,
    account_id: int,
    *,
    state: str,
    answered_by: int,
    now_ms: int,
) -> None:
    await conn.execute(
        update(join_requests)
        .where(
            join_requests.c.conversation_id == conversation_id,
            join_requests.c.account_id == account_id,
        )
        .values(state=state, answered_by=answered_by, answered_at=now_ms)
    )


# Membership history ------------------------------------------------------------------------------


async def record_changes(
    conn: DbConnection, conversation_id: int, changes: Iterable[MemberChangeRow], now_ms: int
) -> None:
    rows = [
        {
            "conversation_id": conversation_id,
            "account_id": change.account_id,
            "change": change.change,
            "actor_id": change.actor_id,
            "link_id": change.link_id,
            "at": now_ms,
        }
        for change in changes
    ]
    if rows:
        await conn.execute(insert(member_history), rows)


async def history(
    conn: DbConnection, conversation_id: int, *, after: int, limit: int
) -> list[MemberHistoryEntry]:
    """The group's membership history after the entry with id `after`, oldest first."""
    result = await conn.execute(
        select(member_history)
        .where(member_history.c.conversation_id == conversation_id, member_history.c.id > after)
        .order_by(member_history.c.id)
        .limit(limit)
    )
    return records(MemberHistoryEntry, result)


async def dissolve(conn: DbConnection, conversation_id: int, now_ms: int) -> None:
    """No members, no pending invitations, no live links: only the history and messages stay."""
    await conn.execute(delete(members).where(members.c.conversation_id == conversation_id))
    await conn.execute(
        delete(invitations).where(
            invitations.c.conversation_id == conversation_id,
            invitations.c.state == InvitationState.PENDING,
        )
    )
    await conn.execute(
        update(join_links)
        .where(join_links.c.conversation_id == conversation_id, join_links.c.revoked_at.is_(None))
        .values(revoked_at=now_ms)
    )
    await update_group(conn, conversation_id, dissolved_at=now_ms)
