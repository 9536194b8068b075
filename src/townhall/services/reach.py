"""The reach ledger: unique views (group-committed), forwards with their lineage, per-author
rolling totals, and the escalation with a frozen evidence snapshot when a post turns serious."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from townhall.domain.audit import Problem
from townhall.domain.errors import ErrorCode, NotFound
from townhall.domain.permissions import Permission
from townhall.domain.reach import (
    DAY_MS,
    EVIDENCE_POSTS_MAX,
    Measure,
    Reach,
    ReachRules,
    author_due,
    crossed,
    day_of,
    evidence_digest,
    threshold_of,
    window_start_day,
)
from townhall.domain.review import Raised, Source, Target
from townhall.domain.time import iso_utc
from townhall.services.audit import AuditTrail
from townhall.services.intake import CaseIntake
from townhall.services.principal import Principal, require
from townhall.store import audit as audit_store
from townhall.store import reach as reach_store
from townhall.store.database import Database, DbConnection
from townhall.store.group_commit import GroupCommit
from townhall.store.message_log import StoredMessage, WrittenWith
from townhall.store.posts import PostWithAccount, StoredPost
from townhall.store.reach import (
    EscalationWithEvidence,
    ReachedPost,
    ReachTotals,
    StoredForward,
)

VIEW_BATCH_MAX = 2048
ESCALATE = "reach.escalate"  # the audit action of an escalation


def reach_of(post: StoredPost) -> Reach:
    """A post's counters as its reach."""
    return Reach(post.views, post.forwards, post.forwarders, post.forward_depth)


@dataclass(frozen=True, slots=True)
class AuthorReach:
    """Views and forwards within the pack's rolling window: of one account's posts, and of
    every account its operator runs (the author the thresholds count for)."""

    public_account_id: int
    window_days: int
    account: ReachTotals
    operated: list[int]  # the public accounts its operator runs
    operator: ReachTotals
    serious_views: int
    serious_forwards: int


@dataclass(frozen=True, slots=True)
class _View:
    post: PostWithAccount
    viewer_id: int


