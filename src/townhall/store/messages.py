"""Reading a conversation's history, newest first, paged by sequence number; holds, removals
and recalls of single messages; each member's read cursor, unread counts and last messages;
searching the messages a member may read."""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    Select,
    and_,
    bindparam,
    func,
    or_,
    select,
    true,
    tuple_,
    update,
)

from townhall.domain.search import SearchTerms
from townhall.store import search
from townhall.store.database import DbConnection
from townhall.store.message_log import StoredMessage, stored_message
from townhall.store.on_conflict import insert_on_conflict
from townhall.store.prepared import prepared
from townhall.store.schema import members, messages, read_cursors

# SQLite allows 32,766 bound values in a statement; a post may have been forwarded more often.
CHUNK = 10_000


async def history(
    conn: DbConnection,
    conversation_id: int,
    *,
    viewer_id: int,
    sender_only: Sequence[str],
    before_seq: int | None,
    limit: int,
) -> list[StoredMessage]:
    """Messages whose moderation is one of `sender_only` are in their sender's history only."""
    parameters = {"conversation_id": conversation_id, "viewer_id": viewer_id, "limit": limit}
    if before_seq is not None:
        parameters["before_seq"] = before_seq
    page = _history_page(tuple(sender_only), below=before_seq is not None)
    return [stored_message(row) for row in await conn.execute(page, parameters)]


@functools.cache
def _history_page(sender_only: tuple[str, ...], *, below: bool) -> Select[Any]:
    """A page of history, newest first, built once for each `sender_only` (a constant of the
    caller's) and with or without a seq to page below: a prepared read (store/prepared.py)."""
    query = select(messages).where(
        messages.c.conversation_id == bindparam("conversation_id"),
        _seen_by(bindparam("viewer_id"), sender_only),
    )
    if below:
        query = query.where(messages.c.seq < bindparam("before_seq"))
    return prepared(query.order_by(messages.c.seq.desc()).limit(bindparam("limit")))


async def get(conn: DbConnection, message_id: int) -> StoredMessage | None:
    result = await conn.execute(select(messages).where(messages.c.id == message_id))
    row = result.first()
    return None if row is None else stored_message(row)


async def of_ids(conn: DbConnection, message_ids: Sequence[int]) -> list[StoredMessage]:
    found = []
    for start in range(0, len(message_ids), CHUNK):
        chunk = message_ids[start : start + CHUNK]
        result = await conn.execute(select(messages).where(messages.c.id.in_(chunk)))
        found += [stored_message(row) for row in result]
    return found


async def set_moderation(conn: DbConnection, message_id: int, moderation: str | None) -> None:
    await conn.execute(
        update(messages).where(messages.c.id == message_id).values(moderation=moderation)
    )


async def restore(
    conn: DbConnection,
    message_id: int,
    *,
    text: str,
    attachment: str | None,
    media: str | None,
) -> None:
    """An appeal reversed its removal: what it said is back, from the case's copy, and found
    by search again."""
    await conn.execute(
        update(messages)
        .where(messages.c.id == message_id)
        .values(text=text, attachment=attachment, media=media, moderation=None)
    )
    await search.index_messages(conn, [(message_id, text)])


async def blank(conn: DbConnection, message_ids: Sequence[int], moderation: str) -> None:
    """Removed: the text and what it carried are gone, from the search index too; the row
    stays as the tombstone."""
    for start in range(0, len(message_ids), CHUNK):
        chunk = message_ids[start : start + CHUNK]
        await conn.execute(
            update(messages)
            .where(messages.c.id.in_(chunk))
            .values(text="", attachment=None, media=None, moderation=moderation)
        )
        await search.unindex_messages(conn, chunk)


async def recall(conn: DbConnection, message_id: int, now_ms: int) -> None:
    """Recalled by its sender: the text stays stored (reviewers, reports, retention)."""
    await conn.execute(
        update(messages).where(messages.c.id == message_id).values(recalled_at=now_ms)
    )


