"""Review cases: what brings a target to review, how urgent it is, and what a decision does.

Every target (a message, a post, a user, a group, a public account) has at most one case;
holds, flags, reports and reach escalations all raise it, so reviewers never judge the same
thing twice and the reporters of one target all hear the same outcome.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import msgspec

from townhall.domain.errors import ErrorCode, InvalidInput


class Source(StrEnum):
    HOLD = "hold"  # not delivered until approved
    FLAG = "flag"  # delivered, queued by the automated checks
    REPORT = "report"  # a user reported it
    ESCALATION = "escalation"  # a post crossed a reach threshold


SOURCES = (Source.HOLD, Source.FLAG, Source.REPORT, Source.ESCALATION)


class Target(StrEnum):
    MESSAGE = "message"
    POST = "post"
    USER = "user"
    GROUP = "group"
    PUBLIC_ACCOUNT = "public_account"


TARGETS = (Target.MESSAGE, Target.POST, Target.USER, Target.GROUP, Target.PUBLIC_ACCOUNT)
# Content a reviewer can take down; the others are judged here and sanctioned by staff.
REMOVABLE = (Target.MESSAGE, Target.POST)


def users_concerned(target_type: str, target_id: int, author_id: int | None) -> frozenset[int]:
    """The users a case is about: its item's author, and the user it targets."""
    concerned = {target_id} if target_type == Target.USER else set()
    if author_id is not None:
        concerned.add(author_id)
    return frozenset(concerned)


class CaseState(StrEnum):
    OPEN = "open"
    ESCALATED = "escalated"  # waiting for an administrator
    APPROVED = "approved"  # no violation: the target stays, repeat reports do not re-queue it
    REMOVED = "removed"  # a violation: content taken down everywhere it reached
    MARKED_FALSE = "marked_false"  # false: it stays, and everyone it reached is told
    UPHELD = "upheld"  # a violation by a user, group or public account: sanctioned by staff


PENDING = (CaseState.OPEN, CaseState.ESCALATED)


class QueueState(StrEnum):
    """What the review queue is filtered by: one state, or pending for open and escalated."""

    PENDING = "pending"
    OPEN = CaseState.OPEN
    ESCALATED = CaseState.ESCALATED
    APPROVED = CaseState.APPROVED
    REMOVED = CaseState.REMOVED
    MARKED_FALSE = CaseState.MARKED_FALSE
    UPHELD = CaseState.UPHELD


class Verdict(StrEnum):
    APPROVE = "approve"
    REMOVE = "remove"
    MARK_FALSE = "mark_false"  # a false message or post left up, with a correction to its readers
    ESCALATE = "escalate"
    UPHOLD = "uphold"  # the report of a user, group or public account is founded


VERDICTS = (Verdict.APPROVE, Verdict.REMOVE, Verdict.MARK_FALSE, Verdict.UPHOLD, Verdict.ESCALATE)
DECIDED_STATES: dict[str, str] = {
    Verdict.APPROVE: CaseState.APPROVED,
    Verdict.REMOVE: CaseState.REMOVED,
    Verdict.MARK_FALSE: CaseState.MARKED_FALSE,
    Verdict.UPHOLD: CaseState.UPHELD,
}
# Decisions that find a violation, and so may name the category it falls under.
FINDINGS = (Verdict.REMOVE, Verdict.MARK_FALSE, Verdict.UPHOLD)
# Decisions that may come with a correction to everyone the item reached.
CORRECTING = (Verdict.REMOVE, Verdict.MARK_FALSE)
MAX_STATEMENT_CHARS = 2_000


class Outcome:
    """What a reporter is told."""

    PENDING = "pending"
    NO_VIOLATION = "no_violation"
    ACTION_TAKEN = "action_taken"


