"""Running a group: leaving it, removing and muting members, making admins, transferring
ownership, dissolving it, and its title, avatar, announcement and settings. Each change is
recorded in the membership history and told to the members (services/group_changes.py)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from townhall.domain.enforcement import Capability
from townhall.domain.errors import (
    Conflict,
    ErrorCode,
    Forbidden,
    InvalidInput,
    NotFound,
    PolicyRefusal,
)
from townhall.domain.limits import Limits
from townhall.domain.messaging import (
    MANAGERS,
    ConversationKind,
    JoinRequestChange,
    MemberChange,
    MemberRole,
    check_avatar,
    check_group_title,
)
from townhall.domain.moderation import Decision, Surface
from townhall.domain.naming import clean_text
from townhall.domain.permissions import Permission
from townhall.services.enforcement import Enforcement
from townhall.services.group_changes import Group, GroupChanges, require_owner
from townhall.services.moderation import ContentCheck
from townhall.services.names import Names
from townhall.services.principal import Principal, require
from townhall.services.rendering import ConversationView
from townhall.services.standing import Standings
from townhall.store import accounts as account_store
from townhall.store import conversations as conversation_store
from townhall.store import groups as group_store
from townhall.store.database import Database, Transaction
from townhall.store.groups import MemberChangeRow, MemberHistoryEntry


@dataclass(frozen=True, slots=True)
class GroupUpdate:
    """A change of a group's settings; None: unchanged. An empty avatar or announcement clears
    it."""

    title: str | None = None
    avatar: str | None = None
    announcement: str | None = None
    mute_all: bool | None = None
    members_invite: bool | None = None

    @property
    def publishes(self) -> bool:
        """Text every member will see: checked as publishing to the group."""
        return self.title is not None or self.announcement is not None or self.avatar is not None


class GroupAdmin:
    def __init__(
        self,
        database: Database,
        changes: GroupChanges,
        standings: Standings,
        enforcement: Enforcement,
        names: Names,
        content_check: ContentCheck,
        *,
        limits: Limits,
    ) -> None:
        self._db = database
        self._changes = changes
        self._standings = standings
        self._enforcement = enforcement
        self._names = names
        self._check = content_check
        self._limits = limits

    async def leave(self, actor: Principal, conversation_id: int) -> None:
        """Leave a group; its owner first hands it on, or dissolves it. An owner whose rights a
        sanction removed may do neither: leaving hands the group on (`_pass_on`)."""
        await self._may(actor, Capability.INTERACT)
        async with self._db.writing() as conn:
            group = await self._changes.group(conn, actor, conversation_id)
            if group.role_of(actor.account_id) == MemberRole.OWNER:
                raise Conflict(
                    "transfer the group's ownership first, or dissolve it",
                    code=ErrorCode.OWNER_MUST_TRANSFER,
                )
            if await self._pass_on(conn, group, actor.account_id):
                await self._left(conn, conversation_id, actor.account_id)

    async def _left(self, conn: Transaction, conversation_id: int, account_id: int) -> None:
        """The member is out of the group: recorded, and told with everyone left."""
        await self._changes.remove_members(conn, conversation_id, [account_id])
        await self._changes.record(
            conn,
            conversation_id,
            [MemberChangeRow(account_id, MemberChange.LEFT, account_id)],
            change={"action": MemberChange.LEFT, "by": account_id},
            also_tell=[account_id],
        )

    async def leave_every_group(self, conn: Transaction, account_id: int) -> None:
        """Deregistration's part, in its transaction: the account leaves every group it is in,
        as `leave` does, whatever sanctions hold on it or on the group; a group it owns is
        handed on first (`_pass_on`)."""
        for conversation_id in await conversation_store.ids_of_member(
            conn, account_id, ConversationKind.GROUP
        ):
            group = await self._changes.existing(conn, conversation_id)
            if await self._pass_on(conn, group, account_id):
                await self._left(conn, conversation_id, account_id)
        for conversation_id in await group_store.withdraw_waiting(conn, account_id):
            await self._changes.tell_managers(
                conn,
                conversation_id,
                {
                    "action": JoinRequestChange.WITHDRAWN,
                    "by": account_id,
                    "user_ids": [account_id],
                },
            )

    async def _pass_on(self, conn: Transaction, group: Group, account_id: int) -> bool:
        """Before a member goes for good (a group is never left without an owner): a group they
        own passes to its longest-serving admin, else its longest-serving member, recorded and
        told as their transfer. Returns whether the group lives on: one nobody else is left in
        ends as the owner's dissolving it does."""
        if not await self._owns(conn, group, account_id):
            return True
        # Members deregistered before deregistering took them out are passed over.
        staying = await account_store.active_user_ids(conn, group.roles)
        successor = _successor(group, account_id, staying)
        if successor is None:
            await self._dissolved(conn, group, account_id)
            return False
        await self._hand_over(conn, group.id, account_id, successor)
        return True

    async def _owns(self, conn: Transaction, group: Group, account_id: int) -> bool:
        """Whether the member holds the group's ownership: as its owner, or, in a group nobody
        owns, as the owner a remove_rights sanction in force demoted (whose rights it gives back
        when it ends: were the member gone, the group would stay without an owner for good)."""
        if MemberRole.OWNER in group.roles.values():
            return group.role_of(account_id) == MemberRole.OWNER
        return await self._enforcement.owner_held_back(conn, group.id) == account_id

    async def remove(self, actor: Principal, conversation_id: int, user_id: int) -> None:
        """Take a member out: the owner anyone else, an admin only ordinary members. The removed
        member is told too; one whose ownership a sanction holds back hands the group on."""
        await self._may(actor, Capability.INTERACT)
        async with self._db.writing() as conn:
            group = await self._changes.managed(conn, actor, conversation_id)
            _require_above(group, actor, self._member(group, user_id))
            await self._pass_on(conn, group, user_id)  # the remover stays: the group lives on
            await self._changes.remove_members(conn, conversation_id, [user_id])
            await self._changes.record(
                conn,
                conversation_id,
                [MemberChangeRow(user_id, MemberChange.REMOVED, actor.account_id)],
                change={"action": MemberChange.REMOVED, "by": actor.account_id},
                also_tell=[user_id],
            )

    async def set_admin(
        self, actor: Principal, conversation_id: int, user_id: int, *, admin: bool
    ) -> ConversationView:
        """The owner makes a member an admin, or an admin a member again."""
        await self._may(actor, Capability.INTERACT)
        async with self._db.writing() as conn:
            group = await self._changes.owned(conn, actor, conversation_id)
            role = self._member(group, user_id)
            if role == MemberRole.OWNER:
                raise Conflict(
                    "the owner's role changes only by transferring ownership",
                    code=ErrorCode.OWNER_MUST_TRANSFER,
                )
            new_role = MemberRole.ADMIN if admin else MemberRole.MEMBER
            if role == new_role:  # nothing changes: nothing to record or tell
                return await self._changes.view(conn, conversation_id)
            change = MemberChange.MADE_ADMIN if admin else MemberChange.UNMADE_ADMIN
            await group_store.update_member(conn, conversation_id, user_id, role=new_role)
            return await self._changes.record(
                conn,
                conversation_id,
                [MemberChangeRow(user_id, change, actor.account_id)],
                change={"action": change, "by": actor.account_id},
            )

    async def transfer(
        self, actor: Principal, conversation_id: int, user_id: int
    ) -> ConversationView:
        """The owner hands the group to another member, and becomes an ordinary member."""
        await self._may(actor, Capability.INTERACT)
        async with self._db.writing() as conn:
            group = await self._changes.owned(conn, actor, conversation_id)
            await self._enforcement.require_group_open(conversation_id)
            if self._member(group, user_id) == MemberRole.OWNER:
                raise InvalidInput("you already own the group", code=ErrorCode.TRANSFER_TO_SELF)
            return await self._hand_over(conn, conversation_id, actor.account_id, user_id)

    async def _hand_over(
        self, conn: Transaction, conversation_id: int, owner_id: int, user_id: int
    ) -> ConversationView:
        """The member becomes the owner, unmuted, and the owner an ordinary member."""
        await group_store.update_member(
            conn, conversation_id, user_id, role=MemberRole.OWNER, muted=0
        )
        await group_store.update_member(conn, conversation_id, owner_id, role=MemberRole.MEMBER)
        return await self._changes.record(
            conn,
            conversation_id,
            [MemberChangeRow(user_id, MemberChange.MADE_OWNER, owner_id)],
            change={"action": MemberChange.MADE_OWNER, "by": owner_id},
        )

    async def dissolve(self, actor: Principal, conversation_id: int) -> None:
        """The owner ends the group: every member is taken out and told; its messages and its
        membership history stay for the records."""
        await self._may(actor, Capability.INTERACT)
        async with self._db.writing() as conn:
            group = await self._changes.owned(conn, actor, conversation_id)
            await self._dissolved(conn, group, actor.account_id)

    async def _dissolved(self, conn: Transaction, group: Group, owner_id: int) -> None:
        await group_store.dissolve(conn, group.id, self._changes.now_ms())
        await self._changes.record(
            conn,
            group.id,
            [MemberChangeRow(uid, MemberChange.DISSOLVED, owner_id) for uid in group.roles],
            change={"action": MemberChange.DISSOLVED, "by": owner_id, "user_ids": []},
            also_tell=list(group.roles),
        )

    async def mute(
        self, actor: Principal, conversation_id: int, user_id: int, *, muted: bool
    ) -> ConversationView:
        """The owner or an admin mutes a member (an admin only an ordinary member), or lifts it."""
        await self._may(actor, Capability.INTERACT)
        async with self._db.writing() as conn:
            group = await self._changes.managed(conn, actor, conversation_id)
            _require_above(group, actor, self._member(group, user_id))
            await group_store.update_member(conn, conversation_id, user_id, muted=int(muted))
            change = MemberChange.MUTED if muted else MemberChange.UNMUTED
            return await self._changes.record(
                conn,
                conversation_id,
                [MemberChangeRow(user_id, change, actor.account_id)],
                change={"action": change, "by": actor.account_id},
            )

    async def update(
        self, actor: Principal, conversation_id: int, update: GroupUpdate
    ) -> ConversationView:
        """The owner or an admin changes the group's title, avatar, announcement, "mute all" or
        whether members invite. Title and announcement pass the content check as every name and
        every group text does."""
        values = await self._checked(actor, conversation_id, update)
        async with self._db.writing() as conn:
            await self._changes.managed(conn, actor, conversation_id)
            await group_store.update_group(conn, conversation_id, **values)
            return await self._changes.record(
                conn,
                conversation_id,
                [],
                change={"action": "updated", "by": actor.account_id, "fields": sorted(values)},
            )

    async def history(
        self, actor: Principal, conversation_id: int, *, after: int | None, limit: int
    ) -> list[MemberHistoryEntry]:
        """A group's membership history, for reviewers."""
        require(actor, Permission.READ_SANCTIONS)
        async with self._db.reading() as conn:
            row = await conversation_store.get(conn, conversation_id)
            if row is None or row.kind != ConversationKind.GROUP:
                raise NotFound("no such group", code=ErrorCode.GROUP_NOT_FOUND)
            return await group_store.history(conn, conversation_id, after=after or 0, limit=limit)

    async def _checked(
        self, actor: Principal, conversation_id: int, update: GroupUpdate
    ) -> dict[str, object]:
        """The columns to write, each checked; texts through the sanctions and content checks."""
        values: dict[str, object] = {}
        if update.mute_all is not None:
            values["mute_all"] = int(update.mute_all)
        if update.members_invite is not None:
            values["members_invite"] = int(update.members_invite)
        if update.avatar is not None:
            values["avatar"] = check_avatar(update.avatar) if update.avatar else None
        if update.title is not None:
            values["title"] = check_group_title(update.title, self._limits)
        if update.announcement is not None:
            announcement = clean_text(
                update.announcement,
                "announcement",
                self._limits.max_description_chars,
                required=False,
            )
            values["announcement"] = announcement or None
        if not values:
            raise InvalidInput("name something to change", code=ErrorCode.GROUP_UNCHANGED)
        if not update.publishes:
            await self._may(actor, Capability.INTERACT)
            return values
        await self._may(actor, Capability.SEND_GROUP)
        await self._standings.require_may(actor.account_id, Capability.SEND_GROUP)
        # A member first (an outsider learns nothing of the group), and not muted: an admin
        # muted by the owner does not publish to everyone either.
        await self._changes.require_unmuted(actor, conversation_id)
        await self._enforcement.require_group_open(conversation_id)
        if "title" in values:
            await self._names.check(
                name=str(values["title"]), author_id=actor.account_id, subject_type="group"
            )
        if values.get("announcement"):
            await self._screen_announcement(actor, str(values["announcement"]))
        return values

    async def _screen_announcement(self, actor: Principal, text: str) -> None:
        verdict = await self._check.screen(
            Surface.GROUP, text, author_id=actor.account_id, subject_type="group"
        )
        # An announcement reaches every member at once and has no review hold of its own.
        if verdict.decision == Decision.HOLD:
            raise PolicyRefusal(
                "refused: the announcement needs review before anyone may see it",
                code=ErrorCode.CONTENT_BLOCKED,
                subjects=tuple(verdict.categories),
            )

    async def _may(self, actor: Principal, capability: str) -> None:
        require(actor, Permission.ACT)
        await self._enforcement.require_user_may(actor.account_id, capability)

    @staticmethod
    def _member(group: Group, user_id: int) -> str:
        role = group.role_of(user_id)
        if role is None:
            raise NotFound(
                "that user is not a member of the group", code=ErrorCode.MEMBER_NOT_FOUND
            )
        return role


def _successor(group: Group, owner_id: int, staying: Collection[int]) -> int | None:
    """Who takes over a group its owner leaves for good: of the members staying, the admin who
    joined first, else the member who did (the roles are in the order they joined)."""
    others = [uid for uid in group.roles if uid != owner_id and uid in staying]
    admins = [uid for uid in others if group.roles[uid] == MemberRole.ADMIN]
    return next(iter(admins or others), None)


def _require_above(group: Group, actor: Principal, target_role: str) -> None:
    """Only the owner acts on an admin; nobody acts on the owner, or on themselves."""
    if target_role == MemberRole.OWNER:
        raise Forbidden(
            "nobody may do this to the group's owner", code=ErrorCode.GROUP_OWNER_REQUIRED
        )
    if target_role in MANAGERS:
        require_owner(group, actor)
