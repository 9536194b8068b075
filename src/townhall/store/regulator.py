"""Read-only queries for the authority's auditor and its exports: cases, sanctions, reports and
reach escalations by period and category, the facts the figures and the queues' load are made
from, and the rows statements of reasons are written from. Nothing here selects an identity's
sealed document, blind index or phone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from sqlalchemy import String, and_, func, literal, or_, select
from sqlalchemy.sql import ColumnElement, Select

from townhall.domain.accounts import AccountStatus, Verification
from townhall.domain.enforcement import AppealState, SubjectType
from townhall.domain.oversight import Window
from townhall.domain.public_accounts import AccountState
from townhall.domain.review import CaseState, Target
from townhall.store.database import DbConnection
from townhall.store.reach import StoredEscalation
from townhall.store.records import records
from townhall.store.schema import (
    accounts,
    appeals,
    evidence_snapshots,
    identities,
    messages,
    moderation_statements,
    posts,
    public_accounts,
    reach_escalations,
    reports,
    review_cases,
    sanctions,
)

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class StoredCaseFact:
    """What the figures count of a review case."""

    opened_at: int
    due_at: int
    decided_at: int | None
    state: str
    categories: str  # comma-separated, sorted


@dataclass(frozen=True, slots=True)
class CaseForAuditor(StoredCaseFact):
    id: int
    target_type: str
    target_id: int
    content: str  # only its length leaves the service
    sources: str  # comma-separated
    severity: str | None
    report_count: int
    decision: str | None
    decided_by: int | None
    reason: str | None
    appeal_id: int | None
    appeal_state: str | None


@dataclass(frozen=True, slots=True)
class AuditedSanction:
    """The sanction columns the auditor reads (by name: a column added later is not read by
    accident)."""

    id: int
    subject_type: str
    subject_id: int
    kind: str
    member_id: int | None
    case_id: int | None
    category: str | None
    severity: str | None
    points: int
    ground: str
    reason: str
    automated: int
    applied_by: int
    starts_at: int
    ends_at: int | None
    state: str
    ended_at: int | None
    ended_by: int | None
    end_reason: str | None


SANCTION_COLUMNS = tuple(field.name for field in fields(AuditedSanction))


@dataclass(frozen=True, slots=True)
class SanctionForAuditor(AuditedSanction):
    appeal_id: int | None
    appeal_state: str | None
    appeal_created_at: int | None
    appeal_decided_at: int | None


@dataclass(frozen=True, slots=True)
class ReportForAuditor:
    """A report without its reporter and without its free text (both the reporter's)."""

    id: int
    case_id: int
    reason: str
    created_at: int
    outcome: str | None
    decided_at: int | None
    target_type: str  # its case's


@dataclass(frozen=True, slots=True)
class EscalationForAuditor(StoredEscalation):
    snapshot_sha256: str
    snapshot_captured_at: int
    snapshot_chars: int
    case_id: int | None
    case_state: str | None
    case_decision: str | None
    case_decided_at: int | None


@dataclass(frozen=True, slots=True)
class ReportFact:
    created_at: int
    reason: str
    outcome: str | None  # None while pending


@dataclass(frozen=True, slots=True)
class SanctionFact:
    starts_at: int
    kind: str
    category: str | None
    case_categories: str | None


@dataclass(frozen=True, slots=True)
class AppealFact:
    created_at: int
    state: str
    category: str | None  # its sanction's
    case_categories: str | None  # of its case, or its sanction's case


@dataclass(frozen=True, slots=True)
class QueueFact:
    """An entry of a review desk's queue, as its load counts it."""

    entered_at: int
    decided: bool  # by a reviewer
    waiting: bool  # for a reviewer still


@dataclass(frozen=True, slots=True)
class SanctionForStatement(AuditedSanction):
    """With the names of the people concerned, only so they can be taken out of the facts."""

    subject_handle: str | None
    subject_display_name: str | None
    member_handle: str | None
    member_display_name: str | None
    entity_kind: str | None  # a public account's operator's
    case_sources: str | None
    case_categories: str | None
    case_opened_at: int | None


@dataclass(frozen=True, slots=True)
class RemovalForStatement:
    id: int  # the case's
    target_type: str
    sources: str
    categories: str
    opened_at: int
    decided_at: int  # removed: decided
    decided_by: int | None  # None: closed with an earlier removal that took this content too
    reason: str | None
    posted_at: int | None
    author_handle: str | None  # to be taken out of the facts
    author_display_name: str | None


@dataclass(frozen=True, slots=True)
class ScreenForStatement:
    id: int
    surface: str
    decision: str
    reasons: str  # JSON list of {category, severity, term, excerpt}
    automated: int
    created_at: int


def _in_window(column: Any, window: Window) -> list[ColumnElement[bool]]:
    conditions = []
    if window.since_ms is not None:
        conditions.append(column >= window.since_ms)
    if window.until_ms is not None:
        conditions.append(column < window.until_ms)
    return conditions


def _has_category(column: Any, category: str) -> ColumnElement[bool]:
    """`column` is a comma-separated list; match the whole name, not part of another."""
    listed = literal(",", String) + column + literal(",", String)
    contains: ColumnElement[bool] = listed.contains(f",{category},", autoescape=True)
    return contains


async def _rows(conn: DbConnection, kind: type[R], query: Select[Any]) -> list[R]:
    return records(kind, await conn.execute(query))


async def _page(
    conn: DbConnection,
    kind: type[R],
    query: Select[Any],
    id_column: Any,
    after: int,
    limit: int,
) -> list[R]:
    return await _rows(conn, kind, query.where(id_column > after).order_by(id_column).limit(limit))


# The auditor's lists -----------------------------------------------------------------------------


async def cases(
    conn: DbConnection, window: Window, category: str | None, *, after: int, limit: int
) -> list[CaseForAuditor]:
    query = (
        select(
            review_cases.c.id,
            review_cases.c.target_type,
            review_cases.c.target_id,
            review_cases.c.content,  # only its length leaves the service
            review_cases.c.sources,
            review_cases.c.categories,
            review_cases.c.severity,
            review_cases.c.report_count,
            review_cases.c.state,
            review_cases.c.decision,
            review_cases.c.opened_at,
            review_cases.c.due_at,
            review_cases.c.decided_at,
            review_cases.c.decided_by,
            review_cases.c.reason,
            appeals.c.id.label("appeal_id"),
            appeals.c.state.label("appeal_state"),
        )
        .outerjoin(appeals, appeals.c.case_id == review_cases.c.id)
        .where(*_in_window(review_cases.c.opened_at, window))
    )
    if category is not None:
        query = query.where(_has_category(review_cases.c.categories, category))
    return await _page(conn, CaseForAuditor, query, review_cases.c.id, after, limit)


async def sanction_list(
    conn: DbConnection, window: Window, category: str | None, *, after: int, limit: int
) -> list[SanctionForAuditor]:
    query = (
        select(
            *(sanctions.c[name] for name in SANCTION_COLUMNS),
            appeals.c.id.label("appeal_id"),
            appeals.c.state.label("appeal_state"),
            appeals.c.created_at.label("appeal_created_at"),
            appeals.c.decided_at.label("appeal_decided_at"),
        )
        .outerjoin(appeals, appeals.c.sanction_id == sanctions.c.id)
        .where(*_in_window(sanctions.c.starts_at, window))
    )
    if category is not None:
        query = query.where(sanctions.c.category == category)
    return await _page(conn, SanctionForAuditor, query, sanctions.c.id, after, limit)


async def report_list(
    conn: DbConnection, window: Window, category: str | None, *, after: int, limit: int
) -> list[ReportForAuditor]:
    """Reports without their reporter and without their free text (both the reporter's)."""
    query = (
        select(
            reports.c.id,
            reports.c.case_id,
            reports.c.reason,
            reports.c.created_at,
            reports.c.outcome,
            reports.c.decided_at,
            review_cases.c.target_type,
        )
        .join(review_cases, review_cases.c.id == reports.c.case_id)
        .where(*_in_window(reports.c.created_at, window))
    )
    if category is not None:
        query = query.where(reports.c.reason == category)
    return await _page(conn, ReportForAuditor, query, reports.c.id, after, limit)


async def escalation_list(
    conn: DbConnection, window: Window, *, after: int, limit: int
) -> list[EscalationForAuditor]:
    query = (
        select(
            reach_escalations,
            evidence_snapshots.c.sha256.label("snapshot_sha256"),
            evidence_snapshots.c.captured_at.label("snapshot_captured_at"),
            func.length(evidence_snapshots.c.content).label("snapshot_chars"),
            review_cases.c.id.label("case_id"),
            review_cases.c.state.label("case_state"),
            review_cases.c.decision.label("case_decision"),
            review_cases.c.decided_at.label("case_decided_at"),
        )
        .join(evidence_snapshots, evidence_snapshots.c.id == reach_escalations.c.snapshot_id)
        .outerjoin(
            review_cases,
            or_(
                and_(
                    review_cases.c.target_type == Target.POST,
                    review_cases.c.target_id == reach_escalations.c.post_id,
                ),
                and_(  # an author's totals escalate the author
                    reach_escalations.c.post_id.is_(None),
                    review_cases.c.target_type == Target.USER,
                    review_cases.c.target_id == reach_escalations.c.author_id,
                ),
            ),
        )
        .where(*_in_window(reach_escalations.c.created_at, window))
    )
    return await _page(conn, EscalationForAuditor, query, reach_escalations.c.id, after, limit)


# The facts the figures are made from ---------------------------------------------------------


async def case_facts(conn: DbConnection, window: Window) -> list[StoredCaseFact]:
    query = select(
        review_cases.c.opened_at,
        review_cases.c.due_at,
        review_cases.c.decided_at,
        review_cases.c.state,
        review_cases.c.categories,
    ).where(*_in_window(review_cases.c.opened_at, window))
    return await _rows(conn, StoredCaseFact, query)


async def report_facts(conn: DbConnection, window: Window) -> list[ReportFact]:
    query = select(reports.c.created_at, reports.c.reason, reports.c.outcome).where(
        *_in_window(reports.c.created_at, window)
    )
    return await _rows(conn, ReportFact, query)


async def sanction_facts(conn: DbConnection, window: Window) -> list[SanctionFact]:
    query = (
        select(
            sanctions.c.starts_at,
            sanctions.c.kind,
            sanctions.c.category,
            review_cases.c.categories.label("case_categories"),
        )
        .outerjoin(review_cases, review_cases.c.id == sanctions.c.case_id)
        .where(*_in_window(sanctions.c.starts_at, window))
    )
    return await _rows(conn, SanctionFact, query)


async def appeal_facts(conn: DbConnection, window: Window) -> list[AppealFact]:
    """Appeals with the category of what they appeal: the sanction's, else its case's."""
    query = (
        select(
            appeals.c.created_at,
            appeals.c.state,
            sanctions.c.category,
            review_cases.c.categories.label("case_categories"),
        )
        .outerjoin(sanctions, sanctions.c.id == appeals.c.sanction_id)
        .outerjoin(
            review_cases,
            review_cases.c.id == func.coalesce(appeals.c.case_id, sanctions.c.case_id),
        )
        .where(*_in_window(appeals.c.created_at, window))
    )
    return await _rows(conn, AppealFact, query)


# The facts the queues' load is made from (review cases: `case_facts`) -------------------------


async def identity_queue(conn: DbConnection, window: Window) -> list[QueueFact]:
    """Identities registered in the window that were sent to a reviewer (the pack's "review"
    mode) or that a reviewer decided; one whose account has gone waits no more."""
    sent_to_review = identities.c.status == Verification.PENDING_REVIEW
    decided = identities.c.decided_by.is_not(None)
    query = (
        select(
            identities.c.created_at.label("entered_at"),
            decided.label("decided"),
            and_(sent_to_review, accounts.c.status == AccountStatus.ACTIVE).label("waiting"),
        )
        .join(accounts, accounts.c.id == identities.c.account_id)
        .where(or_(sent_to_review, decided), *_in_window(identities.c.created_at, window))
    )
    return await _rows(conn, QueueFact, query)


async def application_queue(conn: DbConnection, window: Window) -> list[QueueFact]:
    """Public accounts applied for in the window; one whose operator left before a reviewer
    decided it is closed, and waits no more."""
    query = select(
        public_accounts.c.created_at.label("entered_at"),
        public_accounts.c.reviewed_by.is_not(None).label("decided"),
        (public_accounts.c.status == AccountState.PENDING_REVIEW).label("waiting"),
    ).where(*_in_window(public_accounts.c.created_at, window))
    return await _rows(conn, QueueFact, query)


async def appeal_queue(conn: DbConnection, window: Window) -> list[QueueFact]:
    waiting = appeals.c.state == AppealState.PENDING
    query = select(
        appeals.c.created_at.label("entered_at"),
        (~waiting).label("decided"),
        waiting.label("waiting"),
    ).where(*_in_window(appeals.c.created_at, window))
    return await _rows(conn, QueueFact, query)


# Statements of reasons -------------------------------------------------------------------------

subject = accounts.alias("subject")
member = accounts.alias("member")
author = accounts.alias("author")


async def sanctions_for_statements(
    conn: DbConnection, window: Window, kinds: Sequence[str], *, after: int, limit: int
) -> list[SanctionForStatement]:
    """Sanctions of the given kinds (those that restrict), applied in the window, with what a
    statement needs: the case behind it, the operator's kind for a public account, and the
    names of the people concerned — only so they can be taken out of the facts."""
    query = (
        select(
            *(sanctions.c[name] for name in SANCTION_COLUMNS),
            subject.c.handle.label("subject_handle"),
            subject.c.display_name.label("subject_display_name"),
            member.c.handle.label("member_handle"),
            member.c.display_name.label("member_display_name"),
            public_accounts.c.entity_kind,
            review_cases.c.sources.label("case_sources"),
            review_cases.c.categories.label("case_categories"),
            review_cases.c.opened_at.label("case_opened_at"),
        )
        .outerjoin(
            subject,
            and_(
                sanctions.c.subject_type == SubjectType.USER, subject.c.id == sanctions.c.subject_id
            ),
        )
        .outerjoin(member, member.c.id == sanctions.c.member_id)
        .outerjoin(
            public_accounts,
            and_(
                sanctions.c.subject_type == SubjectType.PUBLIC_ACCOUNT,
                public_accounts.c.id == sanctions.c.subject_id,
            ),
        )
        .outerjoin(review_cases, review_cases.c.id == sanctions.c.case_id)
        .where(sanctions.c.kind.in_(kinds), *_in_window(sanctions.c.starts_at, window))
    )
    return await _page(conn, SanctionForStatement, query, sanctions.c.id, after, limit)


async def removals_for_statements(
    conn: DbConnection, window: Window, target_types: Sequence[str], *, after: int, limit: int
) -> list[RemovalForStatement]:
    """Removed content decided in the window, with when it was posted and its author's names
    (to be taken out of the facts)."""
    query = (
        select(
            review_cases.c.id,
            review_cases.c.target_type,
            review_cases.c.sources,
            review_cases.c.categories,
            review_cases.c.opened_at,
            review_cases.c.decided_at,
            review_cases.c.decided_by,
            review_cases.c.reason,
            func.coalesce(messages.c.created_at, posts.c.created_at).label("posted_at"),
            author.c.handle.label("author_handle"),
            author.c.display_name.label("author_display_name"),
        )
        .outerjoin(
            messages,
            and_(
                review_cases.c.target_type == Target.MESSAGE,
                messages.c.id == review_cases.c.target_id,
            ),
        )
        .outerjoin(
            posts,
            and_(review_cases.c.target_type == Target.POST, posts.c.id == review_cases.c.target_id),
        )
        .outerjoin(author, author.c.id == review_cases.c.author_id)
        .where(
            review_cases.c.state == CaseState.REMOVED,
            review_cases.c.target_type.in_(target_types),
            *_in_window(review_cases.c.decided_at, window),
        )
    )
    return await _page(conn, RemovalForStatement, query, review_cases.c.id, after, limit)


async def screens_for_statements(
    conn: DbConnection, window: Window, decisions: Sequence[str], *, after: int, limit: int
) -> list[ScreenForStatement]:
    query = select(
        moderation_statements.c.id,
        moderation_statements.c.surface,
        moderation_statements.c.decision,
        moderation_statements.c.reasons,
        moderation_statements.c.automated,
        moderation_statements.c.created_at,
    ).where(
        moderation_statements.c.decision.in_(decisions),
        *_in_window(moderation_statements.c.created_at, window),
    )
    return await _page(conn, ScreenForStatement, query, moderation_statements.c.id, after, limit)
