"""Conversations and messages: who may create, read and post, and live delivery after commit."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError

from townhall.bus.base import Bus, user_channel
from townhall.domain.enforcement import Capability
from townhall.domain.errors import ErrorCode, InvalidInput, NotFound, Throttled
from townhall.domain.events import EventType, conversation_event, message_event
from townhall.domain.limits import Limits
from townhall.domain.messaging import (
    SENDER_ONLY,
    ConversationKind,
    MemberRole,
    MessageModeration,
    check_client_id,
    check_message_text,
    direct_pair_key,
)
from townhall.domain.moderation import Decision, Surface
from townhall.domain.permissions import Permission
from townhall.domain.review import Target
from townhall.services.caches import Invalidations, LocalCache, Topic
from townhall.services.classifiers import ClassifierStage, Subject
from townhall.services.contacts import Ties
from townhall.services.enforcement import Enforcement
from townhall.services.intake import CaseIntake
from townhall.services.moderation import ContentCheck
from townhall.services.principal import Principal, require
from townhall.services.rate_limits import Limit, RateLimits
from townhall.services.rendering import ConversationView, render_conversation, render_message
from townhall.services.standing import Standings
from townhall.store import accounts as account_store
from townhall.store import conversations as conversation_store
from townhall.store import messages as message_store
from townhall.store import stream as stream_store
from townhall.store.conversations import StoredConversation
from townhall.store.database import Database, DbConnection
from townhall.store.message_log import (
    Appended,
    MessageWriter,
    StoredMessage,
    WrittenWith,
    together,
)

MEMBERS_CACHE_MAX = 100_000


@dataclass(frozen=True, slots=True)
class Members:
    """A conversation's members, cached: the send path checks them on every message."""

    kind: str
    ids: tuple[int, ...]
    id_set: frozenset[int]


def _has_members(members: Members) -> bool:
    return bool(members.ids)


