"""Reports from users: file one against anything you can see, and follow what came of it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from townhall.api.deps import PrincipalDep, ServicesDep, needs
from townhall.api.schemas import MAX_ID, ReportIn
from townhall.domain.permissions import Permission

router = APIRouter(prefix="/api/v1", tags=["reports"])


@router.post("/reports", status_code=201, openapi_extra=needs(Permission.ACT))
async def file_report(
    body: ReportIn, principal: PrincipalDep, services: ServicesDep, response: Response
) -> Any:
    """201 with a new report; 200 with your earlier report of the same target."""
    report, created = await services.reports.report(principal, **body.model_dump())
    if not created:
        response.status_code = 200
    return report


@router.get("/reports")
async def my_reports(
    principal: PrincipalDep,
    services: ServicesDep,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Any:
    reports = await services.reports.mine(principal, before=before, limit=limit)
    return {"reports": reports, "next_before": reports[-1]["id"] if len(reports) == limit else None}