class ReporterLimit(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Reporters whose reports keep proving unfounded may file only a few a day."""

    unfounded: int  # unfounded reports within the window that bring the limit on
    window_days: int
    per_day: int  # reports a day while limited


class ReviewRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    service_hours: dict[str, float]  # source -> hours within which a case must be decided
    report_reasons: tuple[str, ...]
    reporter_limit: ReporterLimit
    claim_minutes: int  # a claim older than this may be taken over
    bulk_max: int  # cases one bulk decision may cover
    max_detail_chars: int  # of a report's free text
    # Categories (false information: rumours) whose removal or marking false sends a correction
    # to everyone the item reached.
    correction_categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Correction:
    """What a reviewer tells everyone a false item reached, and the post that refutes it."""

    statement: str
    refuting_post_id: int | None = None


def check_finding(
    decision: str,
    category: str | None,
    correction: Correction | None,
    rules: ReviewRules,
    categories: tuple[str, ...],
) -> None:
    """A decision's category and correction go together: an item removed or marked false in a
    correction category is corrected, and nothing else is."""
    if category is not None:
        if decision not in FINDINGS:
            raise InvalidInput(
                f"a category goes with {', '.join(FINDINGS)}",
                code=ErrorCode.CATEGORY_NOT_APPLICABLE,
            )
        if category not in categories:
            raise InvalidInput(
                f"category must be one of {', '.join(categories)}", code=ErrorCode.CATEGORY_INVALID
            )
    corrects = category in rules.correction_categories
    if decision == Verdict.MARK_FALSE and not corrects:
        raise InvalidInput(
            f"mark_false needs a category of {', '.join(rules.correction_categories) or 'none'}",
            code=ErrorCode.CATEGORY_REQUIRED,
        )
    if correction is None:
        if corrects and decision in CORRECTING:
            raise InvalidInput(
                f"an item found {category} is corrected: give the correction's statement",
                code=ErrorCode.CORRECTION_REQUIRED,
            )
        return
    if decision not in CORRECTING or not corrects:
        raise InvalidInput(
            "a correction goes with remove or mark_false and a category of "
            f"{', '.join(rules.correction_categories) or 'none'}",
            code=ErrorCode.CORRECTION_NOT_APPLICABLE,
        )
    if not correction.statement.strip() or len(correction.statement) > MAX_STATEMENT_CHARS:
        raise InvalidInput(
            f"a statement of 1-{MAX_STATEMENT_CHARS} characters is required",
            code=ErrorCode.STATEMENT_INVALID,
        )


@dataclass(frozen=True, slots=True)
class Raised:
    """Something that brings a target to review."""

    target_type: str
    target_id: int
    source: str
    author_id: int | None
    content: dict[str, Any]  # what the target says now; its "text" is what was checked
    severity: str | None = None
    categories: Iterable[str] = field(default_factory=tuple)
    views: int = 0
    forwards: int = 0


# Priority weights: the severity of what matched dominates, then reach, then reports.
SEVERITY_WEIGHT = 1_000
ESCALATION_WEIGHT = 500
HOLD_WEIGHT = 200
REPORT_WEIGHT = 20
REPORTS_COUNTED = 25  # a pile-on beyond this says nothing more about urgency
VIEWS_PER_POINT = 100
FORWARDS_PER_POINT = 10
REACH_POINTS_MAX = 400


@dataclass(frozen=True, slots=True)
class Standing:
    """What a case knows about its target, from which priority and due time follow."""

    sources: frozenset[str]
    severity_rank: int  # 0: no automated match; 1: the pack's least severity, ...
    report_count: int
    views: int
    forwards: int


def priority(standing: Standing) -> int:
    reach = min(
        REACH_POINTS_MAX,
        standing.views // VIEWS_PER_POINT + standing.forwards // FORWARDS_PER_POINT,
    )
    return (
        standing.severity_rank * SEVERITY_WEIGHT
        + (ESCALATION_WEIGHT if Source.ESCALATION in standing.sources else 0)
        + (HOLD_WEIGHT if Source.HOLD in standing.sources else 0)
        + min(standing.report_count, REPORTS_COUNTED) * REPORT_WEIGHT
        + reach
    )


def due_at(opened_ms: int, source: str, rules: ReviewRules) -> int:
    return opened_ms + int(rules.service_hours[source] * 3_600_000)


def severity_rank(severity: str | None, severities: tuple[str, ...]) -> int:
    return 0 if severity is None else severities.index(severity) + 1


def graver(first: str | None, second: str | None, severities: tuple[str, ...]) -> str | None:
    if first is None or second is None:
        return first or second
    return max(first, second, key=severities.index)


def joined(names: Iterable[str]) -> str:
    return ",".join(sorted({name for name in names if name}))


def split(names: str) -> list[str]:
    return names.split(",") if names else []


def reporter_wait_ms(
    unfounded_recent: int, filed_last_day: list[int], now_ms: int, limit: ReporterLimit
) -> int | None:
    """How long a reporter must wait before filing again, or None when they may file now."""
    if unfounded_recent < limit.unfounded or len(filed_last_day) < limit.per_day:
        return None
    oldest_counted = sorted(filed_last_day)[-limit.per_day]
    return max(1, oldest_counted + 86_400_000 - now_ms)


def outcome_of(state: str) -> str:
    if state == CaseState.APPROVED:
        return Outcome.NO_VIOLATION
    if state in (CaseState.REMOVED, CaseState.MARKED_FALSE, CaseState.UPHELD):
        return Outcome.ACTION_TAKEN
    return Outcome.PENDING


def check_rules(rules: ReviewRules, categories: tuple[str, ...]) -> str | None:
    """The first problem with a pack's review section, as `key: what`, or None."""
    if set(rules.service_hours) != set(SOURCES):
        return f"review.service_hours: must list exactly {', '.join(SOURCES)}"
    for source, hours in rules.service_hours.items():
        if hours <= 0:
            return f"review.service_hours.{source}: must be > 0"
    if not rules.report_reasons:
        return "review.report_reasons: lists no reason"
    unknown = [r for r in rules.report_reasons if r not in categories and r != "other"]
    if unknown:
        return f"review.report_reasons: {unknown[0]!r} is neither a moderation category nor other"
    unknown = [c for c in rules.correction_categories if c not in categories]
    if unknown:
        return f"review.correction_categories: {unknown[0]!r} is not a moderation category"
    counts = {
        "review.reporter_limit.unfounded": rules.reporter_limit.unfounded,
        "review.reporter_limit.window_days": rules.reporter_limit.window_days,
        "review.reporter_limit.per_day": rules.reporter_limit.per_day,
        "review.claim_minutes": rules.claim_minutes,
        "review.bulk_max": rules.bulk_max,
        "review.max_detail_chars": rules.max_detail_chars,
    }
    for key, value in counts.items():
        if value < 1:
            return f"{key}: must be >= 1"
    return None