class MessagingService:
    def __init__(
        self,
        database: Database,
        message_log: MessageWriter,
        bus: Bus,
        standings: Standings,
        enforcement: Enforcement,
        content_check: ContentCheck,
        intake: CaseIntake,
        classifiers: ClassifierStage,
        ties: Ties,
        *,
        limits: Limits,
        rate_limits: RateLimits,
        clock: Callable[[], float],
        invalidations: Invalidations,
    ) -> None:
        self._db = database
        self._rate_limits = rate_limits
        self._sends = Limit.parse("sends_per_user", limits.sends_per_user)
        self._log = message_log
        self._bus = bus
        self._standings = standings
        self._enforcement = enforcement
        self._check = content_check
        self._intake = intake
        self._classifiers = classifiers
        self._ties = ties
        self._limits = limits
        self._clock = clock
        self._invalidations = invalidations
        self._members: LocalCache[int, Members] = LocalCache(MEMBERS_CACHE_MAX)
        invalidations.listen(Topic.MEMBERS, self._members.forget)
        invalidations.empty_after_gaps(self._members)
        message_log.on_commit(self._deliver)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def open_direct(self, actor: Principal, other_id: int) -> tuple[ConversationView, bool]:
        """The one direct conversation of a pair, created on first use. Returns (it, created)."""
        require(actor, Permission.ACT)
        await self._enforcement.require_user_may(actor.account_id, Capability.INTERACT)
        key = direct_pair_key(actor.account_id, other_id)
        async with self._db.reading() as conn:
            existing = await conversation_store.find_direct(conn, key)
        if existing is not None:
            return await self._view(existing), False
        await self._ties.require_may_message(actor.account_id, other_id)
        roles = {actor.account_id: MemberRole.MEMBER, other_id: MemberRole.MEMBER}
        try:
            conversation = await self._create(
                actor, ConversationKind.DIRECT, title=None, direct_key=key, roles=roles
            )
        except IntegrityError:  # the other side opened it at the same moment
            async with self._db.reading() as conn:
                existing = await conversation_store.find_direct(conn, key)
            if existing is None:
                raise
            return await self._view(existing), False
        return conversation, True

    async def _create(
        self,
        actor: Principal,
        kind: str,
        *,
        title: str | None,
        direct_key: str | None,
        roles: dict[int, str],
    ) -> ConversationView:
        now_ms = self._now_ms()
        async with self._db.writing() as conn:
            # Staff are nobody's chat partners: to a user, a staff id is no user at all.
            others = set(roles) - {actor.account_id}
            missing = others - await account_store.user_ids(conn, others)
            if missing:
                raise NotFound(
                    f"no such user: {', '.join(map(str, sorted(missing)))}",
                    code=ErrorCode.USER_NOT_FOUND,
                )
            conversation_id = await conversation_store.insert_conversation(
                conn,
                kind=kind,
                title=title,
                direct_key=direct_key,
                created_by=actor.account_id,
                now_ms=now_ms,
            )
            await conversation_store.insert_members(conn, conversation_id, roles, now_ms)
            conversation = await self._view(
                await conversation_store.existing(conn, conversation_id), conn
            )
            rendered = render_conversation(conversation)
            payload = await stream_store.append_new_event(
                conn,
                self._db.positions,
                event_type=EventType.CONVERSATION,
                render=lambda position: conversation_event(position, rendered),
                recipients=roles,
            )
            conn.after_commit(lambda: self._ring(roles, payload))
        return conversation

    async def list_conversations(
        self, actor: Principal, *, after: int | None, limit: int
    ) -> list[ConversationView]:
        """The caller's conversations after the one with id `after`, oldest first."""
        async with self._db.reading() as conn:
            rows = await conversation_store.list_for_account(
                conn, actor.account_id, after=after or 0, limit=limit
            )
            roles = await conversation_store.member_roles_of(conn, [row.id for row in rows])
        return [ConversationView(row, roles[row.id]) for row in rows]

    async def get_conversation(self, actor: Principal, conversation_id: int) -> ConversationView:
        await self._require_member(actor, conversation_id)
        async with self._db.reading() as conn:
            row = await conversation_store.existing(conn, conversation_id)
            return await self._view(row, conn)

    async def send(
        self,
        actor: Principal,
        conversation_id: int,
        *,
        text: str,
        client_id: str,
        origin: object = None,
        attachment: dict[str, Any] | None = None,
        written_with: WrittenWith | None = None,
    ) -> Appended:
        """Store and deliver the message; what the check raised about it (and `written_with`,
        the caller's rows) is written in the message's own transaction."""
        require(actor, Permission.ACT)
        check_message_text(text, self._limits)
        check_client_id(client_id, self._limits)
        wait = await self._rate_limits.hit(self._sends, str(actor.account_id))
        if wait is not None:
            raise Throttled(
                f"too many messages; try again in {wait} s",
                code=ErrorCode.TOO_MANY_MESSAGES,
                retry_after=wait,
            )
        members = await self._require_member(actor, conversation_id)
        if members.kind == ConversationKind.GROUP:
            await self._enforcement.require_user_may(actor.account_id, Capability.SEND_GROUP)
            await self._standings.require_may(actor.account_id, Capability.SEND_GROUP)
            await self._enforcement.require_group_open(conversation_id)
            surface = Surface.GROUP
        else:
            await self._enforcement.require_user_may(actor.account_id, Capability.SEND_DIRECT)
            await self._standings.require_may(actor.account_id, Capability.SEND_DIRECT)
            recipient_id = next(i for i in members.ids if i != actor.account_id)
            await self._ties.require_may_message(actor.account_id, recipient_id)
            surface = Surface.DIRECT
        verdict = await self._check.screen(
            surface, text, author_id=actor.account_id, subject_type="message"
        )
        held = verdict.decision == Decision.HOLD  # its sender alone has it until approved
        if verdict.decision != Decision.ALLOW:  # flagged or held: its case commits with it
            raised = self._intake.screening(
                verdict,
                surface=surface,
                author_id=actor.account_id,
                content={"text": text, "conversation_id": conversation_id},
            )
            written_with = together(raised, written_with)
        appended = await self._log.append(
            conversation_id=conversation_id,
            sender_id=actor.account_id,
            client_id=client_id,
            text=text,
            recipients=(actor.account_id,) if held else members.ids,
            origin=origin,
            attachment=orjson.dumps(attachment).decode() if attachment is not None else None,
            moderation=MessageModeration.HELD if held else None,
            written_with=written_with,
        )
        if not appended.duplicate:
            subject = Subject(surface, Target.MESSAGE, appended.message.id, actor.account_id)
            self._classifiers.submit(text, subject)
        return appended

    async def history(
        self, actor: Principal, conversation_id: int, *, before: int | None, limit: int
    ) -> list[StoredMessage]:
        if not 1 <= limit <= self._limits.history_page_max:
            raise InvalidInput(
                f"limit must be 1-{self._limits.history_page_max}", code=ErrorCode.LIMIT_INVALID
            )
        await self._require_member(actor, conversation_id)
        async with self._db.reading() as conn:
            return await message_store.history(
                conn,
                conversation_id,
                viewer_id=actor.account_id,
                sender_only=SENDER_ONLY,
                before_seq=before,
                limit=limit,
            )

    async def is_member(self, actor: Principal, conversation_id: int) -> bool:
        try:
            await self._require_member(actor, conversation_id)
        except NotFound:
            return False
        return True

    async def _require_member(self, actor: Principal, conversation_id: int) -> Members:
        # One read per conversation however many sends wait on it; an unknown one is not kept.
        members = await self._members.get(
            conversation_id, lambda: self._read_members(conversation_id), keep=_has_members
        )
        # Outsiders learn nothing, not even that the conversation exists.
        if actor.account_id not in members.id_set:
            raise NotFound("no such conversation", code=ErrorCode.CONVERSATION_NOT_FOUND)
        return members

    async def _read_members(self, conversation_id: int) -> Members:
        async with self._db.reading() as conn:
            conversation = await conversation_store.get(conn, conversation_id)
            roles = await conversation_store.member_roles(conn, conversation_id)
        ids = tuple(roles)
        kind = conversation.kind if conversation is not None else ConversationKind.DIRECT
        return Members(kind, ids, frozenset(ids))

    def forget_members(self, conversation_id: int) -> None:
        """Once a change of a conversation's members commits: read them again on next use."""
        self._invalidations.forget(Topic.MEMBERS, conversation_id)

    async def _view(
        self, row: StoredConversation, conn: DbConnection | None = None
    ) -> ConversationView:
        if conn is None:
            async with self._db.reading() as reader:
                roles = await conversation_store.member_roles(reader, row.id)
        else:
            roles = await conversation_store.member_roles(conn, row.id)
        return ConversationView(row, roles)

    def _ring(self, recipients: Iterable[int], payload: bytes) -> None:
        for account_id in recipients:
            self._bus.publish(user_channel(account_id), payload)

    def _deliver(self, batch: Sequence[Appended]) -> None:
        """Ring each recipient's doorbell, in commit order; one encoding serves every member."""
        publish = self._bus.publish
        for appended in batch:
            message = appended.message
            frame = orjson.dumps(message_event(message.position, render_message(message)))
            for account_id in appended.recipients:
                publish(user_channel(account_id), frame, appended.origin)
