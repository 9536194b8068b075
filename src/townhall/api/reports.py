"""Reports from users: file one against anything you can see, and follow what came of it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Response

from townhall.api.deps import PrincipalDep, ServicesDep, needs
from townhall.api.models.common import Cursor, at_most, cursor_position, errors, next_cursor
from townhall.api.models.reports import Report, ReportPage
from townhall.api.openapi import api_router
from townhall.api.schemas import ReportIn
from townhall.domain.permissions import Permission
from townhall.domain.review import Outcome
from townhall.store.review import FiledReport

router = api_router(prefix="/api/v1", tags=["reports"])


@router.post(
    "/reports",
    summary="Report something to the reviewers",
    status_code=201,
    response_model=Report,
    responses={
        200: {"model": Report, "description": "your earlier report of the same target"},
        **errors(404, 429),
    },
    openapi_extra=needs(Permission.ACT),
)
async def file_report(
    body: ReportIn, principal: PrincipalDep, services: ServicesDep, response: Response
) -> Any:
    """201 with a new report; 200 with your earlier report of the same target."""
    report, created = await services.reports.report(principal, **body.model_dump())
    if not created:
        response.status_code = 200
    return _report(report)


@router.get("/reports", summary="List the caller's reports", response_model=ReportPage)
async def my_reports(
    principal: PrincipalDep,
    services: ServicesDep,
    cursor: Cursor = None,
    limit: Annotated[int, at_most(100)] = 50,
) -> Any:
    """The caller's reports, newest first."""
    reports = await services.reports.mine(principal, before=cursor_position(cursor), limit=limit)
    last = reports[-1].id if len(reports) == limit else None
    return {"reports": [_report(r) for r in reports], "next_cursor": next_cursor(last)}


def _report(row: FiledReport) -> dict[str, Any]:
    """A report as its reporter sees it: what they reported, and what came of it."""
    return {
        "id": row.id,
        "target": {"type": row.target_type, "id": row.target_id},
        "reason": row.reason,
        "detail": row.detail,
        "created_at": row.created_at,
        "outcome": row.outcome or Outcome.PENDING,
    }
