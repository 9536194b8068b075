"""The authority's read-only answers under /api/v1/audit: filings, the lists of cases, sanctions,
reports and escalations (never an identity, a reporter or the content judged), the figures per
period, the load of the review desks' queues, and the audit log with its checkpoint and Merkle
proofs."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import Field

from townhall.api.models.common import Model, Timestamp
from townhall.api.models.review import CaseDecision, CaseSource, CaseState, ReportOutcome
from townhall.api.models.sanctions import AppealState, SanctionKind, SanctionState, SubjectType
from townhall.store.public_accounts import StoredPublicAccount

# The records -------------------------------------------------------------------------------


class Filing(Model):
    """An accepted public account with its operating entity; no private identity."""

    public_account_id: int
    name: str
    category: str
    account_type: str
    status: str
    news_entitlement: str
    entity_kind: str
    entity_name: str | None
    registration_number_type: str | None
    registration_number: str | None
    news_licence: str | None
    operator_id: int
    applied_at: Timestamp
    approved_at: Timestamp | None

    @classmethod
    def of(cls, row: StoredPublicAccount) -> Self:
        """The account as filed: its operating entity, no identity."""
        return cls(
            public_account_id=row.id,
            name=row.name,
            category=row.category,
            account_type=row.account_type,
            status=row.status,
            news_entitlement=row.news_entitlement,
            entity_kind=row.entity_kind,
            entity_name=row.entity_name,
            registration_number_type=row.registration_number_type,
            registration_number=row.registration_number,
            news_licence=row.news_licence,
            operator_id=row.operator_id,
            applied_at=row.created_at,
            approved_at=row.approved_at,
        )


class FilingPage(Model):
    filings: list[Filing] = Field(description="oldest first")
    next_cursor: str | None


class AuditCase(Model):
    """How a case was handled and how long it took; of its content only the length."""

    id: int
    target_type: str
    target_id: int
    sources: list[CaseSource]
    categories: list[str]
    severity: str | None
    report_count: int
    content_chars: int | None = Field(description="the length of the text judged, if any")
    state: CaseState
    decision: CaseDecision | None
    opened_at: Timestamp
    due_at: Timestamp
    decided_at: Timestamp | None
    handling_ms: int | None = Field(description="opened to decided; null while pending")
    decided_in_time: bool | None = Field(description="by its due time; null while pending")
    overdue: bool
    decided_by: int | None
    reason: str | None
    appeal_id: int | None
    appeal_state: AppealState | None


class AuditSanction(Model):
    id: int
    subject_type: SubjectType
    subject_id: int
    kind: SanctionKind
    member_id: int | None
    case_id: int | None
    category: str | None
    severity: str | None
    points: int
    ground: str
    reason: str
    automated: bool = Field(description="automated detection had a part")
    applied_by: int
    starts_at: Timestamp
    ends_at: Timestamp | None
    state: SanctionState
    ended_at: Timestamp | None
    ended_by: int | None
    end_reason: str | None
    appeal_id: int | None
    appeal_state: AppealState | None
    appeal_created_at: Timestamp | None
    appeal_decided_at: Timestamp | None


class AuditReport(Model):
    """A report and what came of it; never who filed it, nor what they wrote."""

    id: int
    case_id: int
    target_type: str
    reason: str
    created_at: Timestamp
    decided_at: Timestamp | None
    handling_ms: int | None
    outcome: ReportOutcome


class AuditEscalation(Model):
    """A reach escalation, its evidence digest and its case; of the evidence only the length."""

    id: int
    post_id: int | None = Field(description="null: the author's rolling totals crossed it")
    public_account_id: int
    measure: str
    threshold: int
    count: int
    created_at: Timestamp
    snapshot_sha256: str
    snapshot_captured_at: Timestamp
    snapshot_chars: int
    case_id: int | None
    case_state: CaseState | None
    case_decision: CaseDecision | None
    case_decided_at: Timestamp | None


class AuditCasePage(Model):
    cases: list[AuditCase]
    next_cursor: str | None


class AuditSanctionPage(Model):
    sanctions: list[AuditSanction]
    next_cursor: str | None


class AuditReportPage(Model):
    reports: list[AuditReport]
    next_cursor: str | None


class AuditEscalationPage(Model):
    escalations: list[AuditEscalation]
    next_cursor: str | None


# The figures -------------------------------------------------------------------------------


class StatsRow(Model):
    """What began in one period and category, with what has become of it since."""

    period_start: str = Field(
        description="the period's first day, in the pack's time zone",
        json_schema_extra={"format": "date"},
    )
    category: str = Field(description='"unspecified" for records that name none')
    cases_opened: int
    approved: int
    removed: int
    marked_false: int
    upheld: int
    pending: int
    overdue: int
    handling_ms_median: int | None
    handling_ms_p90: int | None
    reports: int = Field(description="reports filed in the period, less those found unfounded")
    reports_unfounded: int = Field(
        description="reports filed in the period that a reviewer found no violation in"
    )
    sanctions: int
    sanctions_warning: int
    sanctions_limit_publication: int
    sanctions_suspend_updates: int
    sanctions_close: int
    sanctions_blacklist_identity: int
    sanctions_suspend_posting: int
    sanctions_close_group: int
    sanctions_remove_rights: int
    appeals: int
    reversals: int


class Stats(Model):
    period: Literal["day", "week", "month"]
    timezone: str = Field(description="the pack's, in which dates are read")
    since: str | None = Field(description="the period's start, in the pack's time zone; null: open")
    until: str | None = Field(description="its end, not included; null: open")
    rows: list[StatsRow]


class DeskLoad(Model):
    """One desk's queue in one period: what entered it then, and what has become of that since."""

    entered: int = Field(description="entries that joined the queue in the period")
    decided: int = Field(description="of those, how many a reviewer has decided since")
    waiting: int = Field(
        description="of those, how many still wait for a reviewer; one that left unanswered "
        "(its applicant's account gone) is neither decided nor waiting"
    )
    overdue: int | None = Field(
        description="of those, how many were decided after their due time or still wait past "
        "it; null for a desk whose entries have no due time (identities, applications and "
        "appeals: the policy pack sets none)"
    )


