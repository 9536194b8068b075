"""The audit log, read-only, for auditors and administrators: its rows, its newest signed
checkpoint, and RFC 9162 inclusion and consistency proofs to check against that checkpoint."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from townhall.api.deps import PrincipalDep, ServicesDep, needs
from townhall.api.schemas import MAX_ID
from townhall.domain.permissions import Permission
from townhall.services.audit import PAGE_DEFAULT

router = APIRouter(prefix="/api/v1/audit/log", tags=["audit"])
# Sizes and seqs are checked by the service, with their own error codes; this bound only keeps
# a number within what the database can compare.
Size = Annotated[int, Query(ge=0, le=MAX_ID)]
SizeOrNewest = Annotated[int | None, Query(ge=0, le=MAX_ID)]  # None: the newest checkpoint's


@router.get("", openapi_extra=needs(Permission.READ_AUDIT))
async def rows(
    principal: PrincipalDep,
    services: ServicesDep,
    after: Size = 0,
    limit: Size = PAGE_DEFAULT,
) -> Any:
    return await services.audit_log.rows(principal, after=after, limit=limit)


@router.get("/checkpoint", openapi_extra=needs(Permission.READ_AUDIT))
async def checkpoint(principal: PrincipalDep, services: ServicesDep) -> Any:
    return services.audit_log.checkpoint_view(principal)


@router.get("/proofs/inclusion", openapi_extra=needs(Permission.READ_AUDIT))
async def inclusion(
    principal: PrincipalDep, services: ServicesDep, seq: Size, tree_size: SizeOrNewest = None
) -> Any:
    return await services.audit_log.inclusion(principal, seq=seq, tree_size=tree_size)


@router.get("/proofs/consistency", openapi_extra=needs(Permission.READ_AUDIT))
async def consistency(
    principal: PrincipalDep, services: ServicesDep, first: Size, second: SizeOrNewest = None
) -> Any:
    return await services.audit_log.consistency(principal, first=first, second=second)
