"""Groups: creating one, inviting to one, and accepting or declining an invitation, within the
pack's caps on groups created and joined per person (groups 2017 art. 5). A new group invites
everyone it names; a later invitation adds the invitee at once up to the pack's
`invite_consent_above` members and waits for their consent past it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from townhall.domain.enforcement import DAY_MS, Capability
from townhall.domain.errors import (
    Conflict,
    ErrorCode,
    Forbidden,
    NotFound,
    PolicyRefusal,
    Throttled,
)
from townhall.domain.events import EventType, invitation_event
from townhall.domain.limits import Limits
from townhall.domain.messaging import (
    MANAGERS,
    ConversationKind,
    GroupRules,
    InvitationState,
    MemberChange,
    MemberRole,
    check_group_title,
    group_invitee_ids,
    invitation_waits_for_consent,
)
from townhall.domain.naming import clean_text
from townhall.domain.permissions import Permission
from townhall.services.contacts import Ties, require_users
from townhall.services.enforcement import Enforcement
from townhall.services.group_changes import Group, GroupChanges
from townhall.services.messaging import MessagingService
from townhall.services.names import Names
from townhall.services.principal import Principal, require
from townhall.services.rendering import ConversationView, render_invitation
from townhall.services.standing import Standings
from townhall.store import conversations as conversation_store
from townhall.store import groups as group_store
from townhall.store import stream as stream_store
from townhall.store.conversations import GroupInvitation, StoredConversation, StoredInvitation
from townhall.store.database import Database, DbConnection, Transaction
from townhall.store.groups import MemberChangeRow

# Not answered by the invitee: still waiting, or used up by their joining another way.
UNANSWERED = frozenset({InvitationState.PENDING, InvitationState.SUPERSEDED})


@dataclass(frozen=True, slots=True)
class NewGroup:
    group: ConversationView
    invited: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Invited:
    """What an invitation did: who joined at once, and who must accept first."""

    added: tuple[int, ...]
    invited: tuple[int, ...]


class Groups:
    def __init__(
        self,
        database: Database,
        messaging: MessagingService,
        standings: Standings,
        enforcement: Enforcement,
        names: Names,
        changes: GroupChanges,
        ties: Ties,
        rules: GroupRules,
        *,
        limits: Limits,
    ) -> None:
        self._db = database
        self._messaging = messaging
        self._standings = standings
        self._enforcement = enforcement
        self._names = names
        self._changes = changes
        self._ties = ties
        self._rules = rules
        self._limits = limits

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
        now_ms = self._changes.now_ms()
        async with self._db.writing() as conn:
            await self._require_may_create(conn, actor.account_id, now_ms)
            await self._require_may_join(conn, actor.account_id)
            await require_users(conn, invitee_ids)
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
            group = await self._changes.record(
                conn,
                conversation_id,
                [MemberChangeRow(actor.account_id, MemberChange.JOINED, None)],
                change={"action": "created", "by": actor.account_id},
            )
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
            await self._tell_invitees(conn, group.conversation, invited_ids, actor.account_id)
        return NewGroup(group, tuple(invitee_ids))

    async def invite(
        self, actor: Principal, conversation_id: int, user_ids: Sequence[int]
    ) -> Invited:
        """Bring users into a group: its owner and admins may, and every member if the group
        allows. Up to `invite_consent_above` members the inviter's friends join at once (anyone,
        where the pack lets strangers chat); everyone else is invited and joins by accepting."""
        require(actor, Permission.ACT)
        await self._enforcement.require_user_may(actor.account_id, Capability.SEND_GROUP)
        await self._messaging.require_unmuted(actor, conversation_id)
        await self._enforcement.require_group_open(conversation_id)
        invitee_ids = group_invitee_ids(actor.account_id, user_ids, self._limits)
        verified = await self._changes.verified(invitee_ids)
        async with self._db.writing() as conn:
            group = await self._changes.group(conn, actor, conversation_id)
            if not group.row.members_invite and group.role_of(actor.account_id) not in MANAGERS:
                raise Forbidden(
                    "in this group only the owner and admins invite",
                    code=ErrorCode.GROUP_ADMIN_REQUIRED,
                )
            await require_users(conn, invitee_ids)
            already = [i for i in invitee_ids if i in group.roles]
            if already:
                raise Conflict(
                    f"already members: {', '.join(map(str, already))}",
                    code=ErrorCode.ALREADY_MEMBER,
                )
            if len(group.roles) + len(invitee_ids) > self._limits.max_group_members:
                raise PolicyRefusal(
                    f"a group holds at most {self._limits.max_group_members} members",
                    code=ErrorCode.GROUP_TOO_LARGE,
                )
            size = len(group.roles) + len(invitee_ids)
            added = []
            if not invitation_waits_for_consent(size, self._rules):
                addable = await self._ties.addable_at_once(conn, actor.account_id, invitee_ids)
                added = [i for i in invitee_ids if i in addable]
            # Whoever blocks the inviter gets nothing; to the inviter they look invited and not
            # answering, like everyone else who was asked rather than added.
            blockers = await self._ties.blockers_among(conn, actor.account_id, invitee_ids)
            asked = [i for i in invitee_ids if i not in added and i not in blockers]
            if asked:
                now_ms = self._changes.now_ms()
                await group_store.invite_again(
                    conn, conversation_id, asked, inviter_id=actor.account_id, now_ms=now_ms
                )
                await self._tell_invitees(conn, group.row, asked, actor.account_id)
            if added:
                await self._changes.require_may_join(conn, group, added, verified)
                await self._changes.add_members(conn, group, added, actor_id=actor.account_id)
        return Invited(added=tuple(added), invited=tuple(i for i in invitee_ids if i not in added))

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
        verified = await self._changes.verified([actor.account_id])
        async with self._db.writing() as conn:
            roles = await conversation_store.member_roles(conn, conversation_id)
            invited = await conversation_store.invitation(conn, conversation_id, actor.account_id)
            # In meanwhile by another way (added, a link, a request), which used the invitation
            # up; once out again, a used-up invitation is no invitation.
            if actor.account_id in roles and invited is not None and invited.state in UNANSWERED:
                raise Conflict("already a member of the group", code=ErrorCode.ALREADY_MEMBER)
            invitation = _waiting(invited)
            await self._enforcement.require_group_open(conversation_id)
            group = Group(await conversation_store.existing(conn, conversation_id), roles)
            joiner = [actor.account_id]
            await self._changes.require_may_join(conn, group, joiner, verified)
            await conversation_store.answer_invitation(
                conn,
                conversation_id,
                actor.account_id,
                state=InvitationState.ACCEPTED,
                now_ms=self._changes.now_ms(),
            )
            return await self._changes.add_members(
                conn, group, joiner, actor_id=invitation.inviter_id
            )

    async def decline(self, actor: Principal, conversation_id: int) -> str:
        require(actor, Permission.ACT)
        await self._enforcement.require_user_may(actor.account_id, Capability.INTERACT)
        async with self._db.writing() as conn:
            _waiting(await conversation_store.invitation(conn, conversation_id, actor.account_id))
            await conversation_store.answer_invitation(
                conn,
                conversation_id,
                actor.account_id,
                state=InvitationState.DECLINED,
                now_ms=self._changes.now_ms(),
            )
        return InvitationState.DECLINED

    async def _tell_invitees(
        self, conn: Transaction, row: StoredConversation, invitee_ids: list[int], inviter_id: int
    ) -> None:
        invitation = GroupInvitation(
            conversation_id=row.id,
            invitee_id=0,  # one event serves every invitee
            inviter_id=inviter_id,
            state=InvitationState.PENDING,
            created_at=self._changes.now_ms(),
            answered_at=None,
            title=row.title,
            description=row.description,
        )
        rendered = render_invitation(invitation)
        payload = await stream_store.append_new_event(
            conn,
            self._db.positions,
            event_type=EventType.INVITATION,
            render=lambda position: invitation_event(position, rendered),
            recipients=invitee_ids,
        )
        conn.after_commit(lambda: self._changes.publish(invitee_ids, payload))

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


def _waiting(invitation: StoredInvitation | None) -> StoredInvitation:
    """The invitation, if it still waits for an answer: an answered or used-up one is none."""
    if invitation is None or invitation.state != InvitationState.PENDING:
        raise NotFound("no invitation of yours to that group", code=ErrorCode.INVITATION_NOT_FOUND)
    return invitation