async def last_seq(conn: DbConnection, conversation_id: int) -> int:
    seq = await conn.scalar(
        select(func.max(messages.c.seq)).where(messages.c.conversation_id == conversation_id)
    )
    return int(seq or 0)


async def read_seq(conn: DbConnection, conversation_id: int, account_id: int) -> int:
    seq = await conn.scalar(
        select(read_cursors.c.seq).where(
            read_cursors.c.conversation_id == conversation_id,
            read_cursors.c.account_id == account_id,
        )
    )
    return int(seq or 0)


async def set_read_seq(
    conn: DbConnection, conversation_id: int, account_id: int, seq: int, now_ms: int
) -> None:
    values = {"conversation_id": conversation_id, "account_id": account_id, "seq": seq}
    await conn.execute(
        insert_on_conflict(read_cursors)
        .values(**values, read_at=now_ms)
        .on_conflict_do_update(
            index_elements=["conversation_id", "account_id"], set_={"seq": seq, "read_at": now_ms}
        )
    )


def _seen_by(viewer_id: int | BindParameter[int], sender_only: Sequence[str]) -> Any:
    """Sent for all, or the viewer's own. Not IN is spelled as one comparison a value, so that a
    statement built once (_history_page) holds no list to expand on every call."""
    sent_for_all = and_(true(), *(messages.c.moderation != value for value in sender_only))
    return or_(messages.c.moderation.is_(None), sent_for_all, messages.c.sender_id == viewer_id)


async def unread_counts(
    conn: DbConnection, account_id: int, conversation_ids: Sequence[int]
) -> dict[int, int]:
    """Per conversation: the others' messages after the reader's cursor, since they joined,
    delivered as sent and not recalled."""
    joined = members.alias("joined")
    result = await conn.execute(
        select(messages.c.conversation_id, func.count())
        .select_from(
            messages.join(
                joined,
                and_(
                    joined.c.conversation_id == messages.c.conversation_id,
                    joined.c.account_id == account_id,
                ),
            ).outerjoin(
                read_cursors,
                and_(
                    read_cursors.c.conversation_id == messages.c.conversation_id,
                    read_cursors.c.account_id == account_id,
                ),
            )
        )
        .where(
            messages.c.conversation_id.in_(conversation_ids),
            messages.c.seq > func.coalesce(read_cursors.c.seq, 0),
            messages.c.sender_id != account_id,
            messages.c.moderation.is_(None),
            messages.c.recalled_at.is_(None),
            messages.c.created_at >= joined.c.joined_at,
        )
        .group_by(messages.c.conversation_id)
    )
    return {conversation_id: count for conversation_id, count in result}


async def read_seqs(
    conn: DbConnection, account_id: int, conversation_ids: Sequence[int]
) -> dict[int, int]:
    result = await conn.execute(
        select(read_cursors.c.conversation_id, read_cursors.c.seq).where(
            read_cursors.c.account_id == account_id,
            read_cursors.c.conversation_id.in_(conversation_ids),
        )
    )
    return {conversation_id: seq for conversation_id, seq in result}


async def partner_read_seqs(
    conn: DbConnection, account_id: int, direct_ids: Collection[int]
) -> dict[int, int]:
    """In each of these direct conversations, how far the other member has read."""
    result = await conn.execute(
        select(read_cursors.c.conversation_id, read_cursors.c.seq).where(
            read_cursors.c.conversation_id.in_(direct_ids),
            read_cursors.c.account_id != account_id,
        )
    )
    return {conversation_id: seq for conversation_id, seq in result}


