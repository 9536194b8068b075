"""The authority's read-only routes under /api/v1/audit: filings, review cases, sanctions,
reports, reach escalations and the figures per period. The auditor and administrators; the
roles are checked in the services. Lists are oldest first, paged by `after` (the last id seen)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from townhall.api.deps import PrincipalDep, ServicesDep
from townhall.api.schemas import MAX_ID
from townhall.domain.oversight import Granularity
from townhall.services.container import Services
from townhall.services.principal import Principal
from townhall.services.regulator import LIST_MAX

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

# ISO dates (2024-05-01, whole days in the pack's time zone, `until` included) or date-times.
Since = Annotated[str | None, Query(max_length=40)]
Until = Annotated[str | None, Query(max_length=40)]
Category = Annotated[str | None, Query(max_length=64)]
After = Annotated[int, Query(ge=0, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=LIST_MAX)]


@router.get("/filings")
async def filings(
    principal: PrincipalDep,
    services: ServicesDep,
    category: Annotated[str | None, Query(max_length=64)] = None,
) -> Any:
    return {"filings": await services.public_accounts.filings(principal, category=category)}


async def _listing(
    services: Services, principal: Principal, what: str, limit: int, **filters: Any
) -> dict[str, Any]:
    items = await services.regulator.listing(principal, what, limit=limit, **filters)
    return {what: items, "next_after": items[-1]["id"] if len(items) == limit else None}


@router.get("/cases")
async def cases(
    principal: PrincipalDep,
    services: ServicesDep,
    since: Since = None,
    until: Until = None,
    category: Category = None,
    after: After = 0,
    limit: Limit = 100,
) -> Any:
    """Cases opened in the period: how each was handled and how long it took; not the content."""
    return await _listing(
        services,
        principal,
        "cases",
        limit,
        since=since,
        until=until,
        category=category,
        after=after,
    )


@router.get("/sanctions")
async def sanctions(
    principal: PrincipalDep,
    services: ServicesDep,
    since: Since = None,
    until: Until = None,
    category: Category = None,
    after: After = 0,
    limit: Limit = 100,
) -> Any:
    """Sanctions applied in the period, with their state, times and appeal."""
    return await _listing(
        services,
        principal,
        "sanctions",
        limit,
        since=since,
        until=until,
        category=category,
        after=after,
    )


@router.get("/reports")
async def reports(
    principal: PrincipalDep,
    services: ServicesDep,
    since: Since = None,
    until: Until = None,
    category: Annotated[str | None, Query(max_length=64, description="the report's reason")] = None,
    after: After = 0,
    limit: Limit = 100,
) -> Any:
    """Reports filed in the period and what came of them; never who filed them."""
    return await _listing(
        services,
        principal,
        "reports",
        limit,
        since=since,
        until=until,
        category=category,
        after=after,
    )


@router.get("/escalations")
async def escalations(
    principal: PrincipalDep,
    services: ServicesDep,
    since: Since = None,
    until: Until = None,
    after: After = 0,
    limit: Limit = 100,
) -> Any:
    """Posts that crossed a reach threshold, their evidence digest and their case."""
    return await _listing(
        services,
        principal,
        "escalations",
        limit,
        since=since,
        until=until,
        category=None,
        after=after,
    )


@router.get("/stats")
async def stats(
    principal: PrincipalDep,
    services: ServicesDep,
    period: Literal["day", "week", "month"] = Granularity.DAY,
    since: Since = None,
    until: Until = None,
    category: Category = None,
) -> Any:
    """Per period and category: cases and their outcomes, handling times, reports, sanctions by
    kind, appeals and reversals."""
    return await services.regulator.stats(
        principal, period=period, since=since, until=until, category=category
    )
