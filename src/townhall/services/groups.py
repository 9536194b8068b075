"""Groups: creating one, and joining one only by accepting its invitation, within the pack's caps
on groups created and joined per person (groups 2017 art. 5)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from townhall.bus.base import Bus, user_channel
from townhall.domain.enforcement import DAY_MS, Capability
from townhall.domain.errors import ErrorCode, NotFound, PolicyRefusal, Throttled
from townhall.domain.events import EventType, conversation_event, invitation_event
from townhall.domain.limits import Limits
from townhall.domain.messaging import (
    ConversationKind,
    GroupRules,
    InvitationState,
    MemberRole,
    check_group_title,
    group_invitee_ids,
)
from townhall.domain.naming import clean_text
from townhall.domain.permissions import Permission
from townhall.services.contacts import Ties
from townhall.services.enforcement import Enforcement
from townhall.services.messaging import MessagingService
from townhall.services.names import Names
from townhall.services.principal import Principal, require
from townhall.services.rendering import ConversationView, render_conversation, render_invitation
from townhall.services.standing import Standings
from townhall.store import accounts as account_store
from townhall.store import conversations as conversation_store
from townhall.store import stream as stream_store
from townhall.store.conversations import GroupInvitation
from townhall.store.database import Database, DbConnection


@dataclass(frozen=True, slots=True)
class NewGroup:
    group: ConversationView
    invited: tuple[int, ...]


class Groups:
    def __init__(
        self,
        database: Database,
        bus: Bus,
        messaging: MessagingService,
        standings: Standings,
        enforcement: Enforcement,
        names: Names,
        ties: Ties,
        rules: GroupRules,
        *,
        limits: Limits,
        clock: Callable[[], float],
    ) -> None:
        self._db = database
        self._bus = bus
        self._messaging = messaging
        self._standings = standings
        self._enforcement = enforcement
        self._names = names
        self._ties = ties
        self._rules = rules
        self._limits = limits
        self._clock = clock

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def create(
        self, actor: Principal, *, title: str, description: str, member_ids: Sequence[int]
    ) -> NewGroup:
        """A group with its creator as owner; everyone else named is invited, not added."""
        require(actor, Permission.ACT)
        title = check_group_title(title, self._limits)
        about = clean_text(
            description, "description", self._limits.max_description_chars, required=False
        )
        invitee_ids = group_invitee_ids(actor.account_id, member_ids, self._limits)
        # A sanction first: a closed account hears that it is closed, not what it lacks.
        await self._enforcement.require_user_may(actor.account_id, Capability.CREATE_GROUP)
        # A group's title reaches every member: creating one is publishing.
        await self._standings.require_may(actor.account_id, Capability.CREATE_GROUP)
        await self._names.check(
            name=title, text=about, author_id=actor.account_id, subject_type="group"
        )
        now_ms = self._now_ms()
        async with self._db.writing() as conn:
            await self._require_may_create(conn, actor.account_id, now_ms)
            await self._require_may_join(conn, actor.account_id)
            # Staff are nobody's chat partners: to a user, a staff id is no user at all.
            missing = set(invitee_ids) - await account_store.user_ids(conn, invitee_ids)
            if missing:
                raise NotFound(
                    f"no such user: {', '.join(map(str, sorted(missing)))}",
                    code=ErrorCode.USER_NOT_FOUND,
                )
            conversation_id = await conversation_store.insert_conversation(
                conn,
                kind=ConversationKind.GROUP,
                title=title,
                description=about or None,
                direct_key=None,
                created_by=actor.account_id,
                now_ms=now_ms,
            )
            roles = {actor.account_id: MemberRole.OWNER}
            await conversation_store.insert_members(conn, conversation_id, roles, now_ms)
            # Whoever blocks the creator is not invited, and the creator is not told so.
            blockers = await self._ties.blockers_among(conn, actor.account_id, invitee_ids)
            invited_ids = [i for i in invitee_ids if i not in blockers]
            await conversation_store.insert_invitations(
                conn,
                conversation_id,
                invited_ids,
                inviter_id=actor.account_id,
                state=InvitationState.PENDING,
                now_ms=now_ms,
            )
            group = await self._view(conn, conversation_id)
            created = await self._append(
                conn, EventType.CONVERSATION, conversation_event, render_conversation(group), roles
            )
            invitation = GroupInvitation(
                conversation_id=conversation_id,
                invitee_id=0,  # one event serves every invitee
                inviter_id=actor.account_id,
                state=InvitationState.PENDING,
                created_at=now_ms,
                answered_at=None,
                title=title,
                description=about or None,
            )
            invited = await self._append(
                conn,
                EventType.INVITATION,
                invitation_event,
                render_invitation(invitation),
                invited_ids,
            )
            conn.after_commit(lambda: self._publish(roles, created))
            conn.after_commit(lambda: self._publish(invited_ids, invited))
        return NewGroup(group, tuple(invitee_ids))

    async def invitations(
        self, actor: Principal, *, after: int | None, limit: int
    ) -> list[GroupInvitation]:
        """The caller's invitations still waiting for an answer, oldest first, to groups after
        the one with id `after`."""
        async with self._db.reading() as conn:
            return await conversation_store.invitations_of(
                conn, actor.account_id, InvitationState.PENDING, after=after or 0, limit=limit
            )

    async def accept(self, actor: Principal, conversation_id: int) -> ConversationView:
        """Join the group the caller was invited to; its members are told."""
        require(actor, Permission.ACT)
        await self._enforcement.require_user_may(actor.account_id, Capability.INTERACT)
        now_ms = self._now_ms()
        async with self._db.writing() as conn:
            await self._pending(conn, actor, conversation_id)
            await self._enforcement.require_group_open(conversation_id)
            members = await conversation_store.member_roles(conn, conversation_id)
            if len(members) >= self._limits.max_group_members:
                raise PolicyRefusal(
                    f"a group holds at most {self._limits.max_group_members} members",
                    code=ErrorCode.GROUP_TOO_LARGE,
                )
            await self._require_may_join(conn, actor.account_id)
            joined = {actor.account_id: MemberRole.MEMBER}
            await conversation_store.insert_members(conn, conversation_id, joined, now_ms)
            await conversation_store.answer_invitation(
                conn,
                conversation_id,
                actor.account_id,
                state=InvitationState.ACCEPTED,
                now_ms=now_ms,
            )
            group = await self._view(conn, conversation_id)
            recipients = list(group.roles)
            payload = await self._append(
                conn,
                EventType.CONVERSATION,
                conversation_event,
                render_conversation(group),
                recipients,
            )
            conn.after_commit(lambda: self._messaging.forget_members(conversation_id))
            conn.after_commit(lambda: self._publish(recipients, payload))
        return group

    async def decline(self, actor: Principal, conversation_id: int) -> str:
        require(actor, Permission.ACT)
        await self._enforcement.require_user_may(actor.account_id, Capability.INTERACT)
        async with self._db.writing() as conn:
            await self._pending(conn, actor, conversation_id)
            await conversation_store.answer_invitation(
                conn,
                conversation_id,
                actor.account_id,
                state=InvitationState.DECLINED,
                now_ms=self._now_ms(),
            )
        return InvitationState.DECLINED

    async def _pending(self, conn: DbConnection, actor: Principal, conversation_id: int) -> None:
        invitation = await conversation_store.invitation(conn, conversation_id, actor.account_id)
        if invitation is None or invitation.state != InvitationState.PENDING:
            raise NotFound(
                "no invitation of yours to that group", code=ErrorCode.INVITATION_NOT_FOUND
            )

    async def _require_may_create(self, conn: DbConnection, account_id: int, now_ms: int) -> None:
        cap = self._rules.max_created_per_day
        created = await conversation_store.created_since(
            conn, account_id, ConversationKind.GROUP, now_ms - DAY_MS
        )
        if len(created) >= cap:
            retry_after = (created[-cap] + DAY_MS - now_ms) // 1000 + 1
            raise Throttled(
                f"at most {cap} new groups a day; try again in {retry_after} s",
                code=ErrorCode.TOO_MANY_GROUPS,
                retry_after=retry_after,
            )

    async def _require_may_join(self, conn: DbConnection, account_id: int) -> None:
        joined = await conversation_store.count_memberships(
            conn, account_id, ConversationKind.GROUP
        )
        if joined >= self._rules.max_joined:
            raise PolicyRefusal(
                f"one person may belong to at most {self._rules.max_joined} groups",
                code=ErrorCode.GROUP_JOIN_LIMIT,
            )

    async def _view(self, conn: DbConnection, conversation_id: int) -> ConversationView:
        row = await conversation_store.existing(conn, conversation_id)
        return ConversationView(row, await conversation_store.member_roles(conn, row.id))

    async def _append(
        self,
        conn: DbConnection,
        event_type: str,
        event: Callable[[int, dict[str, Any]], dict[str, Any]],
        content: dict[str, Any],
        recipients: Iterable[int],
    ) -> bytes:
        """Append one event for the recipients; returns it encoded, to publish after commit."""
        return await stream_store.append_new_event(
            conn,
            self._db.positions,
            event_type=event_type,
            render=lambda position: event(position, content),
            recipients=recipients,
        )

    def _publish(self, recipients: Iterable[int], payload: bytes) -> None:
        for account_id in recipients:
            self._bus.publish(user_channel(account_id), payload)
