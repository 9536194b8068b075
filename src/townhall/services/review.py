"""Review queues: cases raised by holds, flags, reports and reach escalations; claims; and the
decisions (approve, remove, mark false, uphold, escalate) with everything they do, one at a time
or in bulk."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Row

from townhall.bus.base import Bus
from townhall.domain.classifiers import Flag
from townhall.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, PolicyRefusal
from townhall.domain.messaging import GONE
from townhall.domain.moderation import Decision, Reason, Verdict
from townhall.domain.news_check import UNLICENSED_NEWS
from townhall.domain.permissions import Permission
from townhall.domain.policy import PolicyPack
from townhall.domain.public_accounts import PostState
from townhall.domain.review import (
    DECIDED_STATES,
    PENDING,
    REMOVABLE,
    SOURCES,
    VERDICTS,
    CaseState,
    Correction,
    Outcome,
    Raised,
    Source,
    Standing,
    Target,
    check_finding,
    due_at,
    graver,
    joined,
    outcome_of,
    priority,
    severity_rank,
    split,
)
from townhall.domain.review import Verdict as ReviewVerdict
from townhall.domain.time import iso_utc
from townhall.services.audit import AuditTrail
from townhall.services.classifiers import Subject
from townhall.services.corrections import Corrections
from townhall.services.moderation import ContentCheck
from townhall.services.notices import Notices
from townhall.services.principal import Principal, may, require
from townhall.services.takedown import Push, Takedown
from townhall.store import messages as message_store
from townhall.store import posts as post_store
from townhall.store import review as review_store
from townhall.store.database import Database, DbConnection

MAX_REASON_CHARS = 1_000
CLASSIFIED = "classifier"  # how a classifier's flag reads in a statement of reasons


class ReviewService:
    def __init__(
        self,
        database: Database,
        bus: Bus,
        takedown: Takedown,
        corrections: Corrections,
        content_check: ContentCheck,
        pack: PolicyPack,
        audit: AuditTrail,
        *,
        clock: Callable[[], float],
    ) -> None:
        self._db = database
        self._audit = audit
        self._takedown = takedown
        self._corrections = corrections
        self._check = content_check
        self._notices = Notices(database, bus)
        self._rules = pack.review
        self._severities = pack.moderation.severities
        self._categories = pack.moderation.categories
        self._clock = clock

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    # Raising cases -------------------------------------------------------------------------

    async def raise_case(self, conn: DbConnection, raised: Raised, now_ms: int) -> Row:
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
        return await review_store.get_case(conn, case_id)

    def _merged(self, case: Row, raised: Raised, now_ms: int) -> dict[str, Any]:
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

    async def screened(
        self,
        verdict: Verdict,
        *,
        surface: str,
        target_type: str,
        target_id: int,
        author_id: int,
        content: dict[str, Any],
    ) -> Row | None:
        """A flag or a hold: its statement of reasons and its case, in one transaction."""
        if verdict.decision not in (Decision.FLAG, Decision.HOLD):
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
        author_id: int,
        content: dict[str, Any],
    ) -> Row | None:
        """screened(), in the caller's transaction: the content and its case commit together."""
        if verdict.decision not in (Decision.FLAG, Decision.HOLD):
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

    # The queue -----------------------------------------------------------------------------

    async def queue(
        self,
        actor: Principal,
        *,
        state: str,
        source: str | None,
        overdue: bool,
        offset: int,
        limit: int,
    ) -> list[dict[str, Any]]:
        require(actor, Permission.READ_REVIEW_QUEUE)
        states = _states(state)
        if source is not None and source not in SOURCES:
            raise InvalidInput(f"source must be one of {', '.join(SOURCES)}", code="source_invalid")
        now_ms = self._now_ms()
        # The cases hold what their targets said: every look is recorded.
        async with self._db.writing() as conn:
            rows = await review_store.queue(
                conn,
                states=states,
                source=source,
                due_before=now_ms if overdue else None,
                offset=offset,
                limit=limit,
            )
            await self._audit.record_read(conn, actor, "case", [row.id for row in rows])
        return [render_case(row, now_ms) for row in rows]

    async def summary(self, actor: Principal) -> dict[str, Any]:
        """Pending and overdue counts, in all and by what raised the cases."""
        require(actor, Permission.READ_REVIEW_QUEUE)
        now_ms = self._now_ms()
        async with self._db.reading() as conn:

            async def count(states: Sequence[str], source: str | None, overdue: bool) -> int:
                return await review_store.count(
                    conn, states=states, source=source, due_before=now_ms if overdue else None
                )

            by_source = {
                source: {
                    "pending": await count(PENDING, source, False),
                    "overdue": await count(PENDING, source, True),
                }
                for source in SOURCES
            }
            return {
                "open": await count((CaseState.OPEN,), None, False),
                "escalated": await count((CaseState.ESCALATED,), None, False),
                "overdue": await count(PENDING, None, True),
                "by_source": by_source,
            }

    async def case(self, actor: Principal, case_id: int) -> dict[str, Any]:
        require(actor, Permission.READ_REVIEW_QUEUE)
        async with self._db.writing() as conn:
            case = await review_store.get_case(conn, case_id)
            if case is None:
                raise NotFound("no such case", code="case_not_found")
            reports = await review_store.reports_of(conn, case_id)
            await self._audit.record_read(conn, actor, "case", [case_id])
            corrections = await self._corrections.of_case(conn, case_id)
        return {
            **render_case(case, self._now_ms()),
            "reports": [render_filed(r) for r in reports],
            "corrections": corrections,
        }

    async def claim(self, actor: Principal, case_id: int, *, claimed: bool) -> dict[str, Any]:
        """Take a case (others see who works on it), or give it back."""
        require(actor, Permission.CLAIM_CASE)
        now_ms = self._now_ms()
        async with self._db.writing() as conn:
            case = await review_store.get_case(conn, case_id)
            if case is None:
                raise NotFound("no such case", code="case_not_found")
            if case.state not in PENDING:
                raise Conflict("the case is already decided", code="case_decided")
            self._check_may_decide(actor, case)
            self._check_claim(actor, case, now_ms)
            await review_store.update_case(
                conn,
                case_id,
                claimed_by=actor.account_id if claimed else None,
                claimed_at=now_ms if claimed else None,
            )
            await self._audit.record(
                conn, actor, "case.claim" if claimed else "case.unclaim", subject=("case", case_id)
            )
            case = await review_store.get_case(conn, case_id)
        return render_case(case, now_ms)

    def _check_may_decide(self, actor: Principal, case: Row) -> None:
        if case.state == CaseState.ESCALATED and not may(actor, Permission.DECIDE_ESCALATED_CASE):
            raise Forbidden(
                f"case {case.id} was escalated: an administrator decides it",
                code="case_escalated",
            )

    def _check_claim(self, actor: Principal, case: Row, now_ms: int) -> None:
        """A fresh claim of another reviewer's stands in the way; an administrator may take any
        case over (a claimed case must not stall past its service timer)."""
        fresh = case.claimed_at is not None and (
            now_ms - case.claimed_at < self._rules.claim_minutes * 60_000
        )
        taken = case.claimed_by not in (None, actor.account_id) and fresh
        if taken and not may(actor, Permission.TAKE_OVER_CASE):
            raise Conflict(
                f"case {case.id} is claimed by reviewer {case.claimed_by}", code="case_claimed"
            )

    # Decisions -----------------------------------------------------------------------------

    async def decide(
        self,
        actor: Principal,
        case_ids: Sequence[int],
        *,
        decision: str,
        reason: str,
        category: str | None = None,
        correction: Correction | None = None,
    ) -> list[dict[str, Any]]:
        """Decide every case or, if any one cannot be decided, none of them. `category` names
        what a violation falls under; `correction` is what everyone a false item reached is
        told (its delivery is committed with the decision and made after it)."""
        require(actor, Permission.DECIDE_CASE)
        self._check_request(case_ids, decision, reason)
        check_finding(decision, category, correction, self._rules, self._categories)
        finding = Finding(decision, reason, category, correction)
        now_ms = self._now_ms()
        pushes: list[Push] = []
        async with self._db.writing() as conn:
            found = await review_store.cases(conn, case_ids)
            missing = [case_id for case_id in case_ids if case_id not in found]
            if missing:
                raise NotFound(
                    f"no such case: {', '.join(map(str, missing))}", code="case_not_found"
                )
            for case_id in case_ids:
                self._check_decidable(actor, found[case_id], decision, now_ms)
            for case_id in case_ids:
                pushes += await self._apply(conn, actor, found[case_id], finding, now_ms)
            # One action, one row: a bulk decision names every case it decided.
            await self._audit.record(
                conn,
                actor,
                f"case.{decision}",
                subject=("case", case_ids[0]) if len(case_ids) == 1 else None,
                reason=reason,
                details=finding.details(case_ids),
            )
            decided = await review_store.cases(conn, case_ids)
        for push in pushes:
            push()
        return [render_case(decided[case_id], now_ms) for case_id in case_ids]

    def _check_request(self, case_ids: Sequence[int], decision: str, reason: str) -> None:
        if decision not in VERDICTS:
            raise InvalidInput(
                f"decision must be one of {', '.join(VERDICTS)}", code="decision_invalid"
            )
        if not 1 <= len(case_ids) <= self._rules.bulk_max or len(set(case_ids)) != len(case_ids):
            raise InvalidInput(
                f"name 1-{self._rules.bulk_max} distinct cases", code="case_ids_invalid"
            )
        if not reason.strip() or len(reason) > MAX_REASON_CHARS:
            raise InvalidInput(
                f"a reason of 1-{MAX_REASON_CHARS} characters is required", code="reason_invalid"
            )

    def _check_decidable(self, actor: Principal, case: Row, decision: str, now_ms: int) -> None:
        if case.state not in PENDING:
            raise Conflict(f"case {case.id} is already decided", code="case_decided")
        if case.state == CaseState.ESCALATED and decision == ReviewVerdict.ESCALATE:
            raise Conflict(f"case {case.id} is already escalated", code="case_escalated")
        self._check_may_decide(actor, case)
        self._check_claim(actor, case, now_ms)
        removes = decision in (ReviewVerdict.REMOVE, ReviewVerdict.MARK_FALSE)
        if removes and case.target_type not in REMOVABLE:
            raise PolicyRefusal(
                f"case {case.id}: a {case.target_type} is not removed or marked false but "
                "upheld and sanctioned",
                code="not_removable",
            )
        if decision == ReviewVerdict.MARK_FALSE and Source.HOLD in split(case.sources):
            raise PolicyRefusal(
                f"case {case.id}: the item is held and reached no one; remove or approve it",
                code="not_delivered",
            )
        if decision == ReviewVerdict.UPHOLD and case.target_type in REMOVABLE:
            raise PolicyRefusal(
                f"case {case.id}: a violating {case.target_type} is removed, not upheld",
                code="not_upholdable",
            )

    async def _apply(
        self, conn: DbConnection, actor: Principal, case: Row, finding: Finding, now_ms: int
    ) -> list[Push]:
        if finding.decision == ReviewVerdict.ESCALATE:  # the reason tells administrators why
            await review_store.update_case(
                conn,
                case.id,
                state=CaseState.ESCALATED,
                reason=finding.reason,
                claimed_by=None,
                claimed_at=None,
            )
            return []
        state = DECIDED_STATES[finding.decision]
        await _record_decision(
            conn, case.id, finding.decision, actor.account_id, finding.reason, now_ms
        )
        if finding.category is not None:
            categories = joined([*split(case.categories), finding.category])
            await review_store.update_case(conn, case.id, categories=categories)
            case = await review_store.get_case(conn, case.id)
        if state == CaseState.APPROVED:
            pushes = await self._release(conn, case)
        elif state == CaseState.REMOVED:
            pushes = await self._remove(conn, actor, case, finding, now_ms)
        elif state == CaseState.MARKED_FALSE:
            pushes = await self._tell_author(conn, case, "content_marked_false", finding.reason)
        else:  # upheld: the sanction is staff's next step
            pushes = []
        if finding.correction is not None and finding.category is not None:
            await self._corrections.owe(
                conn,
                case,
                decision=finding.decision,
                category=finding.category,
                correction=finding.correction,
                now_ms=now_ms,
            )
            pushes.append(self._corrections.kick)
        return pushes + await self._tell_reporters(conn, case, state, now_ms)

    async def _release(self, conn: DbConnection, case: Row) -> list[Push]:
        if case.target_type == Target.MESSAGE:
            return await self._takedown.release_message(conn, case.target_id)
        if case.target_type == Target.POST:
            return await self._takedown.release_post(conn, case.target_id)
        return []

    async def _remove(
        self, conn: DbConnection, actor: Principal, case: Row, finding: Finding, now_ms: int
    ) -> list[Push]:
        if case.target_type == Target.MESSAGE:
            removal = await self._takedown.remove_messages(conn, [case.target_id])
        else:
            removal = await self._takedown.remove_post(conn, case.target_id)
        pushes = removal.pushes
        for target in removal.targets:  # re-posts and forwards went with it
            if target != (case.target_type, case.target_id):
                pushes += await self._close_removed(conn, actor, target, case.id, now_ms)
        categories = split(case.categories)
        # Possible unlicensed news is about who published a text, not what it says: the same
        # text stays free to an entitled account, so only content categories bank it.
        banked_for = [category for category in categories if category != UNLICENSED_NEWS]
        removed = self._check.fingerprint(orjson.loads(case.content)["text"])
        if removed is not None and (finding.category or banked_for or not categories):
            category = finding.category or (banked_for[0] if banked_for else "unspecified")
            await review_store.bank(
                conn,
                digest=removed.digest.hex(),
                sketch=removed.sketch.to_bytes(),
                category=category,
                case_id=case.id,
                added_at=now_ms,
            )
            pushes.append(lambda: self._check.banked(removed, category))
        return pushes + await self._tell_author(conn, case, "content_removed", finding.reason)

    async def _tell_author(
        self, conn: DbConnection, case: Row, kind: str, reason: str
    ) -> list[Push]:
        """The author learns what was decided about their content, and why."""
        if case.author_id is None:
            return []
        notice = {
            "kind": kind,
            "target": {"type": case.target_type, "id": case.target_id},
            "categories": split(case.categories),
            "reason": reason,
        }
        payload = await self._notices.write(conn, case.author_id, notice)
        return [lambda: self._notices.ring(case.author_id, payload)]

    async def _close_removed(
        self,
        conn: DbConnection,
        actor: Principal,
        target: tuple[str, int],
        removed_with: int,
        now_ms: int,
    ) -> list[Push]:
        """A pending case of content a removal took with it is decided with it."""
        case = await review_store.case_for(conn, *target)
        if case is None or case.state not in PENDING:
            return []
        reason = f"removed with case {removed_with}"
        await _record_decision(
            conn, case.id, ReviewVerdict.REMOVE, actor.account_id, reason, now_ms
        )
        return await self._tell_reporters(conn, case, CaseState.REMOVED, now_ms)

    async def close_gone(self, conn: DbConnection, case: Row, now_ms: int) -> Row:
        """A report of content already removed (with something else): its case says so."""
        if case.state in PENDING:
            await _record_decision(
                conn, case.id, ReviewVerdict.REMOVE, None, "already removed", now_ms
            )
        return await review_store.get_case(conn, case.id)

    async def _tell_reporters(
        self, conn: DbConnection, case: Row, state: str, now_ms: int
    ) -> list[Push]:
        """Every reporter of the target learns the outcome, in their stream."""
        outcome = outcome_of(state)
        waiting = await review_store.undecided_reports_of(conn, case.id)
        await review_store.settle_reports(
            conn, [report.id for report in waiting], outcome=outcome, now_ms=now_ms
        )
        pushes = []
        for report in waiting:
            payload = await self._notices.write(
                conn, report.reporter_id, report_notice(report.id, case, outcome)
            )
            pushes.append(
                lambda reporter=report.reporter_id, payload=payload: self._notices.ring(
                    reporter, payload
                )
            )
        return pushes


