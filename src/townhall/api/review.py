"""Staff routes for the review queues: cases, their counts, claims and decisions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query

from townhall.api.deps import PrincipalDep, ServicesDep, needs
from townhall.api.models.common import Cursor, at_most, cursor_position, errors, next_cursor
from townhall.api.models.review import Case, CaseDetail, CasePage, DecidedCases, ReviewSummary
from townhall.api.openapi import api_router
from townhall.api.schemas import MAX_ID, BulkDecisionIn, ReviewDecisionIn
from townhall.domain.errors import ErrorCode, InvalidInput
from townhall.domain.permissions import Permission
from townhall.domain.review import Correction, Outcome, QueueState, Source
from townhall.services.review import CaseFile, ReviewCase
from townhall.store.review import StoredReport

router = api_router(prefix="/api/v1/admin/review", tags=["review"])
CaseId = Annotated[int, Path(ge=1, le=MAX_ID, description="the review case")]
# The queue is ordered by urgency, which changes as cases come and go: its cursor is an offset.
MAX_OFFSET = 1_000_000


@router.get(
    "/cases",
    summary="List the review queue, most urgent first",
    response_model=CasePage,
    openapi_extra=needs(Permission.READ_REVIEW_QUEUE),
)
async def queue(
    principal: PrincipalDep,
    services: ServicesDep,
    state: Annotated[
        QueueState, Query(description="the cases in this state; `pending`: open or escalated")
    ] = QueueState.PENDING,
    source: Annotated[
        Source | None, Query(description="only the cases that came this way; any if not given")
    ] = None,
    overdue: Annotated[bool, Query(description="only the cases past their due time")] = False,
    cursor: Cursor = None,
    limit: Annotated[int, at_most(500)] = 50,
) -> Any:
    """Most urgent first: by priority, then by the earliest due time."""
    offset = cursor_position(cursor) or 0
    if offset > MAX_OFFSET:
        raise InvalidInput(
            "cursor: not a cursor this list handed out", code=ErrorCode.CURSOR_INVALID
        )
    cases = await services.review.queue(
        principal, state=state, source=source, overdue=overdue, offset=offset, limit=limit
    )
    more = len(cases) == limit
    return {
        "cases": [_case(c) for c in cases],
        "next_cursor": next_cursor(offset + limit if more else None),
    }


@router.get(
    "/summary",
    summary="Count the review queue's cases",
    response_model=ReviewSummary,
    openapi_extra=needs(Permission.READ_REVIEW_QUEUE),
)
async def summary(principal: PrincipalDep, services: ServicesDep) -> Any:
    return await services.review.summary(principal)


@router.get(
    "/cases/{case_id}",
    summary="Show a review case with its content",
    response_model=CaseDetail,
    openapi_extra=needs(Permission.READ_REVIEW_QUEUE),
)
async def case(case_id: CaseId, principal: PrincipalDep, services: ServicesDep) -> Any:
    return _case_file(await services.review.case(principal, case_id))


@router.put(
    "/cases/{case_id}/claim",
    summary="Claim a case to review it",
    response_model=Case,
    responses=errors(409),
    openapi_extra=needs(Permission.CLAIM_CASE),
)
async def claim(case_id: CaseId, principal: PrincipalDep, services: ServicesDep) -> Any:
    return _case(await services.review.claim(principal, case_id, claimed=True))


@router.delete(
    "/cases/{case_id}/claim",
    summary="Give back a claimed case",
    response_model=Case,
    responses=errors(409),
    openapi_extra=needs(Permission.CLAIM_CASE),
)
async def unclaim(case_id: CaseId, principal: PrincipalDep, services: ServicesDep) -> Any:
    return _case(await services.review.claim(principal, case_id, claimed=False))


@router.post(
    "/cases/{case_id}/decision",
    summary="Decide a review case",
    response_model=Case,
    responses=errors(409, 422),
    openapi_extra=needs(Permission.DECIDE_CASE),
)
async def decide(
    case_id: CaseId, body: ReviewDecisionIn, principal: PrincipalDep, services: ServicesDep
) -> Any:
    (decided,) = await services.review.decide(principal, [case_id], **_finding(body))
    return _case(decided)


@router.post(
    "/decisions",
    summary="Decide many review cases at once, all or none",
    response_model=DecidedCases,
    responses=errors(404, 409, 422),
    openapi_extra=needs(Permission.DECIDE_CASE),
)
async def decide_many(body: BulkDecisionIn, principal: PrincipalDep, services: ServicesDep) -> Any:
    """All the cases or none: one that cannot be decided stops the whole decision."""
    decided = await services.review.decide(principal, body.case_ids, **_finding(body))
    return {"cases": [_case(c) for c in decided]}


def _finding(body: ReviewDecisionIn) -> dict[str, Any]:
    """The decision as ReviewService.decide takes it."""
    correction = body.correction
    return {
        "decision": body.decision,
        "reason": body.reason,
        "category": body.category,
        "correction": None
        if correction is None
        else Correction(correction.statement, correction.refuting_post_id),
    }


def _case(case: ReviewCase) -> dict[str, Any]:
    row = case.row
    return {
        "id": row.id,
        "target": {"type": row.target_type, "id": row.target_id},
        "author_id": row.author_id,
        "content": case.content,
        "sources": case.sources,
        "categories": case.categories,
        "severity": row.severity,
        "report_count": row.report_count,
        "reach": {"views": row.views, "forwards": row.forwards},
        "priority": row.priority,
        "state": row.state,
        "opened_at": row.opened_at,
        "due_at": row.due_at,
        "overdue": case.overdue,
        "claimed_by": row.claimed_by,
        "decision": row.decision,
        "decided_by": row.decided_by,
        "decided_at": row.decided_at,
        "reason": row.reason,
    }


def _case_file(found: CaseFile) -> dict[str, Any]:
    return _case(found.case) | {
        "reports": [_filed(report) for report in found.reports],
        "corrections": found.corrections,
        "reasons": found.reasons,
    }


def _filed(row: StoredReport) -> dict[str, Any]:
    """A report of the case's target as staff see it: who filed it too."""
    return {
        "id": row.id,
        "reporter_id": row.reporter_id,
        "reason": row.reason,
        "detail": row.detail,
        "created_at": row.created_at,
        "outcome": row.outcome or Outcome.PENDING,
    }
