"""Conversations, their members, and the invitations to groups."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update

from townhall.domain.messaging import InvitationState
from townhall.store.database import DbConnection
from townhall.store.records import record, record_or_none, records
from townhall.store.schema import conversations, invitations, members


@dataclass(frozen=True, slots=True)
class StoredConversation:
    id: int
    kind: str
    title: str | None
    description: str | None  # a group's
    direct_key: str | None  # a direct conversation's pair
    created_by: int
    created_at: int
    avatar: str | None  # a group's avatar reference; None: the default
    announcement: str | None
    mute_all: int  # 1: only the owner and admins of the group may send
    members_invite: int  # 1: every member may invite; 0: only the owner and admins
    dissolved_at: int | None


@dataclass(frozen=True, slots=True)
class StoredInvitation:
    conversation_id: int
    invitee_id: int
    inviter_id: int
    state: str
    created_at: int
    answered_at: int | None


@dataclass(frozen=True, slots=True)
class GroupInvitation(StoredInvitation):
    """An invitation with its group's title and description."""

    title: str | None
    description: str | None


async def insert_conversation(
    conn: DbConnection,
    *,
    kind: str,
    title: str | None,
    direct_key: str | None,
    created_by: int,
    now_ms: int,
    description: str | None = None,
) -> int:
    result = await conn.execute(
        insert(conversations).values(
            kind=kind,
            title=title,
            description=description,
            direct_key=direct_key,
            created_by=created_by,
            created_at=now_ms,
        )
    )
    (conversation_id,) = result.inserted_primary_key
    return int(conversation_id)


async def insert_members(
    conn: DbConnection, conversation_id: int, roles: dict[int, str], now_ms: int
) -> None:
    if not roles:
        return
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


async def find_direct(conn: DbConnection, direct_key: str) -> StoredConversation | None:
    result = await conn.execute(
        select(conversations).where(conversations.c.direct_key == direct_key)
    )
    return record_or_none(StoredConversation, result.first())


async def get(conn: DbConnection, conversation_id: int) -> StoredConversation | None:
    result = await conn.execute(select(conversations).where(conversations.c.id == conversation_id))
    return record_or_none(StoredConversation, result.first())


async def existing(conn: DbConnection, conversation_id: int) -> StoredConversation:
    """A conversation known to be there: just written, or one the caller is a member of."""
    result = await conn.execute(select(conversations).where(conversations.c.id == conversation_id))
    return record(StoredConversation, result.one())


async def member_roles(conn: DbConnection, conversation_id: int) -> dict[int, str]:
    result = await conn.execute(
        select(members.c.account_id, members.c.role)
        .where(members.c.conversation_id == conversation_id)
        .order_by(members.c.joined_at, members.c.account_id)
    )
    return {row.account_id: row.role for row in result}


async def roles_and_mutes(
    conn: DbConnection, conversation_id: int
) -> tuple[dict[int, str], frozenset[int]]:
    """Each member's role, in the order they joined, and which of them are muted: one read."""
    return (await roles_and_mutes_of(conn, [conversation_id]))[conversation_id]


async def roles_and_mutes_of(
    conn: DbConnection, conversation_ids: list[int]
) -> dict[int, tuple[dict[int, str], frozenset[int]]]:
    """`roles_and_mutes` of each of the conversations, in one read."""
    result = await conn.execute(
        select(members.c.conversation_id, members.c.account_id, members.c.role, members.c.muted)
        .where(members.c.conversation_id.in_(conversation_ids))
        .order_by(members.c.conversation_id, members.c.joined_at, members.c.account_id)
    )
    roles: dict[int, dict[int, str]] = {conversation_id: {} for conversation_id in conversation_ids}
    muted: dict[int, set[int]] = {conversation_id: set() for conversation_id in conversation_ids}
    for row in result:
        roles[row.conversation_id][row.account_id] = row.role
        if row.muted:
            muted[row.conversation_id].add(row.account_id)
    return {key: (roles[key], frozenset(muted[key])) for key in conversation_ids}


async def list_for_account(
    conn: DbConnection, account_id: int, *, after: int, limit: int
) -> list[StoredConversation]:
    """The account's conversations with an id above `after`, oldest first."""
    result = await conn.execute(
        select(conversations)
        .join(members, members.c.conversation_id == conversations.c.id)
        .where(members.c.account_id == account_id, conversations.c.id > after)
        .order_by(conversations.c.id)
        .limit(limit)
    )
    return records(StoredConversation, result)