class QueueRow(Model):
    """The desks' queues in one period."""

    period_start: str = Field(
        description="the period's first day, in the pack's time zone",
        json_schema_extra={"format": "date"},
    )
    cases: DeskLoad = Field(
        description="content review cases opened (held, flagged, reported or escalated), due "
        "by the pack's `review.service_hours`"
    )
    identities: DeskLoad = Field(
        description="identities registered that were sent to a reviewer (the pack's review "
        "mode) or that a reviewer decided"
    )
    applications: DeskLoad = Field(description="public accounts applied for")
    appeals: DeskLoad = Field(description="appeals lodged against a sanction or a removal")


class Queues(Model):
    period: Literal["day", "week", "month"]
    timezone: str = Field(description="the pack's, in which dates are read")
    since: str | None = Field(description="the period's start, in the pack's time zone; null: open")
    until: str | None = Field(description="its end, not included; null: open")
    rows: list[QueueRow] = Field(
        description="oldest first; a period in which nothing entered any queue has no row"
    )


# The audit log -----------------------------------------------------------------------------


class LogRow(Model):
    seq: int
    at: Timestamp
    actor_id: int | None = Field(description="null: the operator, the system, or purged")
    actor_role: str
    action: str
    subject_type: str | None
    subject_id: int | None
    reason: str | None
    details: dict[str, Any] = Field(
        description="what the action did: an open object whose keys depend on `action`, as "
        "docs/audit.md's table of actions lists them (a `reach.escalate`: `escalation_id`, "
        "`measure`, `threshold`, `count`, `reach`, `case_id`, `snapshot_id`, "
        "`evidence_sha256`; a read: `ids`); {} when the action records none, and once purged"
    )
    chain_hash: str
    leaf_hash: str
    purged: bool = Field(description="retention cleared who, whom, why and details")


class LogPage(Model):
    rows: list[LogRow] = Field(description="in seq order")
    next_cursor: str | None


class Checkpoint(Model):
    """The newest signed checkpoint, and the key to check it with offline."""

    text: str = Field(description="the checkpoint as signed (a signed note)")
    origin: str
    tree_size: int
    root: str
    chain_head: str
    at: Timestamp
    key_name: str
    public_key: str
    verifier_key: str


class InclusionProof(Model):
    """RFC 9162 inclusion proof of a row in the tree of `tree_size` rows."""

    seq: int
    tree_size: int
    leaf_index: int
    leaf_hash: str
    audit_path: list[str]
    root: str


class ConsistencyProof(Model):
    """RFC 9162 consistency proof that the tree of `first` rows is a prefix of that of `second`."""

    first: int
    second: int
    first_root: str
    second_root: str
    proof: list[str]


class DsaStatementFile(Model):
    """The DSA statements of reasons of a period, in the EU transparency database's fields."""

    statements: list[dict[str, Any]] = Field(
        description="one per restriction applied in the period (sanctions, removed content, "
        "holds and blocks), as the transparency database's API takes them: `puid`, "
        "`decision_visibility`, `decision_ground`, `category`, …; no personal data"
    )
