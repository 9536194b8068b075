"""The review desk's answers: cases, their reports and corrections, the queue and its counts."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from townhall.api.models.common import Model, Timestamp, omitted
from townhall.api.models.moderation import ModerationReason
from townhall.api.models.public_accounts import Reach

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


# What a case keeps of its target -------------------------------------------------------------
# Each is what the target said when the case opened; `text` is what the check judged. None
# carries a discriminator: each shape has its own required keys, so exactly one model fits.


class TextContent(Model):
    """A message or post a classifier flagged after delivery: its text only."""

    text: str


class MessageContent(Model):
    """A message the check flagged or held, or one reported."""

    text: str
    conversation_id: int
    media_ids: list[int] = omitted(
        "the media it carries: staff read them at GET /api/v1/media/{media_id}"
    )


class PostContent(Model):
    """A post the check flagged or held (on publishing or a rescan), or one reported."""

    title: str
    body: str
    text: str = Field(description="the title and body, a line apart")
    public_account_id: int = omitted("a reported post only")
    media_ids: list[int] = omitted(
        "the media it carries: staff read them at GET /api/v1/media/{media_id}"
    )


class ReachTotals(Model):
    views: int = Field(description="unique viewers")
    forwards: int
    forwarders: int = Field(description="distinct forwarders")


class PostEvidence(Model):
    """A post frozen as it read when its reach crossed a threshold."""

    post_id: int
    public_account_id: int
    account_name: str
    title: str
    body: str
    content_class: str
    source_post_id: int | None
    created_at: Timestamp
    reach: Reach
    captured_at: Timestamp


class EvidencePost(Model):
    """One of an author's most reached posts, as their evidence froze it."""

    post_id: int
    public_account_id: int
    account_name: str
    title: str
    body: str
    content_class: str
    status: Literal["published", "deleted", "held", "removed", "withheld"]
    created_at: Timestamp
    reach: Reach
    case_id: int | None = Field(description="the post's own review case, if it has one")


class AuthorEvidence(Model):
    """An author's rolling totals (every account they operate) frozen when they crossed a
    threshold, with their most reached posts."""

    author_id: int
    window_days: int
    window_from: Timestamp
    totals: ReachTotals
    posts: list[EvidencePost] = Field(description="most reached first")
    captured_at: Timestamp


class PostEvidenceContent(PostEvidence):
    """A post escalated for its reach: its evidence and what was judged."""

    text: str = Field(description="the title and body, a line apart")


class AuthorEvidenceContent(AuthorEvidence):
    """An author escalated for their reach: their evidence and what was judged."""

    text: str = Field(description="the titles of the evidence's posts, a line each")


class ProfileContent(Model):
    """A reported user: their display name, nothing else of the account."""

    display_name: str
    text: str = Field(description="the display name")


class GroupContent(Model):
    """A reported group."""

    title: str
    text: str = Field(description="the title")


class PublicAccountContent(Model):
    """A reported public account: its page."""

    name: str
    description: str
    text: str = Field(description="the name and description, a line apart")


class PurgedContent(Model):
    """What retention leaves of a decided case's content."""

    purged: Literal[True]


CaseContent = (
    MessageContent
    | PostContent
    | TextContent
    | PostEvidenceContent
    | AuthorEvidenceContent
    | ProfileContent
    | GroupContent
    | PublicAccountContent
    | PurgedContent
)


class Case(Model):
    id: int
    target: CaseTarget
    author_id: int | None
    content: CaseContent = Field(
        description="what the target said when the case was opened, kept whatever its author "
        "does since, by `target.type`: a message: `MessageContent` (`TextContent` when a "
        "classifier flagged it); a post: `PostContent` (`TextContent` when a classifier "
        "flagged it, `PostEvidenceContent` when its reach escalated it); a user: "
        "`ProfileContent` (`AuthorEvidenceContent` when their reach escalated them); a group: "
        "`GroupContent`; a public account: `PublicAccountContent`. Any of them reads "
        "`PurgedContent` once retention has cleared it"
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
    reasons: list[ModerationReason] = Field(
        description="what the automated checks found in the target, from its statements of "
        "reasons (the rule, the words matched and where): empty when only reports raised it"
    )


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
