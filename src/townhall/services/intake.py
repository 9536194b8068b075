"""Case intake: how content and accounts come before a reviewer. A flag or hold at the content
check, a classifier's flag, a report, a reach escalation, a rescan: each raises the target's one
case (or adds to it) in the transaction that writes what raised it. The review desk
(services/review.py) works the cases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from townhall.domain.classifiers import Flag
from townhall.domain.messaging import GONE
from townhall.domain.moderation import Decision, Reason, Verdict
from townhall.domain.policy import PolicyPack
from townhall.domain.public_accounts import PostState
from townhall.domain.review import (
    DECIDED_STATES,
    PENDING,
    CaseState,
    Raised,
    Source,
    Standing,
    Target,
    due_at,
    graver,
    joined,
    priority,
    severity_rank,
    split,
)
from townhall.domain.review import Verdict as ReviewVerdict
from townhall.services.classifiers import Subject
from townhall.services.moderation import ContentCheck
from townhall.store import messages as message_store
from townhall.store import posts as post_store
from townhall.store import review as review_store
from townhall.store.database import Database, DbConnection
from townhall.store.message_log import StoredMessage, WrittenWith
from townhall.store.review import StoredCase

CLASSIFIED = "classifier"  # how a classifier's flag reads in a statement of reasons
SCREENED = (Decision.FLAG, Decision.HOLD)  # the check's decisions that raise a case


class CaseIntake:
    def __init__(
        self,
        database: Database,
        content_check: ContentCheck,
        pack: PolicyPack,
        *,
        clock: Callable[[], float],
    ) -> None:
        self._db = database
        self._check = content_check
        self._rules = pack.review
        self._severities = pack.moderation.severities
        self._clock = clock

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def raise_case(self, conn: DbConnection, raised: Raised, now_ms: int) -> StoredCase:
        """Open the target's case, or add to the one it has, in the caller's transaction."""
        case = await review_store.case_for(conn, raised.target_type, raised.target_id)
        if case is None:
            standing = Standing(
                frozenset({raised.source}),
                severity_rank(raised.severity, self._severities),
                int(raised.source == Source.REPORT),
                raised.views,
                raised.forwards,
            )
            case_id = await review_store.insert_case(
                conn,
                target_type=raised.target_type,
                target_id=raised.target_id,
                author_id=raised.author_id,
                content=orjson.dumps(raised.content).decode(),
                sources=raised.source,
                categories=joined(raised.categories),
                severity=raised.severity,
                report_count=standing.report_count,
                views=raised.views,
                forwards=raised.forwards,
                priority=priority(standing),
                state=CaseState.OPEN,
                opened_at=now_ms,
                due_at=due_at(now_ms, raised.source, self._rules),
            )
        else:
            case_id = case.id
            await review_store.update_case(conn, case_id, **self._merged(case, raised, now_ms))
        return await review_store.existing_case(conn, case_id)

    def _merged(self, case: StoredCase, raised: Raised, now_ms: int) -> dict[str, Any]:
        sources = {*split(case.sources), raised.source}
        standing = Standing(
            frozenset(sources),
            severity_rank(
                graver(case.severity, raised.severity, self._severities), self._severities
            ),
            case.report_count + int(raised.source == Source.REPORT),
            max(case.views, raised.views),
            max(case.forwards, raised.forwards),
        )
        values: dict[str, Any] = {
            "sources": joined(sources),
            "categories": joined([*split(case.categories), *raised.categories]),
            "severity": graver(case.severity, raised.severity, self._severities),
            "report_count": standing.report_count,
            "views": standing.views,
            "forwards": standing.forwards,
            "priority": priority(standing),
        }
        due = due_at(now_ms, raised.source, self._rules)
        if case.state in PENDING:
            values["due_at"] = min(case.due_at, due)
        elif case.state == CaseState.APPROVED and raised.source == Source.ESCALATION:
            # Judged harmless at a smaller reach; past a threshold it is looked at again.
            # Repeat reports of a target judged harmless do not re-open it.
            values.update(
                state=CaseState.OPEN,
                due_at=due,
                claimed_by=None,
                claimed_at=None,
                decision=None,
                decided_by=None,
                decided_at=None,
                reason=None,
            )
        return values

    def screening(
        self, verdict: Verdict, *, surface: str, author_id: int, content: dict[str, Any]
    ) -> WrittenWith | None:
        """What a message the check flagged or held is written with: its statement of reasons
        and its case, in the message's own transaction (None: the check allowed it)."""
        if verdict.decision not in SCREENED:
            return None

        async def record(conn: DbConnection, message: StoredMessage) -> None:
            await self.record_screened(
                conn,
                verdict,
                surface=surface,
                target_type=Target.MESSAGE,
                target_id=message.id,
                author_id=author_id,
                content=content,
            )

        return record

    async def screened(
        self,
        verdict: Verdict,
        *,
        surface: str,
        target_type: str,
        target_id: int,
        author_id: int | None,
        content: dict[str, Any],
    ) -> StoredCase | None:
        """A flag or a hold of content already stored: its statement of reasons and its case,
        in one transaction."""
        if verdict.decision not in SCREENED:
            return None
        async with self._db.writing() as conn:
            return await self.record_screened(
                conn,
                verdict,
                surface=surface,
                target_type=target_type,
                target_id=target_id,
                author_id=author_id,
                content=content,
            )

    async def record_screened(
        self,
        conn: DbConnection,
        verdict: Verdict,
        *,
        surface: str,
        target_type: str,
        target_id: int,
        author_id: int | None,
        content: dict[str, Any],
    ) -> StoredCase | None:
        """screened(), in the caller's transaction: the content and its case commit together."""
        if verdict.decision not in SCREENED:
            return None
        severity = None
        for reason in verdict.reasons:
            severity = graver(severity, reason.severity, self._severities)
        await self._check.record(
            conn,
            verdict,
            surface=surface,
            author_id=author_id,
            subject_type=target_type,
            subject_id=target_id,
        )
        return await self.raise_case(
            conn,
            Raised(
                target_type,
                target_id,
                verdict.decision,  # the source names match the decisions: flag, hold
                author_id,
                content,
                severity,
                verdict.categories,
            ),
            self._now_ms(),
        )

    async def classified(self, subject: Subject, flags: list[Flag]) -> None:
        """A classifier flagged delivered text: it is queued like any other flag."""
        async with self._db.reading() as conn:
            text = await _text_of(conn, subject.subject_type, subject.subject_id)
        if text is None:  # removed meanwhile
            return
        reasons = tuple(
            Reason(
                flag.category, flag.severity, f"{flag.classifier} {flag.score:.2f}", "", CLASSIFIED
            )
            for flag in flags
        )
        await self.screened(
            Verdict(Decision.FLAG, reasons),
            surface=subject.surface,
            target_type=subject.subject_type,
            target_id=subject.subject_id,
            author_id=subject.author_id,
            content={"text": text},
        )

    async def close_gone(self, conn: DbConnection, case: StoredCase, now_ms: int) -> StoredCase:
        """A report of content already removed (with something else): its case says so."""
        if case.state in PENDING:
            await record_decision(
                conn, case.id, ReviewVerdict.REMOVE, None, "already removed", now_ms
            )
        return await review_store.existing_case(conn, case.id)


async def record_decision(
    conn: DbConnection,
    case_id: int,
    decision: str,
    decided_by: int | None,
    reason: str,
    now_ms: int,
) -> None:
    await review_store.update_case(
        conn,
        case_id,
        state=DECIDED_STATES[decision],
        decision=decision,
        decided_by=decided_by,
        decided_at=now_ms,
        reason=reason,
        claimed_by=None,
        claimed_at=None,
    )


def report_notice(report_id: int, case: StoredCase, outcome: str) -> dict[str, Any]:
    """What a reporter is told of the outcome of their report."""
    return {
        "kind": "report_outcome",
        "report_id": report_id,
        "target": {"type": case.target_type, "id": case.target_id},
        "outcome": outcome,
    }


async def _text_of(conn: DbConnection, target_type: str, target_id: int) -> str | None:
    if target_type == Target.MESSAGE:
        message = await message_store.get(conn, target_id)
        if message is None or message.moderation in GONE:
            return None
        return message.text
    post = await post_store.get(conn, target_id)
    if post is None or post.status in (PostState.REMOVED, PostState.WITHHELD):
        return None
    return f"{post.title}\n{post.body}"
