"""What every change to a group shares: finding the group and the caller's role in it, the
checks a newcomer passes, and recording the change (membership history, one `conversation`
event to the members in order with their messages, the members cache forgotten) in the
change's own transaction."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from townhall.bus.base import Bus, user_channel
from townhall.domain.accounts import Verification
from townhall.domain.errors import ErrorCode, Forbidden, NotFound, PolicyRefusal
from townhall.domain.events import EventType, conversation_event
from townhall.domain.limits import Limits
from townhall.domain.messaging import (
    MANAGERS,
    ConversationKind,
    GroupRules,
    InvitationState,
    MemberChange,
    MemberRole,
    needs_verified_identity,
    require_group,
)
from townhall.services.messaging import MessagingService
from townhall.services.principal import Principal
from townhall.services.rendering import ConversationView, render_conversation
from townhall.services.standing import Standings
from townhall.store import conversations as conversation_store
from townhall.store import groups as group_store
from townhall.store import stream as stream_store
from townhall.store.conversations import StoredConversation
from townhall.store.database import Database, DbConnection, Transaction
from townhall.store.groups import MemberChangeRow

VERIFIED = frozenset({Verification.PROVIDER_VERIFIED, Verification.STAFF_VERIFIED})


@dataclass(frozen=True, slots=True)
class Group:
    """A group as one change found it, in the change's transaction."""

    row: StoredConversation
    roles: Mapping[int, str]

    @property
    def id(self) -> int:
        return self.row.id

    def role_of(self, account_id: int) -> str | None:
        return self.roles.get(account_id)


