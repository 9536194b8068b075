"""Conversations and messages: who may create, read and post, and live delivery after commit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, ParamSpec, TypeVar

import orjson
from sqlalchemy.exc import IntegrityError

from townhall.bus.base import Bus, user_channel
from townhall.domain.enforcement import Capability
from townhall.domain.errors import Conflict, ErrorCode, Forbidden, InvalidInput, NotFound, Throttled
from townhall.domain.events import (
    EventType,
    conversation_event,
    message_event,
    read_event,
    recall_event,
    typing_frame,
)
from townhall.domain.limits import Limits
from townhall.domain.messaging import (
    GONE,
    MANAGERS,
    SENDER_ONLY,
    ConversationKind,
    MemberRole,
    MessageModeration,
    MessagingRules,
    check_client_id,
    check_message_text,
    check_read_seq,
    check_recall,
    checked_mentions,
    direct_pair_key,
    no_such_message,
    require_group,
)
from townhall.domain.moderation import Decision, Surface
from townhall.domain.permissions import Permission
from townhall.domain.review import Target
from townhall.domain.search import SCANNED_PER_PAGE
from townhall.domain.time import iso_utc
from townhall.services.caches import Invalidations, LocalCache, Topic
from townhall.services.classifiers import ClassifierStage, Subject
from townhall.services.contacts import Ties, require_users
from townhall.services.enforcement import Enforcement
from townhall.services.intake import CaseIntake
from townhall.services.media import MediaService
from townhall.services.moderation import ContentCheck
from townhall.services.principal import Principal, require
from townhall.services.rate_limits import Limit, RateLimits
from townhall.services.rendering import (
    ConversationSummary,
    ConversationView,
    carried_media,
    render_conversation,
    render_message,
    render_recall,
)
from townhall.services.search_rate import SearchRate
from townhall.services.standing import Standings
from townhall.store import accounts as account_store
from townhall.store import contacts as contact_store
from townhall.store import conversations as conversation_store
from townhall.store import media as media_store
from townhall.store import messages as message_store
from townhall.store import stream as stream_store
from townhall.store.conversations import StoredConversation
from townhall.store.database import Database, DbConnection, Transaction
from townhall.store.media import StoredMedia
from townhall.store.message_log import (
    Appended,
    MessageWriter,
    StoredMessage,
    WrittenWith,
    together,
)
from townhall.store.messages import Found

MEMBERS_CACHE_MAX = 100_000


@dataclass(frozen=True, slots=True)
class Members:
    """A conversation's members, cached: the send path checks them on every message."""

    kind: str
    ids: tuple[int, ...]
    id_set: frozenset[int]
    managers: frozenset[int]  # a group's owner and admins: they may mention everyone
    muted: frozenset[int]  # who may not send: muted one by one, or by "mute all"
    gone: frozenset[int] = frozenset()  # a direct conversation's deregistered member


@dataclass(frozen=True, slots=True)
class ReadState:
    """Where a member has read a conversation up to, and what is left unread."""

    conversation_id: int
    seq: int
    unread: int


def _carrying(media_ids: list[int]) -> WrittenWith:
    async def link(conn: Transaction, message: StoredMessage) -> None:
        await media_store.link_message(conn, message.id, media_ids)

    return link


def _case_content(text: str, conversation_id: int, carried: list[StoredMedia]) -> dict[str, Any]:
    """What a case about the message keeps of it: its text, and the media it carries (a
    reviewer reads them by id)."""
    content: dict[str, Any] = {"text": text, "conversation_id": conversation_id}
    if carried:
        content["media_ids"] = [media.id for media in carried]
    return content


def _has_members(members: Members) -> bool:
    return bool(members.ids)


def _require_unmuted(actor: Principal, members: Members) -> None:
    if actor.account_id in members.muted:
        raise Forbidden(
            "you are muted in this group by its owner or an admin", code=ErrorCode.MEMBER_MUTED
        )


P = ParamSpec("P")
T = TypeVar("T")


