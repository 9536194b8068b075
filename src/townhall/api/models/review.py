"""The review desk's answers: cases, their reports and corrections, the queue and its counts."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from townhall.api.models.common import Model, Timestamp

TargetType = Literal["message", "post", "user", "group", "public_account"]
CaseSource = Literal["hold", "flag", "report", "escalation"]
CaseState = Literal["open", "escalated", "approved", "removed", "marked_false", "upheld"]
CaseDecision = Literal["approve", "remove", "mark_false", "escalate", "uphold"]
ReportOutcome = Literal["pending", "no_violation", "action_taken"]


class CaseTarget(Model):
    type: TargetType
    id: int


class CaseReach(Model):
    views: int = Field(description="unique viewers, as the case last counted them")
    forwards: int = Field(description="distinct forwarders, as the case last counted them")


class Case(Model):
    id: int
    target: CaseTarget
    author_id: int | None
    content: dict[str, Any] = Field(
        description="what the target said when the case was opened, kept whatever its author "
        "does since: `text` (what was checked) and the fields of its kind (a message's "
        "`conversation_id`, a post's `title` and `body`, an escalation's evidence); "
        '`{"purged": true}` once retention has cleared it'
    )
    sources: list[CaseSource]
    categories: list[str] = Field(description="of the pack's moderation categories")
    severity: str | None = Field(description="of the gravest automated match")
    report_count: int
    reach: CaseReach
    priority: int = Field(description="higher first")
    state: CaseState
    opened_at: Timestamp
    due_at: Timestamp
    overdue: bool
    claimed_by: int | None
    decision: CaseDecision | None
    decided_by: int | None
    decided_at: Timestamp | None
    reason: str | None


class FiledReport(Model):
    """A report of the case's target, as staff see it: who filed it too."""

    id: int
    reporter_id: int
    reason: str
    detail: str | None
    created_at: Timestamp
    outcome: ReportOutcome


class CaseCorrection(Model):
    """The correction a `mark_false` or removal in a correction category owes the item's readers,
    and how far its delivery has got."""

    statement: str
    category: str
    refuting_post_id: int | None
    created_at: Timestamp
    noticed: int = Field(description="readers told so far")
    done_at: Timestamp | None = Field(description="when every reader had it; null while under way")


class CaseDetail(Case):
    reports: list[FiledReport]
    corrections: list[CaseCorrection]


class CasePage(Model):
    cases: list[Case]
    next_cursor: str | None


class DecidedCases(Model):
    cases: list[Case] = Field(description="every case decided, in the order asked")


class SourceCounts(Model):
    pending: int
    overdue: int


class CountsBySource(Model):
    hold: SourceCounts
    flag: SourceCounts
    report: SourceCounts
    escalation: SourceCounts


class ReviewSummary(Model):
    open: int
    escalated: int
    overdue: int
    by_source: CountsBySource