class ReachLedger:
    def __init__(
        self,
        database: Database,
        rules: ReachRules,
        intake: CaseIntake,
        audit: AuditTrail,
        *,
        clock: Callable[[], float],
    ) -> None:
        self._db = database
        self._rules = rules
        self._intake = intake
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

    async def record_view(self, post: PostWithAccount, viewer_id: int) -> Reach:
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
            viewed_authors: dict[int, PostWithAccount] = {}  # author -> a post just viewed
            for post_id, post in posts.items():
                new_views = added[post_id]
                if not new_views:  # every viewer had seen it before: read, write nothing
                    reach[post_id] = await reach_store.reach_of(conn, post_id)
                    continue
                reach[post_id] = await reach_store.add_to_post(conn, post_id, views=new_views)
                await reach_store.add_to_day(
                    conn,
                    post.public_account_id,
                    day_of(now_ms),
                    views=new_views,
                    forwards_added=0,
                    forwarders_added=0,
                )
                viewed_authors[post.operator_id] = post
                views_now = reach[post_id].views
                if crossed(views_now - new_views, views_now, self._rules.serious_views):
                    await self._escalate_post(conn, post, reach[post_id], Measure.VIEWS, now_ms)
            for post in viewed_authors.values():
                await self._check_author(conn, post, Measure.VIEWS, now_ms)
        return [reach[view.post.id] for view in views]

    def forwarding(
        self, post: PostWithAccount, *, forwarder_id: int, parent: StoredForward | None
    ) -> WrittenWith:
        """What the message of a forward is written with, in its own transaction: the forward
        with its parent forward (if any), the counts, and an escalation at a threshold."""

        async def record(conn: DbConnection, message: StoredMessage) -> None:
            await self._record_forward(conn, post, message, forwarder_id, parent)

        return record

    async def forward_in(
        self,
        post: PostWithAccount,
        message: StoredMessage,
        *,
        forwarder_id: int,
        parent: StoredForward | None,
    ) -> StoredForward:
        """The forward the message carries."""
        async with self._db.reading() as conn:
            forward = await reach_store.forward_by_message(conn, message.id)
        if forward is not None:
            return forward
        # Resent, and its message stored before forwards were written with their messages.
        async with self._db.writing() as conn:
            forward = await reach_store.forward_by_message(conn, message.id)
            if forward is None:
                forward = await self._record_forward(conn, post, message, forwarder_id, parent)
            return forward

    async def _record_forward(
        self,
        conn: DbConnection,
        post: PostWithAccount,
        message: StoredMessage,
        forwarder_id: int,
        parent: StoredForward | None,
    ) -> StoredForward:
        """The thresholds count distinct forwarders; every forward is kept as evidence."""
        now_ms = self._now_ms()
        depth = parent.depth + 1 if parent is not None else 1
        new_forwarder = not await reach_store.has_forwarded(conn, post.id, forwarder_id)
        forward = await reach_store.insert_forward(
            conn,
            post_id=post.id,
            forwarder_id=forwarder_id,
            conversation_id=message.conversation_id,
            message_id=message.id,
            parent_id=parent.id if parent is not None else None,
            depth=depth,
            created_at=now_ms,
        )
        reach = await reach_store.add_to_post(
            conn,
            post.id,
            forwards_added=1,
            forwarders_added=int(new_forwarder),
            depth=depth,
        )
        await reach_store.add_to_day(
            conn,
            post.public_account_id,
            day_of(now_ms),
            views=0,
            forwards_added=1,
            forwarders_added=int(new_forwarder),
        )
        if new_forwarder:
            counted = reach.forwarders
            if crossed(counted - 1, counted, self._rules.serious_forwards):
                await self._escalate_post(conn, post, reach, Measure.FORWARDS, now_ms)
            await self._check_author(conn, post, Measure.FORWARDS, now_ms)
        return forward

    async def _escalate_post(
        self, conn: DbConnection, post: PostWithAccount, reach: Reach, measure: str, now_ms: int
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
        raised = Raised(
            Target.POST,
            post.id,
            Source.ESCALATION,
            post.operator_id,
            {**snapshot, "text": f"{post.title}\n{post.body}"},
            views=reach.views,
            forwards=reach.forwarders,
        )
        await self._escalate(
            conn,
            raised,
            snapshot,
            crossed_by=post,
            post_id=post.id,
            measure=measure,
            count=reach.counted(measure),
            figures=reach.render(),
            now_ms=now_ms,
        )

    async def _check_author(
        self, conn: DbConnection, post: PostWithAccount, measure: str, now_ms: int
    ) -> None:
        """The author's rolling totals (every account they operate) at a threshold escalate
        the author, once per window."""
        from_day = window_start_day(now_ms, self._rules.window_days)
        totals = await reach_store.author_totals_since(conn, post.operator_id, from_day)
        total = totals.views if measure == Measure.VIEWS else totals.forwarders
        threshold = threshold_of(measure, self._rules)
        if total < threshold:  # the usual case: spare the look-up below
            return
        last = await reach_store.last_author_escalation(conn, post.operator_id, measure)
        if author_due(total, threshold, last, now_ms, self._rules.window_days):
            await self._escalate_author(conn, post, totals, measure, from_day, now_ms)

    async def _escalate_author(
        self,
        conn: DbConnection,
        post: PostWithAccount,
        totals: ReachTotals,
        measure: str,
        from_day: int,
        now_ms: int,
    ) -> None:
        """Freeze the author's most reached posts and the totals, and queue the author (the
        operator of the accounts) for review."""
        reached = await reach_store.most_reached_posts(
            conn, post.operator_id, measure=measure, limit=EVIDENCE_POSTS_MAX
        )
        figures = {
            "views": totals.views,
            "forwards": totals.forwards,
            "forwarders": totals.forwarders,
        }
        snapshot = {
            "author_id": post.operator_id,
            "window_days": self._rules.window_days,
            "window_from": iso_utc(from_day * DAY_MS),
            "totals": figures,
            "posts": [_evidence_post(row) for row in reached],
            "captured_at": iso_utc(now_ms),
        }
        raised = Raised(
            Target.USER,
            post.operator_id,
            Source.ESCALATION,
            post.operator_id,
            {**snapshot, "text": "\n".join(row.title for row in reached)},
            views=totals.views,
            forwards=totals.forwarders,
        )
        await self._escalate(
            conn,
            raised,
            snapshot,
            crossed_by=post,
            post_id=None,
            measure=measure,
            count=totals.views if measure == Measure.VIEWS else totals.forwarders,
            figures=figures,
            now_ms=now_ms,
        )

    async def _escalate(
        self,
        conn: DbConnection,
        raised: Raised,
        snapshot: dict[str, Any],
        *,
        crossed_by: PostWithAccount,
        post_id: int | None,
        measure: str,
        count: int,
        figures: dict[str, int],
        now_ms: int,
    ) -> None:
        """Freeze the snapshot, record the escalation, raise its case and chain the record with
        the snapshot's digest into the audit log, all in the caller's transaction: whoever can
        rewrite the snapshot and its stored digest cannot rewrite the log unseen."""
        digest = evidence_digest(snapshot)
        snapshot_id = await reach_store.insert_snapshot(
            conn,
            post_id=crossed_by.id,
            content=orjson.dumps(snapshot).decode(),
            sha256=digest,
            now_ms=now_ms,
        )
        threshold = threshold_of(measure, self._rules)
        escalation_id = await reach_store.insert_escalation(
            conn,
            post_id=post_id,
            public_account_id=crossed_by.public_account_id,
            author_id=crossed_by.operator_id,
            measure=measure,
            threshold=threshold,
            count=count,
            snapshot_id=snapshot_id,
            created_at=now_ms,
        )
        case = await self._intake.raise_case(conn, raised, now_ms)
        seq = await self._audit.record_automatic(
            conn,
            ESCALATE,
            subject=(raised.target_type, raised.target_id),
            details={
                "escalation_id": escalation_id,
                "measure": measure,
                "threshold": threshold,
                "count": count,
                "reach": figures,
                "case_id": case.id,
                "snapshot_id": snapshot_id,
                "evidence_sha256": digest,
            },
        )
        await reach_store.set_audit_seq(conn, escalation_id, seq)

    # Staff views -------------------------------------------------------------------------------

    async def escalations(
        self, actor: Principal, *, after: int, limit: int
    ) -> list[EscalationWithEvidence]:
        require(actor, Permission.READ_REACH)
        async with self._db.reading() as conn:
            return await reach_store.escalations(conn, after=after, limit=limit)

    async def lineage(self, actor: Principal, forward_id: int) -> list[StoredForward]:
        """A forward traced back hop by hop to the post: who forwarded it into which chat."""
        require(actor, Permission.READ_REACH)
        # Who forwarded what into which chat is private: every look is recorded.
        async with self._db.writing() as conn:
            chain = await reach_store.lineage(conn, forward_id)
            if not chain:
                raise NotFound("no such forward", code=ErrorCode.FORWARD_NOT_FOUND)
            await self._audit.record_read(conn, actor, "forward", [row.id for row in chain])
        return chain

    async def author_totals(self, actor: Principal, public_account_id: int) -> AuthorReach:
        require(actor, Permission.READ_REACH)
        from_day = window_start_day(self._now_ms(), self._rules.window_days)
        async with self._db.reading() as conn:
            account = await reach_store.totals_since(conn, [public_account_id], from_day)
            operated = await reach_store.accounts_run_by_operator_of(conn, public_account_id)
            operator = await reach_store.totals_since(conn, operated, from_day)
        if not operated:
            raise NotFound("no such public account", code=ErrorCode.PUBLIC_ACCOUNT_NOT_FOUND)
        return AuthorReach(
            public_account_id=public_account_id,
            window_days=self._rules.window_days,
            account=account,
            operated=operated,
            operator=operator,
            serious_views=self._rules.serious_views,
            serious_forwards=self._rules.serious_forwards,
        )


def _evidence_post(row: ReachedPost) -> dict[str, Any]:
    """One of an author's posts as their totals' evidence freezes it."""
    return {
        "post_id": row.id,
        "public_account_id": row.public_account_id,
        "account_name": row.account_name,
        "title": row.title,
        "body": row.body,
        "content_class": row.content_class,
        "status": row.status,
        "created_at": iso_utc(row.created_at),
        "reach": reach_of(row).render(),
        "case_id": row.case_id,
    }


async def verify_evidence(database: Database) -> Problem | None:
    """Every evidence snapshot an escalation recorded in the audit log still hashes to the
    digest the log holds (run after the log itself verified). Rows retention purged keep no
    digest to compare with and are skipped."""
    async with database.reading() as conn:
        recorded = [
            (row.seq, orjson.loads(row.details))
            for row in await audit_store.rows_of_action(conn, ESCALATE)
            if row.leaf_hash is None
        ]
        snapshot_ids = [details["snapshot_id"] for _, details in recorded]
        kept = await reach_store.snapshots(conn, snapshot_ids)
    for seq, details in recorded:
        snapshot_id = details["snapshot_id"]
        snapshot = kept.get(snapshot_id)
        if snapshot is None:
            return Problem(seq, f"evidence snapshot {snapshot_id} of row {seq} is missing: deleted")
        if _digest_of(snapshot.content) != details["evidence_sha256"] or (
            snapshot.sha256 != details["evidence_sha256"]
        ):
            return Problem(seq, f"evidence snapshot {snapshot_id} of row {seq} was edited")
    return None


def _digest_of(content: str) -> str | None:
    try:
        return evidence_digest(orjson.loads(content))
    except orjson.JSONDecodeError:
        return None
