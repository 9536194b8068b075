"""Join links (the payload of a group's QR code): made and revoked by the owner and admins,
expiring after the pack's days, refused past the pack's group size, and, when the link says so,
admitting only after an admin approves the request."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from townhall.domain.enforcement import DAY_MS, Capability
from townhall.domain.errors import Conflict, ErrorCode, NotFound, PolicyRefusal
from townhall.domain.messaging import JoinRequestChange, JoinRequestState
from townhall.domain.permissions import Permission
from townhall.services.enforcement import Enforcement
from townhall.services.group_changes import Group, GroupChanges
from townhall.services.principal import Principal, require
from townhall.services.rendering import ConversationView
from townhall.store import groups as group_store
from townhall.store.database import Database, DbConnection
from townhall.store.groups import StoredJoinLink, StoredJoinRequest

TOKEN_BYTES = 24  # 32 characters of base64url: not guessable


@dataclass(frozen=True, slots=True)
class Joined:
    """What a join by link did: the group joined, or a request waiting for an admin."""

    conversation_id: int
    group: ConversationView | None  # None: the request waits for approval


@dataclass(frozen=True, slots=True)
class LinkPreview:
    """What a link leads to, as its holder sees it before joining."""

    conversation_id: int
    title: str | None
    members: int
    needs_approval: bool
    expires_at: int
    member: bool  # the holder is in the group already


class JoinLinks:
    def __init__(self, database: Database, changes: GroupChanges, enforcement: Enforcement) -> None:
        self._db = database
        self._changes = changes
        self._enforcement = enforcement

    async def create(
        self,
        actor: Principal,
        conversation_id: int,
        *,
        expires_in_seconds: int | None,
        needs_approval: bool,
    ) -> StoredJoinLink:
        """A new link to the group; it works for `expires_in_seconds` (by default the pack's
        `join_link_days`)."""
        await self._may(actor, Capability.SEND_GROUP)
        lifetime_ms = (
            expires_in_seconds * 1000
            if expires_in_seconds is not None
            else self._changes.rules.join_link_days * DAY_MS
        )
        now_ms = self._changes.now_ms()
        async with self._db.writing() as conn:
            # A manager first: an outsider learns nothing of the group's sanctions.
            await self._changes.managed(conn, actor, conversation_id)
            await self._enforcement.require_group_open(conversation_id)
            return await group_store.insert_link(
                conn,
                conversation_id,
                token=secrets.token_urlsafe(TOKEN_BYTES),
                created_by=actor.account_id,
                now_ms=now_ms,
                expires_at=now_ms + lifetime_ms,
                needs_approval=needs_approval,
            )

    async def links(
        self, actor: Principal, conversation_id: int, *, after: int | None, limit: int
    ) -> list[StoredJoinLink]:
        """The group's links that still work, for its owner and admins, after link `after`."""
        async with self._db.reading() as conn:
            await self._changes.managed(conn, actor, conversation_id)
            return await group_store.live_links(
                conn, conversation_id, self._changes.now_ms(), after=after or 0, limit=limit
            )

    async def revoke(self, actor: Principal, conversation_id: int, link_id: int) -> None:
        await self._may(actor, Capability.INTERACT)
        async with self._db.writing() as conn:
            await self._changes.managed(conn, actor, conversation_id)
            if await group_store.link(conn, conversation_id, link_id) is None:
                raise NotFound("no such join link", code=ErrorCode.JOIN_LINK_NOT_FOUND)
            await group_store.revoke_link(conn, link_id, self._changes.now_ms())

    async def preview(self, actor: Principal, token: str) -> LinkPreview:
        """The group a link leads to, its size and whether an admin must approve, so that its
        holder knows what they join: what a QR code's scan shows. The link's own refusals
        (unknown, revoked, expired) come now rather than at the join, and so do the holder's
        sanctions that would refuse it."""
        await self._may(actor, Capability.INTERACT)
        async with self._db.reading() as conn:
            link = await self._working_link(conn, token)
            group = await self._changes.existing(conn, link.conversation_id)
        return LinkPreview(
            conversation_id=link.conversation_id,
            title=group.row.title,
            members=len(group.roles),
            needs_approval=bool(link.needs_approval),
            expires_at=link.expires_at,
            member=actor.account_id in group.roles,
        )

    async def join(self, actor: Principal, token: str) -> Joined:
        """Join the group a link leads to, or ask to when the link needs an admin's approval."""
        await self._may(actor, Capability.INTERACT)
        verified = await self._changes.verified([actor.account_id])
        async with self._db.writing() as conn:
            link = await self._working_link(conn, token)
            await self._enforcement.require_group_open(link.conversation_id)
            group = await self._joinable(conn, link.conversation_id, actor.account_id)
            if link.needs_approval:
                await group_store.request_to_join(
                    conn,
                    link.conversation_id,
                    actor.account_id,
                    link_id=link.id,
                    now_ms=self._changes.now_ms(),
                )
                # Its owner and admins, and nobody else, hear of the request at once.
                await self._changes.tell_managers(
                    conn,
                    link.conversation_id,
                    {
                        "action": JoinRequestChange.REQUESTED,
                        "by": actor.account_id,
                        "user_ids": [actor.account_id],
                    },
                )
                return Joined(link.conversation_id, None)
            joiner = [actor.account_id]
            await self._changes.require_may_join(conn, group, joiner, verified)
            view = await self._changes.add_members(
                conn, group, joiner, actor_id=link.created_by, link_id=link.id
            )
            return Joined(link.conversation_id, view)

    async def requests(
        self, actor: Principal, conversation_id: int, *, after: int | None, limit: int
    ) -> list[StoredJoinRequest]:
        """The requests to join waiting for the owner's or an admin's answer."""
        async with self._db.reading() as conn:
            await self._changes.managed(conn, actor, conversation_id)
            return await group_store.join_requests_in(
                conn, conversation_id, JoinRequestState.PENDING, after=after or 0, limit=limit
            )

    async def approve(
        self, actor: Principal, conversation_id: int, user_id: int
    ) -> ConversationView:
        await self._may(actor, Capability.INTERACT)
        verified = await self._changes.verified([user_id])
        async with self._db.writing() as conn:
            await self._changes.managed(conn, actor, conversation_id)
            await self._enforcement.require_group_open(conversation_id)
            request = await self._pending(conn, conversation_id, user_id)
            group = await self._joinable(conn, conversation_id, user_id)
            await self._changes.require_may_join(conn, group, [user_id], verified)
            await self._answer(conn, actor, request, JoinRequestState.APPROVED)
            return await self._changes.add_members(
                conn, group, [user_id], actor_id=actor.account_id, link_id=request.link_id
            )

    async def decline(self, actor: Principal, conversation_id: int, user_id: int) -> None:
        await self._may(actor, Capability.INTERACT)
        async with self._db.writing() as conn:
            await self._changes.managed(conn, actor, conversation_id)
            request = await self._pending(conn, conversation_id, user_id)
            await self._answer(conn, actor, request, JoinRequestState.DECLINED)
            # The other admins' lists of requests lose it at once.
            await self._changes.tell_managers(
                conn,
                conversation_id,
                {
                    "action": JoinRequestChange.DECLINED,
                    "by": actor.account_id,
                    "user_ids": [user_id],
                },
            )

    async def _working_link(self, conn: DbConnection, token: str) -> StoredJoinLink:
        link = await group_store.link_by_token(conn, token)
        if link is None:
            raise NotFound("no such join link", code=ErrorCode.JOIN_LINK_NOT_FOUND)
        if link.revoked_at is not None:
            raise PolicyRefusal("the join link was revoked", code=ErrorCode.JOIN_LINK_REVOKED)
        if link.expires_at <= self._changes.now_ms():
            raise PolicyRefusal("the join link has expired", code=ErrorCode.JOIN_LINK_EXPIRED)
        return link

    async def _joinable(self, conn: DbConnection, conversation_id: int, user_id: int) -> Group:
        """The group, which the user is not in and which is small enough to join by link."""
        group = await self._changes.existing(conn, conversation_id)
        if user_id in group.roles:
            raise Conflict("already a member of the group", code=ErrorCode.ALREADY_MEMBER)
        cap = self._changes.rules.link_join_max_members
        if len(group.roles) + 1 > cap:
            raise PolicyRefusal(
                f"a group of more than {cap} members is joined by invitation only",
                code=ErrorCode.LINK_JOIN_CLOSED,
            )
        return group

    async def _pending(
        self, conn: DbConnection, conversation_id: int, user_id: int
    ) -> StoredJoinRequest:
        request = await group_store.join_request(conn, conversation_id, user_id)
        if request is None or request.state != JoinRequestState.PENDING:
            raise NotFound(
                "no pending request of that user to join", code=ErrorCode.JOIN_REQUEST_NOT_FOUND
            )
        return request

    async def _answer(
        self, conn: DbConnection, actor: Principal, request: StoredJoinRequest, state: str
    ) -> None:
        await group_store.answer_join_request(
            conn,
            request.conversation_id,
            request.account_id,
            state=state,
            answered_by=actor.account_id,
            now_ms=self._changes.now_ms(),
        )

    async def _may(self, actor: Principal, capability: str) -> None:
        require(actor, Permission.ACT)
        await self._enforcement.require_user_may(actor.account_id, capability)
