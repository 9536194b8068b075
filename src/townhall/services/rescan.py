"""Re-checking published posts after the lexicon changed: what the check would now flag, hold
or block is queued for review (a published post is never taken down by a machine alone)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from townhall.domain.moderation import DECISION_ORDER, Decision, Surface, Verdict
from townhall.domain.public_accounts import PostState
from townhall.domain.review import PENDING, Target
from townhall.services.intake import CaseIntake
from townhall.services.moderation import ContentCheck
from townhall.store import posts as post_store
from townhall.store.database import Database
from townhall.store.posts import PostWithAccount
from townhall.store.review import StoredCase

PAGE = 500


@dataclass(frozen=True, slots=True)
class Rescanned:
    """What the check decided now of the posts it re-checked, and how many wait for a reviewer
    because of it (one judged harmless before stays judged)."""

    scanned: int
    decisions: dict[str, int]  # every decision, in DECISION_ORDER
    queued: int


class Rescan:
    def __init__(self, database: Database, check: ContentCheck, intake: CaseIntake) -> None:
        self._db = database
        self._check = check
        self._intake = intake

    async def posts(
        self, since_ms: int, *, on_progress: Callable[[int], None] | None = None
    ) -> Rescanned:
        """Re-check the posts published since `since_ms`, queueing what the check would now
        flag, hold or block."""
        decided: Counter[str] = Counter()
        queued = 0
        after_id = 0
        while True:
            async with self._db.reading() as conn:
                page = await post_store.published_since(
                    conn,
                    since_ms=since_ms,
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
            if on_progress is not None:
                on_progress(len(page))
            if len(page) < PAGE:
                decisions = {decision: decided[decision] for decision in DECISION_ORDER}
                return Rescanned(decided.total(), decisions, queued)
            after_id = page[-1].id

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
