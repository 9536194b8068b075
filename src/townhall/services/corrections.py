"""Rumour corrections: everyone a false item reached is told so, once each.

A reviewer who removes a post or message in one of the pack's correction categories (a rumour),
or marks it false, writes the correction in the decision's transaction: the notice as readers
get it, and the item it is about. A worker then tells everyone the item reached — the unique
viewers of the post and of its re-posts (the reach ledger's), the members of every conversation
any of them was forwarded into; for a message, the members of its conversation — a slice at a
time. Each slice is one short transaction that records who was told (once per item and user, so
a retry, a crash or a second decision on the item tells nobody twice) and appends one
`correction` event to their streams; the bus rings them once it commits. The author is not
among them: the decision's own notice tells the author.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from townhall.bus.base import Bus, user_channel
from townhall.domain.errors import ErrorCode, NotFound, PolicyRefusal, StorageFull
from townhall.domain.events import EventType, correction_event
from townhall.domain.messaging import SENDER_ONLY
from townhall.domain.public_accounts import AccountState, Entitlement, PostState
from townhall.domain.review import Correction, Target
from townhall.domain.time import iso_utc
from townhall.store import corrections as correction_store
from townhall.store import messages as message_store
from townhall.store import posts as post_store
from townhall.store import stream as stream_store
from townhall.store.corrections import StoredCorrection
from townhall.store.database import Database, DbConnection
from townhall.store.review import StoredCase

log = logging.getLogger(__name__)

# Users told per transaction: each slice holds the one write lock for a few milliseconds, so
# messages keep flowing while 100,000 readers are told; its doorbells ring once it commits.
SLICE = 2_000
RETRY_SECONDS = 30.0  # after a failed round (a full disk, say), before trying again
NEWS_ENTITLED = (Entitlement.REPOST, Entitlement.ORIGINATE)

Page = Callable[..., Awaitable[list[int]]]


@dataclass(frozen=True, slots=True)
class CorrectionProgress:
    """A case's correction as staff follow it: what readers are told, and how far telling
    them has got."""

    statement: str
    category: str
    refuting_post_id: int | None
    created_at: int
    noticed: int  # readers told so far
    done_at: int | None  # when every reader had it; None while under way


class Corrections:
    def __init__(self, database: Database, bus: Bus, *, clock: Callable[[], float]) -> None:
        self._db = database
        self._bus = bus
        self._clock = clock
        self._wake = asyncio.Event()

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    # In the decision's transaction ---------------------------------------------------------

    async def owe(
        self,
        conn: DbConnection,
        case: StoredCase,
        *,
        decision: str,
        category: str,
        correction: Correction,
        now_ms: int,
    ) -> None:
        """Write the correction of the case's item, to be delivered once the decision commits
        (`kick` the worker then)."""
        refuting = None
        if correction.refuting_post_id is not None:
            refuting = await self._refuting_post(conn, correction.refuting_post_id)
        notice = {
            "target": await _target(conn, case),
            "category": category,
            "decision": decision,
            "statement": correction.statement,
            "refuting_post": refuting,
            "decided_at": iso_utc(now_ms),
        }
        await correction_store.insert_correction(
            conn,
            case_id=case.id,
            target_type=case.target_type,
            target_id=case.target_id,
            author_id=case.author_id,
            notice=orjson.dumps(notice).decode(),
            created_at=now_ms,
        )

    async def _refuting_post(self, conn: DbConnection, post_id: int) -> dict[str, Any]:
        """A published post of an approved account entitled to news: the refutation readers
        are pointed to."""
        post = await post_store.get(conn, post_id)
        if (
            post is None
            or post.status != PostState.PUBLISHED
            or post.account_status != AccountState.APPROVED
        ):
            raise NotFound("no such published post", code=ErrorCode.REFUTING_POST_NOT_FOUND)
        if post.account_entitlement not in NEWS_ENTITLED:
            raise PolicyRefusal(
                "a refuting post must come from a public account entitled to news",
                code=ErrorCode.REFUTING_POST_NOT_ENTITLED,
            )
        return {
            "id": post.id,
            "public_account_id": post.public_account_id,
            "account_name": post.account_name,
            "title": post.title,
        }

    # Delivery --------------------------------------------------------------------------------

    def kick(self) -> None:
        """A correction was committed: the worker delivers it."""
        self._wake.set()

    async def keep_delivering(self) -> None:
        """The server's worker: whatever is owed at start (a crash mid-way), then each new
        correction. A failed round is logged and tried again; it never stops the server."""
        while True:
            self._wake.clear()
            try:
                await self.deliver_owed()
            except StorageFull:  # said once in the log when the disk filled
                await asyncio.sleep(RETRY_SECONDS)
                continue
            except Exception:
                log.exception("delivering corrections failed; trying again in %g s", RETRY_SECONDS)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            await self._wake.wait()

    async def deliver_owed(self) -> int:
        """Deliver every correction not yet delivered to all; returns how many."""
        async with self._db.reading() as conn:
            owed = await correction_store.owed(conn)
        for correction in owed:
            await self._deliver(correction)
        return len(owed)

    async def _deliver(self, correction: StoredCorrection) -> None:
        notice = orjson.loads(correction.notice)
        async for reached in self._reached(correction):
            told = [user_id for user_id in reached if user_id != correction.author_id]
            await self._tell(correction, notice, told)
        async with self._db.writing() as conn:
            await correction_store.finish(conn, correction.id, self._now_ms())

    async def _tell(
        self, correction: StoredCorrection, notice: dict[str, Any], user_ids: list[int]
    ) -> None:
        async with self._db.writing() as conn:
            fresh = await correction_store.insert_notices(
                conn, correction.target_type, correction.target_id, user_ids
            )
            if not fresh:
                return
            payload = await stream_store.append_new_event(
                conn,
                self._db.positions,
                event_type=EventType.CORRECTION,
                render=lambda position: correction_event(position, notice),
                recipients=fresh,
            )
            await correction_store.add_noticed(conn, correction.id, len(fresh))
            conn.after_commit(lambda: self._ring(fresh, payload))

    def _ring(self, user_ids: list[int], payload: bytes) -> None:
        for user_id in user_ids:
            self._bus.publish(user_channel(user_id), payload)

    async def _reached(self, correction: StoredCorrection) -> AsyncIterator[list[int]]:
        """Everyone the item reached, a slice at a time (some in more than one slice)."""
        async with self._db.reading() as conn:
            if correction.target_type == Target.POST:
                posts = [
                    correction.target_id,
                    *await post_store.reposts_of(conn, [correction.target_id]),
                ]
                conversations = await correction_store.forward_conversations(conn, posts)
            else:
                posts = []
                message = await message_store.get(conn, correction.target_id)
                conversations = (
                    [message.conversation_id]
                    if message is not None and message.moderation not in SENDER_ONLY
                    else []
                )
        for post_id in posts:
            async for page in self._pages(correction_store.viewers_after, post_id):
                yield page
        for conversation_id in conversations:
            async for page in self._pages(correction_store.members_after, conversation_id):
                yield page

    async def _pages(self, query: Page, key: int) -> AsyncIterator[list[int]]:
        after = 0
        while True:
            async with self._db.reading() as conn:
                page = await query(conn, key, after=after, limit=SLICE)
            if page:
                yield page
            if len(page) < SLICE:
                return
            after = page[-1]

    # Staff view ------------------------------------------------------------------------------

    async def of_case(self, conn: DbConnection, case_id: int) -> list[CorrectionProgress]:
        return [_progress(row) for row in await correction_store.of_case(conn, case_id)]


async def _target(conn: DbConnection, case: StoredCase) -> dict[str, Any]:
    """The item as its readers knew it: a post by its title, a message in its conversation."""
    target: dict[str, Any] = {"type": case.target_type, "id": case.target_id}
    if case.target_type == Target.POST:
        post = await post_store.get(conn, case.target_id)
        if post is not None:
            target["title"] = post.title
    else:
        message = await message_store.get(conn, case.target_id)
        if message is not None:
            target["conversation_id"] = message.conversation_id
    return target


def _progress(row: StoredCorrection) -> CorrectionProgress:
    notice = orjson.loads(row.notice)
    refuting = notice["refuting_post"]
    return CorrectionProgress(
        statement=notice["statement"],
        category=notice["category"],
        refuting_post_id=None if refuting is None else refuting["id"],
        created_at=row.created_at,
        noticed=row.noticed,
        done_at=row.done_at,
    )
