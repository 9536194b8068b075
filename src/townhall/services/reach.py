"""The reach ledger: unique views (group-committed), forwards with their lineage, per-author
rolling totals, and the escalation with a frozen evidence snapshot when a post turns serious."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Row

from townhall.domain.accounts import Role
from townhall.domain.errors import NotFound
from townhall.domain.reach import Measure, ReachRules, crossed, day_of, evidence_digest
from townhall.domain.review import Raised, Source, Target
from townhall.domain.time import iso_utc
from townhall.services.audit import AuditTrail
from townhall.services.principal import Principal, require_role
from townhall.store import reach as reach_store
from townhall.store.database import Database, DbConnection
from townhall.store.group_commit import GroupCommit

if TYPE_CHECKING:  # review renders posts (from services/posts, which uses this ledger)
    from townhall.services.review import ReviewService

VIEW_BATCH_MAX = 2048


@dataclass(frozen=True, slots=True)
class Reach:
    views: int
    forwards: int
    forward_depth: int

    def render(self) -> dict[str, int]:
        return {"views": self.views, "forwards": self.forwards, "forward_depth": self.forward_depth}


@dataclass(frozen=True, slots=True)
class _View:
    post: Row
    viewer_id: int


class ReachLedger:
    def __init__(
        self,
        database: Database,
        rules: ReachRules,
        review: ReviewService,
        audit: AuditTrail,
        *,
        clock: Callable[[], float],
    ) -> None:
        self._db = database
        self._rules = rules
        self._review = review
        self._audit = audit
        self._clock = clock
        self._views: GroupCommit[_View, Reach] = GroupCommit(
            self._commit_views, batch_max=VIEW_BATCH_MAX, name="reach-views"
        )

    def start(self) -> None:
        self._views.start()

    async def stop(self) -> None:
        await self._views.stop()

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def record_view(self, post: Row, viewer_id: int) -> Reach:
        """Count the viewer once per post; returns the post's reach after this view."""
        return await self._views.submit(_View(post, viewer_id))

    async def _commit_views(self, views: Sequence[_View]) -> list[Reach]:
        now_ms = self._now_ms()
        posts = {view.post.id: view.post for view in views}
        async with self._db.writing() as conn:
            fresh = await reach_store.insert_new_views(
                conn, {(view.post.id, view.viewer_id) for view in views}
            )
            added = Counter(post_id for post_id, _ in fresh)
            reach: dict[int, Reach] = {}
            for post_id, post in posts.items():
                new_views = added[post_id]
                if not new_views:  # every viewer had seen it before: read, write nothing
                    counts = await reach_store.reach_of(conn, post_id)
                    reach[post_id] = Reach(counts.views, counts.forwards, counts.forward_depth)
                    continue
                counts = await reach_store.add_to_post(conn, post_id, views=new_views)
                reach[post_id] = Reach(counts.views, counts.forwards, counts.forward_depth)
                await reach_store.add_to_day(
                    conn, post.public_account_id, day_of(now_ms), views=new_views, forwards_added=0
                )
                if crossed(counts.views - new_views, counts.views, self._rules.serious_views):
                    await self._escalate(conn, post, reach[post_id], Measure.VIEWS, now_ms)
        return [reach[view.post.id] for view in views]

    async def record_forward(
        self,
        post: Row,
        *,
        forwarder_id: int,
        conversation_id: int,
        message_id: int,
        parent: Row | None,
    ) -> Row:
        """Record a forward (a message carrying the post) with its parent forward, if any."""
        now_ms = self._now_ms()
        depth = parent.depth + 1 if parent is not None else 1
        async with self._db.writing() as conn:
            known = await reach_store.forward_by_message(conn, message_id)
            if known is not None:  # a resend of the same forward
                return known
            forward_id = await reach_store.insert_forward(
                conn,
                post_id=post.id,
                forwarder_id=forwarder_id,
                conversation_id=conversation_id,
                message_id=message_id,
                parent_id=parent.id if parent is not None else None,
                depth=depth,
                created_at=now_ms,
            )
            counts = await reach_store.add_to_post(conn, post.id, forwards_added=1, depth=depth)
            await reach_store.add_to_day(
                conn, post.public_account_id, day_of(now_ms), views=0, forwards_added=1
            )
            if crossed(counts.forwards - 1, counts.forwards, self._rules.serious_forwards):
                reach = Reach(counts.views, counts.forwards, counts.forward_depth)
                await self._escalate(conn, post, reach, Measure.FORWARDS, now_ms)
            return await reach_store.get_forward(conn, forward_id)

    async def _escalate(
        self, conn: DbConnection, post: Row, reach: Reach, measure: str, now_ms: int
    ) -> None:
        """Freeze what the post says now and queue it for review; the author cannot undo it."""
        snapshot = {
            "post_id": post.id,
            "public_account_id": post.public_account_id,
            "account_name": post.account_name,
            "title": post.title,
            "body": post.body,
            "content_class": post.content_class,
            "source_post_id": post.source_post_id,
            "created_at": iso_utc(post.created_at),
            "reach": reach.render(),
            "captured_at": iso_utc(now_ms),
        }
        snapshot_id = await reach_store.insert_snapshot(
            conn,
            post_id=post.id,
            content=orjson.dumps(snapshot).decode(),
            sha256=evidence_digest(snapshot),
            now_ms=now_ms,
        )
        threshold = (
            self._rules.serious_views if measure == Measure.VIEWS else self._rules.serious_forwards
        )
        await reach_store.insert_escalation(
            conn,
            post_id=post.id,
            public_account_id=post.public_account_id,
            measure=measure,
            threshold=threshold,
            count=reach.views if measure == Measure.VIEWS else reach.forwards,
            snapshot_id=snapshot_id,
            created_at=now_ms,
        )
        raised = Raised(
            Target.POST,
            post.id,
            Source.ESCALATION,
            post.operator_id,
            {**snapshot, "text": f"{post.title}\n{post.body}"},
            views=reach.views,
            forwards=reach.forwards,
        )
        await self._review.raise_case(conn, raised, now_ms)

    # Staff views -------------------------------------------------------------------------------

    async def escalations(self, actor: Principal, *, after: int, limit: int) -> list[dict]:
        require_role(actor, Role.REVIEWER, Role.ADMIN)
        async with self._db.reading() as conn:
            rows = await reach_store.escalations(conn, after=after, limit=limit)
        return [
            {
                "id": row.id,
                "post_id": row.post_id,
                "public_account_id": row.public_account_id,
                "measure": row.measure,
                "threshold": row.threshold,
                "count": row.count,
                "created_at": iso_utc(row.created_at),
                "snapshot": {
                    "content": orjson.loads(row.snapshot_content),
                    "sha256": row.snapshot_sha256,
                    "captured_at": iso_utc(row.snapshot_captured_at),
                },
            }
            for row in rows
        ]

    async def lineage(self, actor: Principal, forward_id: int) -> list[dict[str, Any]]:
        """A forward traced back hop by hop to the post: who forwarded it into which chat."""
        require_role(actor, Role.REVIEWER, Role.ADMIN)
        # Who forwarded what into which chat is private: every look is recorded.
        async with self._db.writing() as conn:
            chain = await reach_store.lineage(conn, forward_id)
            if not chain:
                raise NotFound("no such forward", code="forward_not_found")
            await self._audit.record_read(conn, actor, "forward", [row.id for row in chain])
        return [render_forward(row) for row in chain]

    async def author_totals(self, actor: Principal, public_account_id: int) -> dict[str, Any]:
        """Views and forwards within the pack's rolling window: of the account's posts, and of
        every account its operator runs (the author the thresholds count for)."""
        require_role(actor, Role.REVIEWER, Role.ADMIN)
        from_day = day_of(self._now_ms()) - self._rules.window_days + 1
        async with self._db.reading() as conn:
            account = await reach_store.totals_since(conn, [public_account_id], from_day)
            operated = await reach_store.accounts_run_by_operator_of(conn, public_account_id)
            operator = await reach_store.totals_since(conn, operated, from_day)
        if not operated:
            raise NotFound("no such public account", code="public_account_not_found")
        return {
            "public_account_id": public_account_id,
            "window_days": self._rules.window_days,
            "views": account.views,
            "forwards": account.forwards,
            "operator": {
                "public_account_ids": operated,
                "views": operator.views,
                "forwards": operator.forwards,
            },
            "serious_views": self._rules.serious_views,
            "serious_forwards": self._rules.serious_forwards,
        }


def render_forward(row: Row) -> dict[str, Any]:
    return {
        "id": row.id,
        "post_id": row.post_id,
        "forwarder_id": row.forwarder_id,
        "conversation_id": row.conversation_id,
        "message_id": row.message_id,
        "parent_id": row.parent_id,
        "depth": row.depth,
        "created_at": iso_utc(row.created_at),
    }