def answered_once_committed(
    queue: Callable[P, Awaitable[asyncio.Future[T]]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """A use case that queues a write, as one that answers once the write is committed. A
    caller that goes away does not cancel the write, nor what follows its commit."""

    async def answered(*args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.shield(await queue(*args, **kwargs))

    return answered


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
        media: MediaService,
        *,
        limits: Limits,
        rules: MessagingRules,
        rate_limits: RateLimits,
        search_rate: SearchRate,
        clock: Callable[[], float],
        invalidations: Invalidations,
    ) -> None:
        self._db = database
        self._rate_limits = rate_limits
        self._search_rate = search_rate
        self._sends = Limit.parse("sends_per_user", limits.sends_per_user)
        self._typing = Limit.parse("typing_per_user", limits.typing_per_user)
        self._rules = rules
        self._log = message_log
        self._bus = bus
        self._standings = standings
        self._enforcement = enforcement
        self._check = content_check
        self._intake = intake
        self._classifiers = classifiers
        self._ties = ties
        self._media = media
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
            await require_users(conn, set(roles) - {actor.account_id})
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
            await self._announce(
                conn,
                EventType.CONVERSATION,
                lambda position: conversation_event(position, rendered),
                tuple(roles),
            )
        return conversation

    async def list_conversations(
        self, actor: Principal, *, after: int | None, limit: int
    ) -> list[ConversationSummary]:
        """The caller's conversations after the one with id `after`, oldest first, each with
        the caller's read cursor (and in a direct one the other's, unless a block stands
        between them: no read receipts then), unread count and last message."""
        me = actor.account_id
        async with self._db.reading() as conn:
            rows = await conversation_store.list_for_account(
                conn, me, after=after or 0, limit=limit
            )
            ids = [row.id for row in rows]
            members = await conversation_store.roles_and_mutes_of(conn, ids)
            read = await message_store.read_seqs(conn, me, ids)
            partners = {
                row.id: other_id
                for row in rows
                if row.kind == ConversationKind.DIRECT
                for other_id in members[row.id][0]
                if other_id != me
            }
            # A block either way hides the receipt: the page's own read, not the pair cache's.
            blocked = await contact_store.blocked_either_way(conn, me, partners.values())
            receipts = {cid for cid, other_id in partners.items() if other_id not in blocked}
            partner_read = await message_store.partner_read_seqs(conn, me, receipts)
            unread = await message_store.unread_counts(conn, me, ids)
            last = await message_store.last_messages(conn, me, ids, sender_only=SENDER_ONLY)
        return [
            ConversationSummary(
                ConversationView(row, *members[row.id]),
                read_seq=read.get(row.id, 0),
                partner_read_seq=partner_read.get(row.id, 0) if row.id in receipts else None,
                unread=unread.get(row.id, 0),
                last_message=last.get(row.id),
            )
            for row in rows
        ]

    async def get_conversation(self, actor: Principal, conversation_id: int) -> ConversationView:
        await self._require_member(actor, conversation_id)
        async with self._db.reading() as conn:
            row = await conversation_store.existing(conn, conversation_id)
            return await self._view(row, conn)

    async def queue_send(
        self,
        actor: Principal,
        conversation_id: int,
        *,
        text: str,
        client_id: str,
        origin: object = None,
        attachment: dict[str, Any] | None = None,
        written_with: WrittenWith | None = None,
        reply_to: int | None = None,
        mentions: Sequence[int] = (),
        mention_everyone: bool = False,
        media_ids: Sequence[int] = (),
    ) -> asyncio.Future[Appended]:
        """Check the message and queue it to be stored and delivered: the future has it once it
        is committed (or the refusal of its write), and `send` waits for that. A caller with
        many sends in flight (a WebSocket) waits for none of them.

        What the check raised about it (and `written_with`, the caller's rows) is written in
        the message's own transaction. A reply names a message of the conversation the sender
        can see; mentions name its members, checked against the cached members (the send path
        reads nothing more unless it replies or carries media). Media it carries are the
        sender's uploads or ones the sender may read (a forward); with them its text may be
        empty."""
        require(actor, Permission.ACT)
        check_message_text(text, self._limits, required=not media_ids)
        check_client_id(client_id, self._limits)
        wait = await self._rate_limits.hit(self._sends, str(actor.account_id))
        if wait is not None:
            raise Throttled(
                f"too many messages; try again in {wait} s",
                code=ErrorCode.TOO_MANY_MESSAGES,
                retry_after=wait,
            )
        members = await self._require_member(actor, conversation_id)
        surface = await self._require_may_write(actor, members, conversation_id)
        mentioned = None
        if mentions or mention_everyone:
            mentioned = checked_mentions(
                mentions,
                mention_everyone,
                member_ids=members.id_set,
                may_mention_everyone=actor.account_id in members.managers,
            )
        if reply_to is not None:
            await self._check_reply(actor, conversation_id, reply_to)
        carried = await self._media.attachable(actor, media_ids)
        if carried:  # who may read them is asked of these rows, written with the message
            written_with = together(_carrying([m.id for m in carried]), written_with)
        verdict = await self._check.screen(
            surface, text, author_id=actor.account_id, subject_type="message", media=carried
        )
        held = verdict.decision == Decision.HOLD  # its sender alone has it until approved
        if verdict.decision != Decision.ALLOW:  # flagged or held: its case commits with it
            raised = self._intake.screening(
                verdict,
                surface=surface,
                author_id=actor.account_id,
                content=_case_content(text, conversation_id, carried),
            )
            written_with = together(raised, written_with)
        appended = self._log.append(
            conversation_id=conversation_id,
            sender_id=actor.account_id,
            client_id=client_id,
            text=text,
            recipients=(actor.account_id,) if held else members.ids,
            origin=origin,
            attachment=orjson.dumps(attachment).decode() if attachment is not None else None,
            moderation=MessageModeration.HELD if held else None,
            written_with=written_with,
            reply_to=reply_to,
            mentions=orjson.dumps(mentioned).decode() if mentioned is not None else None,
            media=carried_media(carried),
        )
        appended.add_done_callback(partial(self._classify, text, surface, actor.account_id))
        return appended

    send = answered_once_committed(queue_send)

    def _classify(
        self, text: str, surface: str, author_id: int, appended: asyncio.Future[Appended]
    ) -> None:
        """Hand a stored message to the classifiers (a resend was handed over the first time)."""
        if appended.cancelled() or appended.exception() is not None:
            return
        stored = appended.result()
        if not stored.duplicate:
            subject = Subject(surface, Target.MESSAGE, stored.message.id, author_id)
            self._classifiers.submit(text, subject)

    async def _require_may_write(
        self, actor: Principal, members: Members, conversation_id: int, *, reaches: bool = True
    ) -> str:
        """What a send needs of the sender (and of a group): the same for every write into a
        conversation. Returns the content check's surface for it. A write that `reaches` the
        other member of a direct conversation (not a recall) also needs their leave (friends,
        no block) and their account active."""
        if members.kind == ConversationKind.GROUP:
            _require_unmuted(actor, members)
            await self._enforcement.require_user_may(actor.account_id, Capability.SEND_GROUP)
            await self._standings.require_may(actor.account_id, Capability.SEND_GROUP)
            await self._enforcement.require_group_open(conversation_id)
            return Surface.GROUP
        await self._enforcement.require_user_may(actor.account_id, Capability.SEND_DIRECT)
        await self._standings.require_may(actor.account_id, Capability.SEND_DIRECT)
        recipient_id = next((i for i in members.ids if i != actor.account_id), None)
        if recipient_id is None or not reaches:
            return Surface.DIRECT
        # A deregistered account is gone for everyone, its ties with it. A closure is told only
        # to one who may message the account (the pack's friends-first rule, and blocks).
        if recipient_id in members.gone:
            raise _recipient_inactive()
        await self._ties.require_may_message(actor.account_id, recipient_id)
        if await self._enforcement.user_closed(recipient_id):
            raise _recipient_inactive()
        return Surface.DIRECT

    async def _check_reply(self, actor: Principal, conversation_id: int, reply_to: int) -> None:
        async with self._db.reading() as conn:
            target = await message_store.get(conn, reply_to)
        if (
            target is None
            or target.conversation_id != conversation_id
            or (target.moderation in SENDER_ONLY and target.sender_id != actor.account_id)
        ):
            raise NotFound(
                "reply_to must be a message of this conversation",
                code=ErrorCode.REPLY_TARGET_NOT_FOUND,
            )

    async def recall(
        self, actor: Principal, conversation_id: int, message_id: int
    ) -> StoredMessage:
        """The sender takes a message back within the pack's window: every member gets a recall
        event and sees it without its text from then on (history and sync replays alike); the
        stored copy stays for reviewers, reports and retention. Recalling it again, or a message
        moderation removed, changes nothing."""
        require(actor, Permission.ACT)
        members = await self._require_member(actor, conversation_id)
        # Taking back reaches no one anew: also from one who blocked the sender since, or whose
        # account closed or went.
        await self._require_may_write(actor, members, conversation_id, reaches=False)
        now_ms = self._now_ms()
        async with self._db.writing() as conn:
            message = await message_store.get(conn, message_id)
            if message is None or message.conversation_id != conversation_id:
                raise no_such_message()
            check_recall(
                sender_id=message.sender_id,
                actor_id=actor.account_id,
                sent_at_ms=message.created_at_ms,
                now_ms=now_ms,
                rules=self._rules,
            )
            if message.recalled_at is not None or message.moderation in GONE:
                return message
            await message_store.recall(conn, message_id, now_ms)
            recalled = replace(message, recalled_at=now_ms)
            held = message.moderation in SENDER_ONLY  # nobody else ever had it
            await self._announce(
                conn,
                EventType.RECALL,
                lambda position: recall_event(position, render_recall(recalled)),
                (actor.account_id,) if held else members.ids,
            )
        return recalled

    async def mark_read(
        self,
        actor: Principal,
        conversation_id: int,
        *,
        seq: int | None = None,
        message_id: int | None = None,
    ) -> ReadState:
        """Move the caller's read cursor up to a message (by seq or id); it never moves back.
        A move is an event in the reader's stream, so their other devices follow, and in a
        direct chat in the other member's too (a read receipt), unless either blocks the other."""
        require(actor, Permission.ACT)
        await self._enforcement.require_user_may(actor.account_id, Capability.INTERACT)
        members = await self._require_member(actor, conversation_id)
        me = actor.account_id
        receipt = await self._receipt_to(members, me)
        now_ms = self._now_ms()
        async with self._db.writing() as conn:
            seq = await self._read_target(conn, conversation_id, seq, message_id)
            current = await message_store.read_seq(conn, conversation_id, me)
            if seq > current:
                await message_store.set_read_seq(conn, conversation_id, me, seq, now_ms)
                read = {
                    "conversation_id": conversation_id,
                    "user_id": me,
                    "seq": seq,
                    "read_at": iso_utc(now_ms),
                }
                await self._announce(
                    conn,
                    EventType.READ,
                    lambda position: read_event(position, read),
                    (me, receipt) if receipt is not None else (me,),
                )
            unread = await message_store.unread_counts(conn, me, [conversation_id])
        return ReadState(conversation_id, max(seq, current), unread.get(conversation_id, 0))

    async def _receipt_to(self, members: Members, reader_id: int) -> int | None:
        """Who gets the reader's read receipts: the other member of a direct chat, unless a
        block stands between them (whoever blocked, neither learns what the other read)."""
        if members.kind != ConversationKind.DIRECT:
            return None
        other_id = next((i for i in members.ids if i != reader_id), None)
        if other_id is None or await self._ties.blocked(reader_id, other_id):
            return None
        return other_id

    @staticmethod
    async def _read_target(
        conn: DbConnection, conversation_id: int, seq: int | None, message_id: int | None
    ) -> int:
        if (seq is None) == (message_id is None):
            raise InvalidInput("give one of seq and message_id", code=ErrorCode.READ_SEQ_INVALID)
        if message_id is not None:
            message = await message_store.get(conn, message_id)
            if message is None or message.conversation_id != conversation_id:
                raise no_such_message()
            return message.seq
        assert seq is not None
        check_read_seq(seq, await message_store.last_seq(conn, conversation_id))
        return seq

    async def typing(self, actor: Principal, conversation_id: int) -> None:
        """Relay "typing" to the other members' live sockets: never stored, never in sync."""
        require(actor, Permission.ACT)
        wait = await self._rate_limits.hit(self._typing, str(actor.account_id))
        if wait is not None:
            raise Throttled(
                f"too many typing indicators; try again in {wait} s",
                code=ErrorCode.TOO_MANY_TYPING,
                retry_after=wait,
            )
        members = await self._require_member(actor, conversation_id)
        await self._require_may_write(actor, members, conversation_id)
        frame = orjson.dumps(typing_frame(conversation_id, actor.account_id))
        self._ring((m for m in members.ids if m != actor.account_id), frame)

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

    async def search(
        self, actor: Principal, query: str, *, before: int | None, limit: int
    ) -> Found:
        """The messages holding the query's terms that the caller may read now, newest first:
        of conversations they are a member of, neither recalled nor removed, and delivered, or
        held and their own (domain/search.py says how the terms are found). A page may end
        short of `limit` and still have a next one (`Found.next_before`)."""
        terms = await self._search_rate.admit(actor, query)
        async with self._db.reading() as conn:
            return await message_store.find(
                conn,
                terms,
                searcher_id=actor.account_id,
                held=MessageModeration.HELD,
                before=before,
                limit=limit,
                scanned_max=SCANNED_PER_PAGE,
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

    async def require_unmuted(self, actor: Principal, conversation_id: int) -> None:
        """Refuse a change to a group (an invitation, its title) by a non-member, as no such
        conversation; on a direct conversation, as not a group; and by a member muted there."""
        members = await self._require_member(actor, conversation_id)
        require_group(members.kind)
        _require_unmuted(actor, members)

    async def _read_members(self, conversation_id: int) -> Members:
        async with self._db.reading() as conn:
            conversation = await conversation_store.get(conn, conversation_id)
            roles, muted = await conversation_store.roles_and_mutes(conn, conversation_id)
            direct = conversation is not None and conversation.kind == ConversationKind.DIRECT
            # Deregistering leaves every group, but not a direct conversation's history.
            gone = await account_store.deregistered_among(conn, roles) if direct else set()
        ids = tuple(roles)
        if conversation is None:
            return Members(ConversationKind.DIRECT, ids, frozenset(ids), frozenset(), frozenset())
        managers = frozenset(
            i
            for i, role in roles.items()
            if conversation.kind == ConversationKind.GROUP and role in MANAGERS
        )
        if conversation.mute_all:  # the owner and admins are never muted by "mute all"
            muted |= frozenset(ids) - managers
        return Members(conversation.kind, ids, frozenset(ids), managers, muted, frozenset(gone))

    def forget_members(self, conversation_id: int) -> None:
        """Once a change of a conversation's members commits: read them again on next use."""
        self._invalidations.forget(Topic.MEMBERS, conversation_id)

    async def forget_direct_of(self, conn: Transaction, account_id: int) -> None:
        """Deregistration's part: once it commits, the account's direct conversations read their
        members again, and find it gone."""
        direct = await conversation_store.ids_of_member(conn, account_id, ConversationKind.DIRECT)

        def forget() -> None:
            for conversation_id in direct:
                self.forget_members(conversation_id)

        conn.after_commit(forget)

    async def _view(
        self, row: StoredConversation, conn: DbConnection | None = None
    ) -> ConversationView:
        if conn is None:
            async with self._db.reading() as reader:
                return await self._view(row, reader)
        return ConversationView(row, *await conversation_store.roles_and_mutes(conn, row.id))

    async def _announce(
        self,
        conn: Transaction,
        event_type: str,
        render: Callable[[int], dict[str, Any]],
        recipients: tuple[int, ...],
    ) -> None:
        """Append an event to the recipients' streams in the caller's transaction, and ring
        their doorbells once it commits."""
        payload = await stream_store.append_new_event(
            conn, self._db.positions, event_type=event_type, render=render, recipients=recipients
        )
        conn.after_commit(lambda: self._ring(recipients, payload))

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


def _recipient_inactive() -> Conflict:
    return Conflict(
        "the other member's account is deregistered or closed: messages reach nobody",
        code=ErrorCode.RECIPIENT_INACTIVE,
    )