async def last_messages(
    conn: DbConnection,
    viewer_id: int,
    conversation_ids: Sequence[int],
    *,
    sender_only: Sequence[str],
) -> dict[int, StoredMessage]:
    """Per conversation, the last message the viewer can see."""
    tops = (
        select(messages.c.conversation_id, func.max(messages.c.seq).label("seq"))
        .where(messages.c.conversation_id.in_(conversation_ids), _seen_by(viewer_id, sender_only))
        .group_by(messages.c.conversation_id)
    )
    keys = [(conversation_id, seq) for conversation_id, seq in await conn.execute(tops)]
    if not keys:
        return {}
    result = await conn.execute(
        select(messages).where(tuple_(messages.c.conversation_id, messages.c.seq).in_(keys))
    )
    return {row.conversation_id: stored_message(row) for row in result}


@dataclass(frozen=True, slots=True)
class Found:
    """A page of search hits, and where the next page starts: below `next_before`, a message
    id (None: there is nothing more)."""

    messages: list[StoredMessage]
    next_before: int | None


async def find(
    conn: DbConnection,
    terms: SearchTerms,
    *,
    searcher_id: int,
    held: str,
    before: int | None,
    limit: int,
    scanned_max: int,
) -> Found:
    """The messages holding the terms that the searcher may read now, newest first (by id, below
    `before`): of a conversation they are a member of, not recalled, and delivered -- or `held`
    and their own. A removed message's text is gone, and its index row with it.

    The matches are looked through newest first, a batch at a time, the real rows saying which
    the searcher may read. A page looks through at most `scanned_max` matches: whatever the
    words, whoever asks, its cost is bounded. Matches that are mostly others' (a word common in
    conversations the searcher is not in) can end a page short of `limit`, and the next page
    starts where it stopped. Batches grow fourfold from a few pages' worth, so a page that fills
    early reads little."""
    found: list[StoredMessage] = []
    below = before
    scanned = 0
    batch = 5 * limit
    while len(found) < limit and scanned < scanned_max:
        take = min(batch, scanned_max - scanned)
        floor = await _nth_match(conn, terms, below=below, n=take)
        found += await _readable(
            conn,
            terms,
            searcher_id=searcher_id,
            held=held,
            below=below,
            floor=floor,
            limit=limit - len(found),
        )
        if floor is None:  # fewer than `take` matches were left: none older
            return Found(found, found[-1].id if len(found) == limit else None)
        scanned += take
        below = floor
        batch *= 4
    return Found(found, found[-1].id if len(found) == limit else below)


async def _nth_match(
    conn: DbConnection, terms: SearchTerms, *, below: int | None, n: int
) -> int | None:
    """The id of the `n`th newest message below `below` whose index row holds the terms (None
    when there are fewer): the index alone, which is cheap next to reading the messages."""
    index = search.message_search
    query = (
        select(index.c.rowid)
        .where(search.matches(index, terms))
        .order_by(index.c.rowid.desc())
        .offset(n - 1)
        .limit(1)
    )
    if below is not None:
        query = query.where(index.c.rowid < below)
    nth: int | None = await conn.scalar(query)
    return nth


async def _readable(
    conn: DbConnection,
    terms: SearchTerms,
    *,
    searcher_id: int,
    held: str,
    below: int | None,
    floor: int | None,
    limit: int,
) -> list[StoredMessage]:
    """The newest `limit` messages from `floor` (included) to `below` holding the terms that
    the searcher may read now."""
    index = search.message_search
    query = (
        select(messages)
        .select_from(index)
        .join(messages, messages.c.id == index.c.rowid)
        .join(
            members,
            and_(
                members.c.conversation_id == messages.c.conversation_id,
                members.c.account_id == searcher_id,
            ),
        )
        .where(
            search.matches(index, terms),
            messages.c.recalled_at.is_(None),
            or_(
                messages.c.moderation.is_(None),
                and_(messages.c.moderation == held, messages.c.sender_id == searcher_id),
            ),
        )
        .order_by(index.c.rowid.desc())
        .limit(limit)
    )
    if below is not None:
        query = query.where(index.c.rowid < below)
    if floor is not None:
        query = query.where(index.c.rowid >= floor)
    return [stored_message(row) for row in await conn.execute(query)]