@dataclass(frozen=True, slots=True)
class Finding:
    """A reviewer's decision as it applies to each case it covers."""

    decision: str
    reason: str
    category: str | None
    correction: Correction | None

    def details(self, case_ids: Sequence[int]) -> dict[str, Any]:
        """What the audit row of the decision records besides its reason."""
        details: dict[str, Any] = {"case_ids": list(case_ids)}
        if self.category is not None:
            details["category"] = self.category
        if self.correction is not None:
            details["correction"] = {
                "statement": self.correction.statement,
                "refuting_post_id": self.correction.refuting_post_id,
            }
        return details


async def _record_decision(
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


def _states(state: str) -> tuple[str, ...]:
    if state == "pending":
        return PENDING
    known = (
        CaseState.OPEN,
        CaseState.ESCALATED,
        CaseState.APPROVED,
        CaseState.REMOVED,
        CaseState.MARKED_FALSE,
        CaseState.UPHELD,
    )
    if state not in known:
        raise InvalidInput(
            f"state must be pending or one of {', '.join(known)}", code="state_invalid"
        )
    return (state,)


def report_notice(report_id: int, case: Row, outcome: str) -> dict[str, Any]:
    return {
        "kind": "report_outcome",
        "report_id": report_id,
        "target": {"type": case.target_type, "id": case.target_id},
        "outcome": outcome,
    }


def render_case(row: Row, now_ms: int) -> dict[str, Any]:
    return {
        "id": row.id,
        "target": {"type": row.target_type, "id": row.target_id},
        "author_id": row.author_id,
        "content": orjson.loads(row.content),
        "sources": split(row.sources),
        "categories": split(row.categories),
        "severity": row.severity,
        "report_count": row.report_count,
        "reach": {"views": row.views, "forwards": row.forwards},
        "priority": row.priority,
        "state": row.state,
        "opened_at": iso_utc(row.opened_at),
        "due_at": iso_utc(row.due_at),
        "overdue": row.state in PENDING and row.due_at < now_ms,
        "claimed_by": row.claimed_by,
        "decision": row.decision,
        "decided_by": row.decided_by,
        "decided_at": iso_utc(row.decided_at) if row.decided_at is not None else None,
        "reason": row.reason,
    }


def render_filed(row: Row) -> dict[str, Any]:
    return {
        "id": row.id,
        "reporter_id": row.reporter_id,
        "reason": row.reason,
        "detail": row.detail,
        "created_at": iso_utc(row.created_at),
        "outcome": row.outcome or Outcome.PENDING,
    }
