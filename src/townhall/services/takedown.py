"""What a review decision does to content: a hold released to everyone it was for, or a
removal that leaves a tombstone in every stream, timeline and forward that carried it, and takes
down the media it carried wherever else they went.

Each function writes in the caller's transaction and pushes to clients once it commits, so a
rolled-back bulk decision pushes nothing."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

import orjson

from townhall.bus.base import Bus, user_channel
from townhall.domain.events import EventType, message_event, post_event, tombstone_event
from townhall.domain.messaging import GONE, MessageModeration
from townhall.domain.public_accounts import PostState
from townhall.domain.review import Target
from townhall.services.live_posts import LiveFollowers
from townhall.services.rendering import (
    carried_media,
    post_attachment,
    render_message,
    render_post,
)
from townhall.store import conversations as conversation_store
from townhall.store import media as media_store
from townhall.store import messages as message_store
from townhall.store import posts as post_store
from townhall.store import reach as reach_store
from townhall.store import stream as stream_store
from townhall.store.database import Transaction
from townhall.store.message_log import StoredMessage
from townhall.store.positions import StreamPositions


@dataclass(frozen=True, slots=True)
class Removal:
    """What a removal took down: messages; or a post, its re-posts and the messages that
    forwarded any of them. Content already gone is not taken down again, so not named."""

    messages: tuple[int, ...] = ()
    posts: tuple[int, ...] = ()
    forwards: tuple[int, ...] = ()  # the messages carrying the posts

    @property
    def targets(self) -> list[tuple[str, int]]:
        return [
            *((Target.MESSAGE, message_id) for message_id in (*self.messages, *self.forwards)),
            *((Target.POST, post_id) for post_id in self.posts),
        ]


class Takedown:
    def __init__(self, positions: StreamPositions, bus: Bus, live: LiveFollowers) -> None:
        self._positions = positions
        self._bus = bus
        self._live = live

    # Holds released ------------------------------------------------------------------------

    async def release_message(self, conn: Transaction, message_id: int) -> None:
        """Deliver a held message to the rest of its conversation, at a new stream position."""
        message = await message_store.get(conn, message_id)
        if message is None or message.moderation != MessageModeration.HELD:
            return
        await message_store.set_moderation(conn, message_id, None)
        released = replace(message, moderation=None)
        await self._redeliver(conn, released, everyone=False)

    async def release_post(self, conn: Transaction, post_id: int) -> None:
        post = await post_store.get(conn, post_id)
        if post is None or post.status != PostState.HELD:
            return
        await post_store.publish(conn, [post_id], published=PostState.PUBLISHED)
        await self._push_post(conn, post_id)

    # Removals reversed on appeal -----------------------------------------------------------

    async def restore_message(self, conn: Transaction, message_id: int, text: str) -> None:
        """Give a removed message back its text (the case's copy) and deliver it again, at a
        new stream position, to everyone it reached or, removed while held, was for; a forward
        carries its post again."""
        message = await message_store.get(conn, message_id)
        if message is None or message.moderation not in GONE:
            return
        forward = await reach_store.forward_by_message(conn, message_id)
        attachment = None
        if forward is not None:
            post = await post_store.existing(conn, forward.post_id)
            text, attachment = post.title, orjson.dumps(post_attachment(post)).decode()
        media = carried_media(await media_store.of_message(conn, message_id))
        await message_store.restore(conn, message_id, text=text, attachment=attachment, media=media)
        restored = replace(message, text=text, attachment=attachment, media=media, moderation=None)
        await self._redeliver(conn, restored, everyone=True)

    async def restore_post(self, conn: Transaction, post_id: int) -> None:
        """The post and the re-posts and forwards its removal took down with it."""
        post_ids = [post_id, *await post_store.reposts_of(conn, [post_id])]
        statuses = await post_store.statuses(conn, post_ids)
        gone = (PostState.REMOVED, PostState.WITHHELD)  # withheld: removed while held
        removed = [pid for pid in post_ids if statuses.get(pid) in gone]
        # Published again, at new timeline positions: a reader polling sees them come back.
        await post_store.publish(conn, removed, published=PostState.PUBLISHED)
        for pid in removed:
            await self._push_post(conn, pid)
        for message_id in await reach_store.forward_messages(conn, removed):
            await self.restore_message(conn, message_id, "")

    async def _redeliver(
        self, conn: Transaction, message: StoredMessage, *, everyone: bool
    ) -> None:
        """Deliver the message as it now stands, at a new stream position, to its conversation
        (`everyone`: its sender too)."""
        members = await conversation_store.member_roles(conn, message.conversation_id)
        recipients = [uid for uid in members if everyone or uid != message.sender_id]
        position = await stream_store.append_message(
            conn, self._positions, message_id=message.id, recipients=recipients
        )
        frame = orjson.dumps(message_event(position, render_message(message)))
        conn.after_commit(lambda: self._ring(recipients, frame))

    # Removals ------------------------------------------------------------------------------

    async def remove_media(
        self, conn: Transaction, removal: Removal, *, case_id: int, now_ms: int
    ) -> list[int]:
        """The media the removed messages and posts carried, removed by the case: from then on
        staff's alone to read, wherever else they were sent or forwarded (the same media
        object). Returns those it removed."""
        return await media_store.remove_carried(
            conn,
            message_ids=[*removal.messages, *removal.forwards],
            post_ids=removal.posts,
            case_id=case_id,
            now_ms=now_ms,
        )

    async def remove_copies(
        self, conn: Transaction, media_ids: list[int], *, case_id: int, now_ms: int
    ) -> list[int]:
        """The same images uploaded again (the same stored bytes) and sent elsewhere, removed by
        the case with them. Returns those it removed."""
        return await media_store.remove_copies(conn, media_ids, case_id=case_id, now_ms=now_ms)

    async def restore_media(self, conn: Transaction, case_id: int) -> list[int]:
        """The media a case's removal took, readable again: its removal was reversed."""
        return await media_store.restore_removed_by(conn, case_id)

    async def remove_messages(self, conn: Transaction, message_ids: list[int]) -> Removal:
        """Blank each message and put a tombstone in the stream of everyone who had it."""
        return Removal(messages=await self._remove_messages(conn, message_ids))

    async def _remove_messages(self, conn: Transaction, message_ids: list[int]) -> tuple[int, ...]:
        rows = await message_store.of_ids(conn, message_ids)
        live = [row for row in rows if row.moderation not in GONE]
        held = [row.id for row in live if row.moderation == MessageModeration.HELD]
        delivered = [row.id for row in live if row.moderation != MessageModeration.HELD]
        await message_store.blank(conn, held, MessageModeration.WITHHELD)
        await message_store.blank(conn, delivered, MessageModeration.REMOVED)
        members: dict[int, list[int]] = {}  # many forwards share a conversation
        for row in live:
            if row.moderation == MessageModeration.HELD:
                recipients = [row.sender_id]
            else:
                if row.conversation_id not in members:
                    members[row.conversation_id] = list(
                        await conversation_store.member_roles(conn, row.conversation_id)
                    )
                recipients = members[row.conversation_id]
            target = {"type": "message", "id": row.id, "conversation_id": row.conversation_id}
            payload = await stream_store.append_new_event(
                conn,
                self._positions,
                event_type=EventType.TOMBSTONE,
                render=partial(tombstone_event, target=target),
                recipients=recipients,
            )
            conn.after_commit(partial(self._ring, recipients, payload))
        return tuple(row.id for row in live)

    async def remove_post(self, conn: Transaction, post_id: int) -> Removal:
        """The post, every re-post of it down the chain, and every forward of any of them.
        What subscribers saw becomes a tombstone; what they never saw stays unseen."""
        post_ids = [post_id, *await post_store.reposts_of(conn, [post_id])]
        statuses = await post_store.statuses(conn, post_ids)
        shown = [pid for pid in post_ids if statuses.get(pid) == PostState.PUBLISHED]
        held = [pid for pid in post_ids if statuses.get(pid) == PostState.HELD]
        await post_store.set_status(conn, shown, PostState.REMOVED)
        await post_store.set_status(conn, held, PostState.WITHHELD)
        forwards = await self._remove_messages(
            conn, await reach_store.forward_messages(conn, post_ids)
        )
        for pid in shown:  # online followers swap it for its tombstone at once
            await self._push_post(conn, pid)
        return Removal(posts=(*shown, *held), forwards=forwards)

    async def _push_post(self, conn: Transaction, post_id: int) -> None:
        """The post as it now stands, to its online followers once the change commits."""
        frame = orjson.dumps(post_event(render_post(await post_store.existing(conn, post_id))))
        conn.after_commit(lambda: self._live.publish(frame))

    def _ring(self, recipients: list[int], payload: bytes) -> None:
        for account_id in recipients:
            self._bus.publish(user_channel(account_id), payload)