class GroupChanges:
    def __init__(
        self,
        database: Database,
        bus: Bus,
        messaging: MessagingService,
        standings: Standings,
        rules: GroupRules,
        *,
        limits: Limits,
        clock: Callable[[], float],
    ) -> None:
        self._db = database
        self._bus = bus
        self._messaging = messaging
        self._standings = standings
        self.rules = rules
        self._limits = limits
        self._clock = clock

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def group(self, conn: DbConnection, actor: Principal, conversation_id: int) -> Group:
        """The group the caller is a member of; to anyone else it does not exist, and to a
        member of a direct conversation it is not a group."""
        row = await conversation_store.get(conn, conversation_id)
        roles = await conversation_store.member_roles(conn, conversation_id)
        if row is None or actor.account_id not in roles:
            raise NotFound("no such conversation", code=ErrorCode.CONVERSATION_NOT_FOUND)
        require_group(row.kind)
        return Group(row, roles)

    @staticmethod
    async def existing(conn: DbConnection, conversation_id: int) -> Group:
        """The group as it stands, for a caller whose way to it is checked otherwise."""
        row = await conversation_store.existing(conn, conversation_id)
        return Group(row, await conversation_store.member_roles(conn, conversation_id))

    async def managed(self, conn: DbConnection, actor: Principal, conversation_id: int) -> Group:
        """The group, which the caller owns or is an admin of."""
        group = await self.group(conn, actor, conversation_id)
        if group.role_of(actor.account_id) not in MANAGERS:
            raise Forbidden(
                "only the group's owner or an admin may do this",
                code=ErrorCode.GROUP_ADMIN_REQUIRED,
            )
        return group

    async def owned(self, conn: DbConnection, actor: Principal, conversation_id: int) -> Group:
        group = await self.group(conn, actor, conversation_id)
        require_owner(group, actor)
        return group

    async def verified(self, account_ids: Iterable[int]) -> frozenset[int]:
        """Which of the accounts hold a verified identity (read before the write turn: cached)."""
        found = set()
        for account_id in account_ids:
            if (await self._standings.of(account_id)).status in VERIFIED:
                found.add(account_id)
        return frozenset(found)

    async def require_may_join(
        self, conn: DbConnection, group: Group, joiners: Collection[int], verified: frozenset[int]
    ) -> None:
        """The group's size cap, each joiner's cap on groups, and past the pack's size a verified
        identity."""
        size = len(group.roles) + len(joiners)
        if size > self._limits.max_group_members:
            raise PolicyRefusal(
                f"a group holds at most {self._limits.max_group_members} members",
                code=ErrorCode.GROUP_TOO_LARGE,
            )
        if needs_verified_identity(size, self.rules) and set(joiners) - verified:
            raise PolicyRefusal(
                f"a group of more than {self.rules.verified_identity_above} members takes only "
                "users with a verified identity",
                code=ErrorCode.IDENTITY_UNVERIFIED,
            )
        for account_id in joiners:
            joined = await conversation_store.count_memberships(
                conn, account_id, ConversationKind.GROUP
            )
            if joined >= self.rules.max_joined:
                raise PolicyRefusal(
                    f"one person may belong to at most {self.rules.max_joined} groups",
                    code=ErrorCode.GROUP_JOIN_LIMIT,
                )

    async def add_members(
        self,
        conn: Transaction,
        group: Group,
        joiners: list[int],
        *,
        actor_id: int | None,
        link_id: int | None = None,
    ) -> ConversationView:
        """Make them members, recorded with who let them in, and tell every member. However
        they came (invitation, link, approved request, added at once), an invitation of theirs
        still waiting is used up and a request of theirs to join withdrawn: neither lets them
        back in once they are out again."""
        now_ms = self.now_ms()
        roles = dict.fromkeys(joiners, MemberRole.MEMBER)
        await conversation_store.insert_members(conn, group.id, roles, now_ms)
        await conversation_store.answer_pending_invitations(
            conn, group.id, joiners, state=InvitationState.SUPERSEDED, now_ms=now_ms
        )
        await group_store.delete_pending_join_requests(conn, group.id, joiners)
        changes = [MemberChangeRow(uid, MemberChange.JOINED, actor_id, link_id) for uid in joiners]
        return await self.record(
            conn, group.id, changes, change={"action": MemberChange.JOINED, "by": actor_id}
        )

    async def remove_members(
        self, conn: Transaction, conversation_id: int, account_ids: list[int]
    ) -> None:
        """Take them out of the group (removed, or leaving), with any invitation of theirs to it
        or request of theirs to join it still waiting: only a new one brings them back."""
        await group_store.delete_members(conn, conversation_id, account_ids)
        await conversation_store.delete_pending_invitations(conn, conversation_id, account_ids)
        await group_store.delete_pending_join_requests(conn, conversation_id, account_ids)

    async def record(
        self,
        conn: Transaction,
        conversation_id: int,
        changes: Iterable[MemberChangeRow],
        *,
        change: dict[str, Any],
        also_tell: Iterable[int] = (),
    ) -> ConversationView:
        """Write the history rows and one `conversation` event, with `change` (what happened
        and who did it), to every member after the change and to `also_tell` (those it took
        out); after commit, forget the members cache and ring them."""
        rows = list(changes)
        await group_store.record_changes(conn, conversation_id, rows, self.now_ms())
        view = await self.view(conn, conversation_id)
        subjects = [r.account_id for r in rows]
        described = {k: v for k, v in change.items() if v is not None}
        if subjects and "user_ids" not in described:
            described["user_ids"] = subjects
        conn.after_commit(lambda: self._messaging.forget_members(conversation_id))
        await self._tell(conn, view, described, [*view.roles, *also_tell])
        return view

    async def tell_managers(
        self, conn: Transaction, conversation_id: int, change: dict[str, Any]
    ) -> None:
        """One `conversation` event, with `change`, to the group's owner and admins only: about
        a request to join, which nobody else sees. The membership is unchanged: no history."""
        view = await self.view(conn, conversation_id)
        managers = [uid for uid, role in view.roles.items() if role in MANAGERS]
        if managers:  # none in a dissolved group
            await self._tell(conn, view, change, managers)

    async def _tell(
        self,
        conn: Transaction,
        view: ConversationView,
        change: dict[str, Any],
        recipients: Iterable[int],
    ) -> None:
        """Append the group as it now stands, with `change`, to the recipients' streams in the
        change's transaction; ring them after commit."""
        rendered = render_conversation(view)
        told = list(dict.fromkeys(recipients))
        payload = await stream_store.append_new_event(
            conn,
            self._db.positions,
            event_type=EventType.CONVERSATION,
            render=lambda position: conversation_event(position, rendered, change),
            recipients=told,
        )
        conn.after_commit(lambda: self.publish(told, payload))

    async def require_unmuted(self, actor: Principal, conversation_id: int) -> None:
        """Refuse a non-member (as no such conversation), a direct conversation (not a group)
        and a member muted in the group."""
        await self._messaging.require_unmuted(actor, conversation_id)

    async def view(self, conn: DbConnection, conversation_id: int) -> ConversationView:
        row = await conversation_store.existing(conn, conversation_id)
        roles, muted = await conversation_store.roles_and_mutes(conn, conversation_id)
        return ConversationView(row, roles, muted)

    def publish(self, recipients: Iterable[int], payload: bytes) -> None:
        for account_id in recipients:
            self._bus.publish(user_channel(account_id), payload)


def require_owner(group: Group, actor: Principal) -> None:
    if group.role_of(actor.account_id) != MemberRole.OWNER:
        raise Forbidden("only the group's owner may do this", code=ErrorCode.GROUP_OWNER_REQUIRED)
