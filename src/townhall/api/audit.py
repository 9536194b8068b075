"""The authority's read-only routes under /api/v1/audit: filings (more with the audit log)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from townhall.api.deps import PrincipalDep, ServicesDep

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("/filings")
async def filings(
    principal: PrincipalDep,
    services: ServicesDep,
    category: Annotated[str | None, Query(max_length=64)] = None,
) -> Any:
    return {"filings": await services.public_accounts.filings(principal, category=category)}
