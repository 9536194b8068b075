"""The authority's read-only routes under /api/v1/audit: filings, review cases, sanctions,
reports, reach escalations, the figures per period and the load of the review desks' queues.
The auditor and administrators; the roles are checked in the services. Lists are oldest first,
paged by `cursor`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import orjson
from fastapi import Depends, Query
from fastapi.responses import StreamingResponse

from townhall.api.deps import PrincipalDep, ServicesDep, needs
from townhall.api.models.audit import (
    AuditCasePage,
    AuditEscalationPage,
    AuditReportPage,
    AuditSanctionPage,
    DsaStatementFile,
    Filing,
    FilingPage,
    Queues,
    Stats,
)
from townhall.api.models.common import (
    Cursor,
    at_most,
    cursor_position,
    errors,
    next_cursor,
)
from townhall.api.openapi import api_router
from townhall.domain.permissions import Permission
from townhall.services.container import Services
from townhall.services.principal import Principal
from townhall.services.regulator import LIST_MAX, Figures

router = api_router(prefix="/api/v1/audit", tags=["audit"])

# ISO dates (2024-05-01, whole days in the pack's time zone, `until` included) or date-times.
Since = Annotated[
    str | None, Query(max_length=40, description="the period's first day or moment; ISO 8601")
]
Until = Annotated[
    str | None,
    Query(max_length=40, description="the period's last day (included) or moment; ISO 8601"),
]
Category = Annotated[
    str | None, Query(max_length=64, description="only this category of the policy pack")
]
Limit = Annotated[int, at_most(LIST_MAX)]
Period = Annotated[
    Literal["day", "week", "month"], Query(description="the length of each counted period")
]


@dataclass(frozen=True)
class Listing:
    """A list's query parameters, in this order: the period, a category, the page."""

    since: Since = None
    until: Until = None
    category: Category = None
    cursor: Cursor = None
    limit: Limit = 100

    async def page(self, services: Services, principal: Principal, what: str) -> dict[str, Any]:
        items = await services.regulator.listing(
            principal,
            what,
            since=self.since,
            until=self.until,
            category=self.category,
            after=cursor_position(self.cursor) or 0,
            limit=self.limit,
        )
        last = items[-1].id if len(items) == self.limit else None
        return {what: items, "next_cursor": next_cursor(last)}


# A field redefined in a subclass keeps its place among the parameters.
@dataclass(frozen=True)
class ReportListing(Listing):
    category: Annotated[str | None, Query(max_length=64, description="the report's reason")] = None


@dataclass(frozen=True)
class EscalationListing(Listing):
    category: str | None = field(default=None, init=False)  # not a parameter: escalations have none


