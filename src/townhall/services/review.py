"""The review desk: the queues of cases that case intake (services/intake.py) raised from
holds, flags, reports and reach escalations; claims; and the decisions (approve, remove, mark
false, uphold, escalate) with everything they do — releases, takedowns and their cascades, the
hash bank, notices, corrections — one at a time or in bulk, each in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import orjson

from townhall.domain.errors import (
    Conflict,
    ErrorCode,
    Forbidden,
    InvalidInput,
    NotFound,
    PolicyRefusal,
)
from townhall.domain.news_check import UNLICENSED_NEWS
from townhall.domain.oversight import UNSPECIFIED
from townhall.domain.permissions import Permission
from townhall.domain.policy import PolicyPack
from townhall.domain.review import (
    DECIDED_STATES,
    PENDING,
    REMOVABLE,
    SOURCES,
    VERDICTS,
    CaseState,
    Correction,
    QueueState,
    Source,
    Target,
    check_finding,
    joined,
    outcome_of,
    split,
    users_concerned,
)
from townhall.domain.review import Verdict as ReviewVerdict
from townhall.services.audit import AuditTrail
from townhall.services.corrections import Corrections
from townhall.services.image_bank import ImageBank
from townhall.services.intake import record_decision, report_notice
from townhall.services.moderation import ContentCheck
from townhall.services.notices import Notices
from townhall.services.principal import Principal, may, require
from townhall.services.takedown import Removal, Takedown
from townhall.store import moderation as moderation_store
from townhall.store import review as review_store
from townhall.store.database import Database, Transaction
from townhall.store.review import StoredCase, StoredReport

MAX_REASON_CHARS = 1_000


@dataclass(frozen=True, slots=True)
class ReviewCase:
    """A case as a reviewer reads it: its row, with what its target said, what raised it and
    its categories read back from storage, and whether it is past its due time now."""

    row: StoredCase
    content: dict[str, Any]
    sources: list[str]
    categories: list[str]
    overdue: bool

    @property
    def id(self) -> int:
        return self.row.id


@dataclass(frozen=True, slots=True)
class CaseFile:
    """A case with the reports of its target and the corrections it owes."""

    case: ReviewCase
    reports: list[StoredReport]
    corrections: Sequence[object]
    # What the automated checks found in the target: the reasons of its statements, each once.
    reasons: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Waiting:
    """How many cases wait for a decision, and how many of them are past their due time."""

    pending: int
    overdue: int


@dataclass(frozen=True, slots=True)
class QueueSummary:
    """The queue's counts: open, escalated and overdue cases, and what waits by source."""

    open: int
    escalated: int
    overdue: int
    by_source: Mapping[Source, Waiting]


