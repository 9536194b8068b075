"""Media objects' rows, the messages and posts that carry them, who may read one (a join), and
removals by review."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, insert, or_, select, update

from townhall.store.database import DbConnection
from townhall.store.records import record_or_none, records
from townhall.store.schema import (
    media,
    members,
    message_media,
    messages,
    post_media,
    posts,
    public_accounts,
)

# SQLite allows 32,766 bound values in a statement; a removal may name more messages.
CHUNK = 10_000


@dataclass(frozen=True, slots=True)
class StoredMedia:
    id: int
    sha256: str  # of the stored bytes
    uploader_id: int
    kind: str
    content_type: str
    size: int
    width: int | None
    height: int | None
    pdq: str | None
    pdq_quality: int | None
    thumbnail_sha256: str | None
    filename: str | None
    created_at: int
    removed_at: int | None
    removed_by_case: int | None


@dataclass(frozen=True, slots=True)
class Readers:
    """What makes a message's or a post's media readable, from the rules of messages and
    posts: messages with no moderation are their members'; those in `sender_only` their
    sender's alone; posts in `shown` state of accounts in `open_accounts` everyone's, and those
    in `operator_sees` their account's operator's."""

    sender_only: Sequence[str]
    shown: str
    open_accounts: Sequence[str]
    operator_sees: Sequence[str]


async def insert_media(conn: DbConnection, **values: Any) -> int:
    result = await conn.execute(insert(media).values(**values))
    (media_id,) = result.inserted_primary_key
    return int(media_id)


async def get(conn: DbConnection, media_id: int) -> StoredMedia | None:
    result = await conn.execute(select(media).where(media.c.id == media_id))
    return record_or_none(StoredMedia, result.first())


async def of_ids(conn: DbConnection, media_ids: Sequence[int]) -> dict[int, StoredMedia]:
    if not media_ids:
        return {}
    result = await conn.execute(select(media).where(media.c.id.in_(media_ids)))
    return {row.id: row for row in records(StoredMedia, result)}


async def carried_for(conn: DbConnection, media_id: int, account_id: int, readers: Readers) -> bool:
    """Whether the account may read a message or a post that carries the media object: a
    member of a conversation where a message that is not removed or recalled carries it, or a
    reader of a post that does."""
    in_message = (
        select(message_media.c.media_id)
        .select_from(
            message_media.join(messages, messages.c.id == message_media.c.message_id).join(
                members,
                and_(
                    members.c.conversation_id == messages.c.conversation_id,
                    members.c.account_id == account_id,
                ),
            )
        )
        .where(
            message_media.c.media_id == media_id,
            messages.c.recalled_at.is_(None),
            or_(
                messages.c.moderation.is_(None),
                and_(
                    messages.c.moderation.in_(readers.sender_only),
                    messages.c.sender_id == account_id,
                ),
            ),
        )
    )
    in_post = (
        select(post_media.c.media_id)
        .select_from(
            post_media.join(posts, posts.c.id == post_media.c.post_id).join(
                public_accounts, public_accounts.c.id == posts.c.public_account_id
            )
        )
        .where(
            post_media.c.media_id == media_id,
            or_(
                and_(
                    posts.c.status == readers.shown,
                    public_accounts.c.status.in_(readers.open_accounts),
                ),
                and_(
                    posts.c.status.in_(readers.operator_sees),
                    public_accounts.c.operator_id == account_id,
                ),
            ),
        )
    )
    return bool(await conn.scalar(select(or_(exists(in_message), exists(in_post)))))


async def link_message(conn: DbConnection, message_id: int, media_ids: Sequence[int]) -> None:
    if media_ids:
        await conn.execute(
            insert(message_media),
            [
                {"message_id": message_id, "position": position, "media_id": media_id}
                for position, media_id in enumerate(media_ids)
            ],
        )


async def link_post(conn: DbConnection, post_id: int, media_ids: Sequence[int]) -> None:
    if media_ids:
        await conn.execute(
            insert(post_media),
            [
                {"post_id": post_id, "position": position, "media_id": media_id}
                for position, media_id in enumerate(media_ids)
            ],
        )


async def of_message(conn: DbConnection, message_id: int) -> list[StoredMedia]:
    """The media a message carries, in its order."""
    result = await conn.execute(
        select(media)
        .join(message_media, message_media.c.media_id == media.c.id)
        .where(message_media.c.message_id == message_id)
        .order_by(message_media.c.position)
    )
    return records(StoredMedia, result)


async def remove_carried(
    conn: DbConnection,
    *,
    message_ids: Sequence[int],
    post_ids: Sequence[int],
    case_id: int,
    now_ms: int,
) -> list[int]:
    """Mark removed, by the case, the media these messages and posts carry and that are not
    removed yet; returns their ids."""
    found: set[int] = set()
    for link, column, ids in (
        (message_media, message_media.c.message_id, message_ids),
        (post_media, post_media.c.post_id, post_ids),
    ):
        for start in range(0, len(ids), CHUNK):
            result = await conn.execute(
                select(link.c.media_id).where(column.in_(ids[start : start + CHUNK]))
            )
            found |= {row.media_id for row in result}
    carried = sorted(found)
    removed = []
    for start in range(0, len(carried), CHUNK):
        chunk = carried[start : start + CHUNK]
        result = await conn.execute(
            select(media.c.id).where(media.c.id.in_(chunk), media.c.removed_at.is_(None))
        )
        newly = [row.id for row in result]
        if newly:
            await conn.execute(
                update(media)
                .where(media.c.id.in_(newly))
                .values(removed_at=now_ms, removed_by_case=case_id)
            )
        removed += newly
    return removed


async def restore_removed_by(conn: DbConnection, case_id: int) -> list[int]:
    """The media a case's removal took, readable again (its removal was reversed)."""
    result = await conn.execute(select(media.c.id).where(media.c.removed_by_case == case_id))
    restored = [row.id for row in result]
    if restored:
        await conn.execute(
            update(media)
            .where(media.c.removed_by_case == case_id)
            .values(removed_at=None, removed_by_case=None)
        )
    return restored


async def remove_copies(
    conn: DbConnection, media_ids: Sequence[int], *, case_id: int, now_ms: int
) -> list[int]:
    """Mark removed, by the case, the other media objects whose stored bytes are those of these
    (the same image uploaded again) and that are not removed yet; returns their ids."""
    digests: set[str] = set()
    for start in range(0, len(media_ids), CHUNK):
        result = await conn.execute(
            select(media.c.sha256).where(media.c.id.in_(media_ids[start : start + CHUNK]))
        )
        digests |= {row.sha256 for row in result}
    copies: list[int] = []
    ordered = sorted(digests)
    for start in range(0, len(ordered), CHUNK):
        result = await conn.execute(
            select(media.c.id).where(
                media.c.sha256.in_(ordered[start : start + CHUNK]), media.c.removed_at.is_(None)
            )
        )
        copies += [row.id for row in result]
    for start in range(0, len(copies), CHUNK):
        await conn.execute(
            update(media)
            .where(media.c.id.in_(copies[start : start + CHUNK]))
            .values(removed_at=now_ms, removed_by_case=case_id)
        )
    return sorted(copies)