@router.get(
    "/filings",
    summary="List the filings of public accounts, for the authority",
    response_model=FilingPage,
    openapi_extra=needs(Permission.READ_AUDIT),
)
async def filings(
    principal: PrincipalDep,
    services: ServicesDep,
    category: Category = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Any:
    items = await services.public_accounts.filings(
        principal, category=category, after=cursor_position(cursor) or 0, limit=limit
    )
    last = items[-1].id if len(items) == limit else None
    return {"filings": [Filing.of(item) for item in items], "next_cursor": next_cursor(last)}


@router.get(
    "/cases",
    summary="List the review cases opened in a period, for the authority",
    response_model=AuditCasePage,
    openapi_extra=needs(Permission.READ_AUDIT),
)
async def cases(
    principal: PrincipalDep, services: ServicesDep, query: Annotated[Listing, Depends()]
) -> Any:
    """Cases opened in the period: how each was handled and how long it took; not the content."""
    return await query.page(services, principal, "cases")


@router.get(
    "/sanctions",
    summary="List the sanctions applied in a period, for the authority",
    response_model=AuditSanctionPage,
    openapi_extra=needs(Permission.READ_AUDIT),
)
async def sanctions(
    principal: PrincipalDep, services: ServicesDep, query: Annotated[Listing, Depends()]
) -> Any:
    """Sanctions applied in the period, with their state, times and appeal."""
    return await query.page(services, principal, "sanctions")


@router.get(
    "/reports",
    summary="List the reports filed in a period, for the authority",
    response_model=AuditReportPage,
    openapi_extra=needs(Permission.READ_AUDIT),
)
async def reports(
    principal: PrincipalDep, services: ServicesDep, query: Annotated[ReportListing, Depends()]
) -> Any:
    """Reports filed in the period and what came of them; never who filed them."""
    return await query.page(services, principal, "reports")


@router.get(
    "/escalations",
    summary="List the posts that crossed a reach threshold, for the authority",
    response_model=AuditEscalationPage,
    openapi_extra=needs(Permission.READ_AUDIT),
)
async def escalations(
    principal: PrincipalDep, services: ServicesDep, query: Annotated[EscalationListing, Depends()]
) -> Any:
    """Posts that crossed a reach threshold, their evidence digest and their case."""
    return await query.page(services, principal, "escalations")


@router.get(
    "/stats",
    summary="Count cases, reports, sanctions and appeals per period, for the authority",
    response_model=Stats,
    openapi_extra=needs(Permission.READ_AUDIT),
)
async def stats(
    principal: PrincipalDep,
    services: ServicesDep,
    period: Period = "day",
    since: Since = None,
    until: Until = None,
    category: Category = None,
) -> Any:
    """Per period and category: cases and their outcomes, handling times, reports, sanctions by
    kind, appeals and reversals."""
    figures = await services.regulator.stats(
        principal, period=period, since=since, until=until, category=category
    )
    return _stats(figures)


@router.get(
    "/queues",
    summary="Count what entered each review desk's queue per period, for the authority",
    response_model=Queues,
    openapi_extra=needs(Permission.READ_AUDIT),
)
async def queues(
    principal: PrincipalDep,
    services: ServicesDep,
    period: Period = "day",
    since: Since = None,
    until: Until = None,
) -> Any:
    """Per period, for content cases, identities, public-account applications and appeals: how
    many entered the desk's queue, how many of those have been decided since, how many still
    wait, and how many ran past their due time. Counts only."""
    figures = await services.regulator.queues(principal, period=period, since=since, until=until)
    return _stats(figures)


def _stats(figures: Figures) -> dict[str, Any]:
    """The figures, with their period's bounds read in the pack's time zone."""
    return {
        "period": figures.period,
        "timezone": figures.timezone,
        **figures.window.render(ZoneInfo(figures.timezone)),
        "rows": figures.rows,
    }


@router.get(
    "/dsa-statements",
    summary="Export the DSA statements of reasons for a period, for the authority",
    response_class=StreamingResponse,
    responses={
        200: {"model": DsaStatementFile, "description": "the statements, as a file"},
        **errors(422),
    },
    openapi_extra=needs(Permission.READ_AUDIT),
)
async def dsa_statements(
    principal: PrincipalDep, services: ServicesDep, since: Since = None, until: Until = None
) -> StreamingResponse:
    """What `townhall export dsa-statements` writes, in one file streamed as it is read. Only
    under a pack that files them (`enforcement.dsa_statements`, as eu-dsa); the export is in
    the audit log."""
    batches = services.regulator.dsa_statements(principal, since=since, until=until)
    first = await anext(batches, None)  # a refusal (the role, the pack, the period) answers here
    return StreamingResponse(
        _statements_file(first, batches),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="dsa-statements.json"'},
    )


async def _statements_file(
    first: list[dict[str, Any]] | None, rest: AsyncIterator[list[dict[str, Any]]]
) -> AsyncIterator[bytes]:
    yield b'{"statements":['
    if first is not None:
        yield b",".join(map(orjson.dumps, first))
        async for batch in rest:
            yield b"," + b",".join(map(orjson.dumps, batch))
    yield b"]}"
