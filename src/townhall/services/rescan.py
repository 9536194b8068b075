"""Re-checking published posts after the lexicon changed: what the check would now flag, hold
or block is queued for review (a published post is never taken down by a machine alone).

A rescan is recorded when it begins and writes its progress after every page, so the console
can follow one that another process or the command line runs."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from townhall.domain.errors import Conflict, ErrorCode, InvalidInput, NotFound
from townhall.domain.moderation import (
    DECISION_ORDER,
    Decision,
    RescanState,
    Surface,
    Verdict,
    rescan_state,
)
from townhall.domain.permissions import Permission
from townhall.domain.public_accounts import PostState
from townhall.domain.review import PENDING, Target
from townhall.domain.time import iso_utc
from townhall.services.audit import AuditTrail
from townhall.services.intake import CaseIntake
from townhall.services.moderation import ContentCheck
from townhall.services.principal import Principal, require
from townhall.store import moderation_runs as runs_store
from townhall.store import posts as post_store
from townhall.store.database import Database
from townhall.store.moderation_runs import StoredRescan
from townhall.store.posts import PostWithAccount
from townhall.store.review import StoredCase

log = logging.getLogger(__name__)

PAGE = 500
LISTED = 20  # the console shows the latest rescans


@dataclass(frozen=True, slots=True)
class Rescanned:
    """What the check decided now of the posts it re-checked, and how many wait for a reviewer
    because of it (one judged harmless before stays judged)."""

    scanned: int
    decisions: dict[str, int]  # every decision, in DECISION_ORDER
    queued: int


@dataclass(frozen=True, slots=True)
class RescanRun:
    id: int
    requested_by: int | None  # None: the operator at the command line
    since_ms: int
    state: RescanState
    total: int  # posts published since, when it began
    done: Rescanned  # so far
    started_at: int
    finished_at: int | None

    @classmethod
    def of(cls, stored: StoredRescan, now_ms: int) -> RescanRun:
        decisions = orjson.loads(stored.decisions)
        return cls(
            stored.id,
            stored.requested_by,
            stored.since_at,
            rescan_state(stored.state, stored.heartbeat_at, now_ms),
            stored.total,
            Rescanned(stored.scanned, decisions, stored.queued),
            stored.started_at,
            stored.finished_at,
        )


class Rescan:
    def __init__(
        self,
        database: Database,
        check: ContentCheck,
        intake: CaseIntake,
        audit: AuditTrail,
        *,
        clock: Callable[[], float],
    ) -> None:
        self._db = database
        self._check = check
        self._intake = intake
        self._audit = audit
        self._clock = clock
        self._background: set[asyncio.Task[None]] = set()

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def begin(self, actor: Principal | None, since_ms: int) -> RescanRun:
        """Record a rescan of the posts published since `since_ms`; one runs at a time.
        `actor` None: the operator at the command line."""
        if actor is not None:
            require(actor, Permission.RESCAN_POSTS)
        now_ms = self._now_ms()
        if since_ms > now_ms:
            raise InvalidInput("since must be in the past", code=ErrorCode.RESCAN_SINCE_INVALID)
        async with self._db.writing() as conn:
            marked = await runs_store.latest_rescans(conn, limit=LISTED, state=RescanState.RUNNING)
            for running in marked:
                if rescan_state(running.state, running.heartbeat_at, now_ms) == RescanState.RUNNING:
                    raise Conflict(
                        f"rescan {running.id} is running; one runs at a time",
                        code=ErrorCode.RESCAN_RUNNING,
                    )
            total = await post_store.count_published_since(
                conn, since_ms=since_ms, published=PostState.PUBLISHED
            )
            requested_by = None if actor is None else actor.account_id
            nothing_yet = Rescanned(0, dict.fromkeys(DECISION_ORDER, 0), 0)
            rescan_id = await runs_store.insert_rescan(
                conn,
                requested_by=requested_by,
                since_at=since_ms,
                state=RescanState.RUNNING,
                total=total,
                scanned=0,
                queued=0,
                decisions=orjson.dumps(nothing_yet.decisions).decode(),
                started_at=now_ms,
                heartbeat_at=now_ms,
            )
            await self._audit.record(
                conn,
                actor,
                "moderation.rescan",
                subject=("rescan", rescan_id),
                details={"since": iso_utc(since_ms), "posts": total},
            )
        return RescanRun(
            rescan_id,
            requested_by,
            since_ms,
            RescanState.RUNNING,
            total,
            nothing_yet,
            started_at=now_ms,
            finished_at=None,
        )

    def run_in_background(self, run: RescanRun) -> None:
        """Run a rescan begun from the API after the response; `stop` cancels it."""
        task = asyncio.create_task(self._run_logged(run), name=f"rescan-{run.id}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _run_logged(self, run: RescanRun) -> None:
        try:
            await self.run(run)
        except Exception:  # recorded as failed; the server goes on
            log.exception("rescan %d failed", run.id)

    async def stop(self) -> None:
        """Cancel the rescans this process runs: they read as interrupted once their heartbeat
        is old."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    async def run(
        self, run: RescanRun, *, on_progress: Callable[[int], None] | None = None
    ) -> Rescanned:
        """Re-check the posts published since the run's start, queueing what the check would
        now flag, hold or block, and record how far it got after every page."""
        try:
            return await self._posts(run, on_progress)
        except Exception:
            await self._save(run.id, state=RescanState.FAILED, finished_at=self._now_ms())
            raise

    async def _posts(self, run: RescanRun, on_progress: Callable[[int], None] | None) -> Rescanned:
        decided: Counter[str] = Counter()
        queued = 0
        after_id = 0
        while True:
            async with self._db.reading() as conn:
                page = await post_store.published_since(
                    conn,
                    since_ms=run.since_ms,
                    after_id=after_id,
                    limit=PAGE,
                    published=PostState.PUBLISHED,
                )
            for post in page:
                verdict = self._check.check(Surface.PUBLIC_POST, f"{post.title}\n{post.body}")
                decided[verdict.decision] += 1
                if verdict.decision != Decision.ALLOW:
                    case = await self._queue(post, verdict)
                    queued += case is not None and case.state in PENDING
            decisions = {decision: decided[decision] for decision in DECISION_ORDER}
            done = Rescanned(decided.total(), decisions, queued)
            last = len(page) < PAGE
            finished = {"state": RescanState.DONE, "finished_at": self._now_ms()} if last else {}
            await self._save(
                run.id,
                scanned=done.scanned,
                queued=done.queued,
                decisions=orjson.dumps(done.decisions).decode(),
                **finished,
            )
            if on_progress is not None:
                on_progress(len(page))
            if last:
                return done
            after_id = page[-1].id

    async def _save(self, rescan_id: int, **values: object) -> None:
        async with self._db.writing() as conn:
            await runs_store.update_rescan(conn, rescan_id, heartbeat_at=self._now_ms(), **values)

    async def _queue(self, post: PostWithAccount, verdict: Verdict) -> StoredCase | None:
        """Already delivered: whatever the surface would do now, the post is flagged."""
        return await self._intake.screened(
            Verdict(Decision.FLAG, verdict.reasons),
            surface=Surface.PUBLIC_POST,
            target_type=Target.POST,
            target_id=post.id,
            author_id=post.operator_id,
            content={
                "title": post.title,
                "body": post.body,
                "text": f"{post.title}\n{post.body}",
            },
        )

    async def latest(self, actor: Principal) -> list[RescanRun]:
        require(actor, Permission.READ_LEXICON)
        async with self._db.reading() as conn:
            stored = await runs_store.latest_rescans(conn, limit=LISTED)
        now_ms = self._now_ms()
        return [RescanRun.of(one, now_ms) for one in stored]

    async def one(self, actor: Principal, rescan_id: int) -> RescanRun:
        require(actor, Permission.READ_LEXICON)
        async with self._db.reading() as conn:
            stored = await runs_store.rescan(conn, rescan_id)
        if stored is None:
            raise NotFound("no such rescan", code=ErrorCode.RESCAN_NOT_FOUND)
        return RescanRun.of(stored, self._now_ms())