class ReviewDesk:
    def __init__(
        self,
        database: Database,
        takedown: Takedown,
        corrections: Corrections,
        content_check: ContentCheck,
        images: ImageBank,
        notices: Notices,
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
        self._images = images
        self._notices = notices
        self._rules = pack.review
        self._categories = pack.moderation.categories
        self._clock = clock

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

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
    ) -> list[ReviewCase]:
        require(actor, Permission.READ_REVIEW_QUEUE)
        states = _states(state)
        if source is not None and source not in SOURCES:
            raise InvalidInput(
                f"source must be one of {', '.join(SOURCES)}", code=ErrorCode.SOURCE_INVALID
            )
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
        return [_review_case(row, now_ms) for row in rows]

    async def summary(self, actor: Principal) -> QueueSummary:
        """Pending and overdue counts, in all and by what raised the cases."""
        require(actor, Permission.READ_REVIEW_QUEUE)
        return await self.counts()

    async def counts(self) -> QueueSummary:
        """The queue's counts for the server's own use (its metrics): counts, no case."""
        now_ms = self._now_ms()
        async with self._db.reading() as conn:

            async def count(states: Sequence[str], source: str | None, overdue: bool) -> int:
                return await review_store.count(
                    conn, states=states, source=source, due_before=now_ms if overdue else None
                )

            by_source = {
                source: Waiting(
                    pending=await count(PENDING, source, False),
                    overdue=await count(PENDING, source, True),
                )
                for source in SOURCES
            }
            return QueueSummary(
                open=await count((CaseState.OPEN,), None, False),
                escalated=await count((CaseState.ESCALATED,), None, False),
                overdue=await count(PENDING, None, True),
                by_source=by_source,
            )

    async def case(self, actor: Principal, case_id: int) -> CaseFile:
        require(actor, Permission.READ_REVIEW_QUEUE)
        async with self._db.writing() as conn:
            case = await review_store.get_case(conn, case_id)
            if case is None:
                raise NotFound("no such case", code=ErrorCode.CASE_NOT_FOUND)
            reports = await review_store.reports_of(conn, case_id)
            await self._audit.record_read(conn, actor, "case", [case_id])
            corrections = await self._corrections.of_case(conn, case_id)
            statements = await moderation_store.statements_about(
                conn, case.target_type, case.target_id
            )
        reasons = [reason for row in statements for reason in orjson.loads(row.reasons)]
        unique = list({orjson.dumps(reason): reason for reason in reasons}.values())
        return CaseFile(_review_case(case, self._now_ms()), reports, corrections, unique)

    async def claim(self, actor: Principal, case_id: int, *, claimed: bool) -> ReviewCase:
        """Take a case (others see who works on it), or give it back."""
        require(actor, Permission.CLAIM_CASE)
        now_ms = self._now_ms()
        async with self._db.writing() as conn:
            case = await review_store.get_case(conn, case_id)
            if case is None:
                raise NotFound("no such case", code=ErrorCode.CASE_NOT_FOUND)
            if case.state not in PENDING:
                raise Conflict("the case is already decided", code=ErrorCode.CASE_DECIDED)
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
            case = await review_store.existing_case(conn, case_id)
        return _review_case(case, now_ms)

    def _check_may_decide(self, actor: Principal, case: StoredCase) -> None:
        if case.state == CaseState.ESCALATED and not may(actor, Permission.DECIDE_ESCALATED_CASE):
            raise Forbidden(
                f"case {case.id} was escalated: an administrator decides it",
                code=ErrorCode.CASE_ESCALATED,
            )
        if actor.account_id in users_concerned(case.target_type, case.target_id, case.author_id):
            raise Forbidden(
                f"case {case.id} is about your own account or content: another reviewer decides it",
                code=ErrorCode.CASE_ABOUT_SELF,
            )

    def _check_claim(self, actor: Principal, case: StoredCase, now_ms: int) -> None:
        """A fresh claim of another reviewer's stands in the way; an administrator may take any
        case over (a claimed case must not stall past its service timer)."""
        fresh = case.claimed_at is not None and (
            now_ms - case.claimed_at < self._rules.claim_minutes * 60_000
        )
        taken = case.claimed_by not in (None, actor.account_id) and fresh
        if taken and not may(actor, Permission.TAKE_OVER_CASE):
            raise Conflict(
                f"case {case.id} is claimed by reviewer {case.claimed_by}",
                code=ErrorCode.CASE_CLAIMED,
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
    ) -> list[ReviewCase]:
        """Decide every case or, if any one cannot be decided, none of them. `category` names
        what a violation falls under; `correction` is what everyone a false item reached is
        told (its delivery is committed with the decision and made after it)."""
        require(actor, Permission.DECIDE_CASE)
        self._check_request(case_ids, decision, reason)
        check_finding(decision, category, correction, self._rules, self._categories)
        finding = Finding(decision, reason, category, correction)
        now_ms = self._now_ms()
        done = Done()
        async with self._db.writing() as conn:
            found = await review_store.cases(conn, case_ids)
            missing = [case_id for case_id in case_ids if case_id not in found]
            if missing:
                raise NotFound(
                    f"no such case: {', '.join(map(str, missing))}", code=ErrorCode.CASE_NOT_FOUND
                )
            for case_id in case_ids:
                self._check_decidable(actor, found[case_id], decision, now_ms)
            for case_id in case_ids:
                await self._apply(conn, actor, found[case_id], finding, done, now_ms)
            # One action, one row: a bulk decision names every case it decided, and everything
            # it did besides.
            await self._audit.record(
                conn,
                actor,
                f"case.{decision}",
                subject=("case", case_ids[0]) if len(case_ids) == 1 else None,
                reason=reason,
                details=finding.details(case_ids) | done.details(case_ids),
            )
            decided = await review_store.cases(conn, case_ids)
        return [_review_case(decided[case_id], now_ms) for case_id in case_ids]

    def _check_request(self, case_ids: Sequence[int], decision: str, reason: str) -> None:
        if decision not in VERDICTS:
            raise InvalidInput(
                f"decision must be one of {', '.join(VERDICTS)}", code=ErrorCode.DECISION_INVALID
            )
        if not 1 <= len(case_ids) <= self._rules.bulk_max or len(set(case_ids)) != len(case_ids):
            raise InvalidInput(
                f"name 1-{self._rules.bulk_max} distinct cases", code=ErrorCode.CASE_IDS_INVALID
            )
        if not reason.strip() or len(reason) > MAX_REASON_CHARS:
            raise InvalidInput(
                f"a reason of 1-{MAX_REASON_CHARS} characters is required",
                code=ErrorCode.REASON_INVALID,
            )

    def _check_decidable(
        self, actor: Principal, case: StoredCase, decision: str, now_ms: int
    ) -> None:
        if case.state not in PENDING:
            raise Conflict(f"case {case.id} is already decided", code=ErrorCode.CASE_DECIDED)
        if case.state == CaseState.ESCALATED and decision == ReviewVerdict.ESCALATE:
            raise Conflict(
                f"case {case.id} is already escalated", code=ErrorCode.CASE_ALREADY_ESCALATED
            )
        self._check_may_decide(actor, case)
        self._check_claim(actor, case, now_ms)
        removes = decision in (ReviewVerdict.REMOVE, ReviewVerdict.MARK_FALSE)
        if removes and case.target_type not in REMOVABLE:
            raise PolicyRefusal(
                f"case {case.id}: a {case.target_type} is not removed or marked false but "
                "upheld and sanctioned",
                code=ErrorCode.NOT_REMOVABLE,
            )
        if decision == ReviewVerdict.MARK_FALSE and Source.HOLD in split(case.sources):
            raise PolicyRefusal(
                f"case {case.id}: the item is held and reached no one; remove or approve it",
                code=ErrorCode.NOT_DELIVERED,
            )
        if decision == ReviewVerdict.UPHOLD and case.target_type in REMOVABLE:
            raise PolicyRefusal(
                f"case {case.id}: a violating {case.target_type} is removed, not upheld",
                code=ErrorCode.NOT_UPHOLDABLE,
            )

    async def _apply(
        self,
        conn: Transaction,
        actor: Principal,
        case: StoredCase,
        finding: Finding,
        done: Done,
        now_ms: int,
    ) -> None:
        if finding.decision == ReviewVerdict.ESCALATE:  # the reason tells administrators why
            await review_store.update_case(
                conn,
                case.id,
                state=CaseState.ESCALATED,
                reason=finding.reason,
                claimed_by=None,
                claimed_at=None,
            )
            return
        state = DECIDED_STATES[finding.decision]
        await record_decision(
            conn, case.id, finding.decision, actor.account_id, finding.reason, now_ms
        )
        if finding.category is not None:
            categories = joined([*split(case.categories), finding.category])
            await review_store.update_case(conn, case.id, categories=categories)
            case = await review_store.existing_case(conn, case.id)
        if state == CaseState.APPROVED:
            await self._release(conn, case)
        elif state == CaseState.REMOVED:
            await self._remove(conn, actor, case, finding, done, now_ms)
        elif state == CaseState.MARKED_FALSE:
            await self._tell_author(conn, case, "content_marked_false", finding.reason)
        # upheld: the sanction is staff's next step
        if finding.correction is not None and finding.category is not None:
            await self._corrections.owe(
                conn,
                case,
                decision=finding.decision,
                category=finding.category,
                correction=finding.correction,
                now_ms=now_ms,
            )
            conn.after_commit(self._corrections.kick)
        await self._tell_reporters(conn, case, state, now_ms)

    async def _release(self, conn: Transaction, case: StoredCase) -> None:
        if case.target_type == Target.MESSAGE:
            await self._takedown.release_message(conn, case.target_id)
        elif case.target_type == Target.POST:
            await self._takedown.release_post(conn, case.target_id)

    async def _remove(
        self,
        conn: Transaction,
        actor: Principal,
        case: StoredCase,
        finding: Finding,
        done: Done,
        now_ms: int,
    ) -> None:
        if case.target_type == Target.MESSAGE:
            removal = await self._takedown.remove_messages(conn, [case.target_id])
        else:
            removal = await self._takedown.remove_post(conn, case.target_id)
        done.took_down(case, removal)
        media = await self._takedown.remove_media(conn, removal, case_id=case.id, now_ms=now_ms)
        done.media += media
        for target in removal.targets:  # re-posts and forwards went with it
            if target != (case.target_type, case.target_id):
                await self._close_removed(conn, actor, target, case.id, done, now_ms)
        categories = split(case.categories)
        # Possible unlicensed news is about who published a text, not what it says: the same
        # text stays free to an entitled account, so only content categories bank it.
        banked_for = [category for category in categories if category != UNLICENSED_NEWS]
        if finding.category or banked_for or not categories:
            category = finding.category or (banked_for[0] if banked_for else UNSPECIFIED)
            await self._bank(conn, case, category, now_ms)
            # Its images too; the same image uploaded again and sent elsewhere goes at once.
            await self._images.bank_removed(conn, media, category=category, case_id=case.id)
            done.media += await self._takedown.remove_copies(
                conn, media, case_id=case.id, now_ms=now_ms
            )
        await self._tell_author(conn, case, "content_removed", finding.reason)

    async def _bank(self, conn: Transaction, case: StoredCase, category: str, now_ms: int) -> None:
        """The removed text joins the hash bank: it and its near copies are blocked from the
        commit on."""
        removed = self._check.fingerprint(orjson.loads(case.content)["text"])
        if removed is None:
            return
        await review_store.bank(
            conn,
            digest=removed.digest.hex(),
            sketch=removed.sketch.to_bytes(),
            category=category,
            case_id=case.id,
            added_at=now_ms,
        )
        conn.after_commit(partial(self._check.banked, removed, category))

    async def _tell_author(
        self, conn: Transaction, case: StoredCase, kind: str, reason: str
    ) -> None:
        """The author learns what was decided about their content, and why."""
        if case.author_id is None:
            return
        notice = {
            "kind": kind,
            "target": {"type": case.target_type, "id": case.target_id},
            "categories": split(case.categories),
            "reason": reason,
        }
        await self._notices.tell(conn, case.author_id, notice)

    async def _close_removed(
        self,
        conn: Transaction,
        actor: Principal,
        target: tuple[str, int],
        removed_with: int,
        done: Done,
        now_ms: int,
    ) -> None:
        """A pending case of content a removal took with it is decided with it."""
        case = await review_store.case_for(conn, *target)
        if case is None or case.state not in PENDING:
            return
        reason = f"removed with case {removed_with}"
        await record_decision(conn, case.id, ReviewVerdict.REMOVE, actor.account_id, reason, now_ms)
        done.closed.append(case.id)
        await self._tell_reporters(conn, case, CaseState.REMOVED, now_ms)

    async def _tell_reporters(
        self, conn: Transaction, case: StoredCase, state: str, now_ms: int
    ) -> None:
        """Every reporter of the target learns the outcome, in their stream."""
        outcome = outcome_of(state)
        waiting = await review_store.undecided_reports_of(conn, case.id)
        await review_store.settle_reports(
            conn, [report.id for report in waiting], outcome=outcome, now_ms=now_ms
        )
        for report in waiting:
            notice = report_notice(report.id, case, outcome)
            await self._notices.tell(conn, report.reporter_id, notice)