async def created_since(conn: DbConnection, account_id: int, kind: str, since_ms: int) -> list[int]:
    """When each conversation of a kind the account created since then was created, oldest first."""
    result = await conn.execute(
        select(conversations.c.created_at)
        .where(
            conversations.c.created_by == account_id,
            conversations.c.kind == kind,
            conversations.c.created_at > since_ms,
        )
        .order_by(conversations.c.created_at)
    )
    return list(result.scalars())


async def count_memberships(conn: DbConnection, account_id: int, kind: str) -> int:
    count = await conn.scalar(
        select(func.count())
        .select_from(members.join(conversations, conversations.c.id == members.c.conversation_id))
        .where(members.c.account_id == account_id, conversations.c.kind == kind)
    )
    return count or 0


async def ids_of_member(conn: DbConnection, account_id: int, kind: str) -> list[int]:
    """The conversations of a kind the account is a member of, by id."""
    result = await conn.execute(
        select(members.c.conversation_id)
        .join(conversations, conversations.c.id == members.c.conversation_id)
        .where(members.c.account_id == account_id, conversations.c.kind == kind)
        .order_by(members.c.conversation_id)
    )
    return list(result.scalars())


# Invitations -------------------------------------------------------------------------------------


async def insert_invitations(
    conn: DbConnection,
    conversation_id: int,
    invitee_ids: list[int],
    *,
    inviter_id: int,
    state: str,
    now_ms: int,
) -> None:
    if invitee_ids:
        await conn.execute(
            insert(invitations),
            [
                {
                    "conversation_id": conversation_id,
                    "invitee_id": invitee_id,
                    "inviter_id": inviter_id,
                    "state": state,
                    "created_at": now_ms,
                }
                for invitee_id in invitee_ids
            ],
        )


async def invitation(
    conn: DbConnection, conversation_id: int, invitee_id: int
) -> StoredInvitation | None:
    result = await conn.execute(
        select(invitations).where(
            invitations.c.conversation_id == conversation_id,
            invitations.c.invitee_id == invitee_id,
        )
    )
    return record_or_none(StoredInvitation, result.first())


async def invitations_of(
    conn: DbConnection, invitee_id: int, state: str, *, after: int, limit: int
) -> list[GroupInvitation]:
    """The invitations of an account in a state, each with its group's title and description,
    to groups with an id above `after`; oldest first (a group invites only when it is made)."""
    result = await conn.execute(
        select(invitations, conversations.c.title, conversations.c.description)
        .join(conversations, conversations.c.id == invitations.c.conversation_id)
        .where(
            invitations.c.invitee_id == invitee_id,
            invitations.c.state == state,
            invitations.c.conversation_id > after,
        )
        .order_by(invitations.c.conversation_id)
        .limit(limit)
    )
    return records(GroupInvitation, result)


async def answer_invitation(
    conn: DbConnection, conversation_id: int, invitee_id: int, *, state: str, now_ms: int
) -> None:
    await conn.execute(
        update(invitations)
        .where(
            invitations.c.conversation_id == conversation_id,
            invitations.c.invitee_id == invitee_id,
        )
        .values(state=state, answered_at=now_ms)
    )


async def answer_pending_invitations(
    conn: DbConnection, conversation_id: int, invitee_ids: list[int], *, state: str, now_ms: int
) -> None:
    """Answer whichever of the invitees' invitations to the group still wait."""
    await conn.execute(
        update(invitations)
        .where(
            invitations.c.conversation_id == conversation_id,
            invitations.c.invitee_id.in_(invitee_ids),
            invitations.c.state == InvitationState.PENDING,
        )
        .values(state=state, answered_at=now_ms)
    )


async def delete_pending_invitations(
    conn: DbConnection, conversation_id: int, invitee_ids: list[int]
) -> None:
    """Withdraw whichever of the invitees' invitations to the group still wait."""
    await conn.execute(
        delete(invitations).where(
            invitations.c.conversation_id == conversation_id,
            invitations.c.invitee_id.in_(invitee_ids),
            invitations.c.state == InvitationState.PENDING,
        )
    )
