"""Staff answers under /api/v1/admin: the identity review queue, its claims and decisions, the
audited reveal and its record, the blacklist, and reach escalations with their evidence."""

from __future__ import annotations

from typing import Literal, Self

import orjson
from pydantic import Field

from townhall.api.models.common import Model, Timestamp
from townhall.api.models.public_accounts import Forward, PublicAccount
from townhall.api.models.review import AuthorEvidence, PostEvidence
from townhall.services import reach
from townhall.store.reach import EscalationWithEvidence

Verification = Literal[
    "pending_review", "format_checked", "provider_verified", "staff_verified", "rejected"
]


class IdentityInReview(Model):
    """An identity in the review queue, masked: every look at the queue is recorded."""

    user_id: int
    handle: str
    id_type: str
    id_number: str = Field(description="masked")
    legal_name: str = Field(description="masked")
    phone: str = Field(description="masked")
    status: Verification
    phone_confirmed: bool
    provider_result: str | None = Field(
        description="the identity-verification provider's answer; null when it gave none"
    )
    submitted_at: Timestamp
    claimed_by: int | None
    claimed_at: Timestamp | None
    decided_by: int | None
    reason: str | None = Field(description="a rejection's")


class IdentityPage(Model):
    identities: list[IdentityInReview]
    next_cursor: str | None


class IdentityClaim(Model):
    user_id: int
    claimed_by: int
    claimed_at: Timestamp


class IdentityDecision(Model):
    user_id: int
    status: Literal["staff_verified", "rejected"]
    reason: str | None
    decided_by: int
    decided_at: Timestamp


class RevealedIdentity(Model):
    """The plaintext identity, as its holder registered it."""

    legal_name: str
    id_type: str
    id_number: str
    phone: str


class Reveal(Model):
    user_id: int
    identity: RevealedIdentity
    access_record_id: int = Field(description="the record of this look, in /identity-access")


class AccessRecord(Model):
    """One look at a plaintext identity: who, whose, why, what for and when."""

    id: int
    actor_id: int
    subject_id: int
    reason: str
    reference: str | None = Field(
        description="`case:<id>`, `appeal:<id>` or `request:<reference>`; null on looks recorded "
        "before references were asked for"
    )
    at: Timestamp


class AccessRecordPage(Model):
    records: list[AccessRecord] = Field(description="newest first")
    next_cursor: str | None


class Blacklisted(Model):
    user_id: int
    blacklisted: Literal[True]
    newly_added: bool = Field(description="false when the identity was listed already")


# Public accounts -----------------------------------------------------------------------------


class PublicAccountInReview(PublicAccount):
    """An application (or an account) in the review queue: its page with the application's
    fields, its operator's handle, and who reviewed it."""

    operator_id: int
    news_licence: str | None
    status_reason: str | None
    applied_at: Timestamp
    operator_handle: str
    reviewed_by: int | None


class PublicAccountQueue(Model):
    public_accounts: list[PublicAccountInReview] = Field(description="oldest first")
    next_cursor: str | None


# Reach ---------------------------------------------------------------------------------------


class EvidenceSnapshot(Model):
    content: PostEvidence | AuthorEvidence = Field(
        description="what was frozen when the threshold was crossed: `PostEvidence` (the post "
        "as it read) when `post_id` is set, `AuthorEvidence` (the author's totals and most "
        "reached posts) when it is null"
    )
    sha256: str = Field(description="the digest the audit log chains")
    captured_at: Timestamp


class Escalation(Model):
    id: int
    post_id: int | None = Field(description="null: the author's rolling totals crossed it")
    public_account_id: int
    author_id: int
    measure: Literal["views", "forwards"]
    threshold: int
    count: int
    created_at: Timestamp
    audit_seq: int | None = Field(description="the audit log row that records it")
    snapshot: EvidenceSnapshot

    @classmethod
    def of(cls, row: EscalationWithEvidence) -> Self:
        evidence = EvidenceSnapshot(
            content=orjson.loads(row.snapshot_content),
            sha256=row.snapshot_sha256,
            captured_at=row.snapshot_captured_at,
        )
        return cls(
            id=row.id,
            post_id=row.post_id,
            public_account_id=row.public_account_id,
            author_id=row.author_id,
            measure=row.measure,
            threshold=row.threshold,
            count=row.count,
            created_at=row.created_at,
            audit_seq=row.audit_seq,
            snapshot=evidence,
        )


class EscalationPage(Model):
    escalations: list[Escalation]
    next_cursor: str | None


class Lineage(Model):
    lineage: list[Forward] = Field(
        description="this forward, then each one it forwarded on, back to the one of the post"
    )


class OperatorReach(Model):
    """Every account the operator runs: what the author thresholds count."""

    public_account_ids: list[int]
    views: int
    forwards: int
    forwarders: int


class AuthorReach(Model):
    """Views and forwards within the pack's rolling window."""

    public_account_id: int
    window_days: int
    views: int
    forwards: int
    forwarders: int
    operator: OperatorReach
    serious_views: int
    serious_forwards: int

    @classmethod
    def of(cls, totals: reach.AuthorReach) -> Self:
        operator = OperatorReach(
            public_account_ids=totals.operated,
            views=totals.operator.views,
            forwards=totals.operator.forwards,
            forwarders=totals.operator.forwarders,
        )
        return cls(
            public_account_id=totals.public_account_id,
            window_days=totals.window_days,
            views=totals.account.views,
            forwards=totals.account.forwards,
            forwarders=totals.account.forwarders,
            operator=operator,
            serious_views=totals.serious_views,
            serious_forwards=totals.serious_forwards,
        )