@dataclass
class Done:
    """What a decision did besides deciding its cases: the other cases it decided with them, and
    everything its removals took down. Its audit row names all of it."""

    closed: list[int] = field(default_factory=list)
    messages: list[int] = field(default_factory=list)
    posts: list[int] = field(default_factory=list)
    reposts: list[int] = field(default_factory=list)
    forwards: list[int] = field(default_factory=list)  # the messages that carried them
    media: list[int] = field(default_factory=list)  # the media objects they carried

    def took_down(self, case: StoredCase, removal: Removal) -> None:
        self.messages += removal.messages
        self.forwards += removal.forwards
        for post_id in removal.posts:
            (self.posts if post_id == case.target_id else self.reposts).append(post_id)

    def details(self, case_ids: Sequence[int]) -> dict[str, Any]:
        details: dict[str, Any] = {}
        closed = sorted(set(self.closed) - set(case_ids))
        if closed:
            details["closed_case_ids"] = closed
        taken_down = {
            "messages": sorted(set(self.messages)),
            "posts": sorted(set(self.posts)),
            "reposts": sorted(set(self.reposts)),
            "forwards": sorted(set(self.forwards)),
        }
        if self.media:
            taken_down["media"] = sorted(set(self.media))
        if any(taken_down.values()):
            details["taken_down"] = taken_down
        return details


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


def _states(state: str) -> tuple[str, ...]:
    if state not in tuple(QueueState):
        raise InvalidInput(
            f"state must be one of {', '.join(QueueState)}", code=ErrorCode.STATE_INVALID
        )
    return PENDING if state == QueueState.PENDING else (state,)


def _review_case(row: StoredCase, now_ms: int) -> ReviewCase:
    overdue = row.state in PENDING and row.due_at < now_ms
    content = orjson.loads(row.content)
    return ReviewCase(row, content, split(row.sources), split(row.categories), overdue)
