"""The audit log, read-only, for auditors and administrators: its rows, its newest signed
checkpoint, and RFC 9162 inclusion and consistency proofs to check against that checkpoint."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from townhall.api.deps import PrincipalDep, ServicesDep, needs
from townhall.api.models.audit import Checkpoint, ConsistencyProof, InclusionProof, LogPage
from townhall.api.models.common import Cursor, cursor_after_last, cursor_position, errors
from townhall.api.schemas import MAX_ID
from townhall.domain.permissions import Permission
from townhall.services.audit import PAGE_DEFAULT, PAGE_MAX

router = APIRouter(prefix="/api/v1/audit/log", tags=["audit"])
# Sizes and seqs are checked by the service, with their own error codes; this bound only keeps
# a number within what the database can compare.
Size = Annotated[int, Query(ge=0, le=MAX_ID)]
SizeOrNewest = Annotated[int | None, Query(ge=0, le=MAX_ID)]  # None: the newest checkpoint's
RowLimit = Annotated[
    int,
    Query(
        ge=0,
        le=MAX_ID,
        description=f"1 to {PAGE_MAX} rows, {PAGE_DEFAULT} if not given; else 400 limit_invalid",
    ),
]


@router.get(
    "",
    response_model=LogPage,
    responses=errors(409),  # a row that cannot be hashed: the log is broken
    openapi_extra=needs(Permission.READ_AUDIT),
)
async def log_rows(
    principal: PrincipalDep,
    services: ServicesDep,
    cursor: Cursor = None,
    limit: RowLimit = PAGE_DEFAULT,
) -> Any:
    """In seq order; the cursor is the seq of the last row seen."""
    items = await services.audit_log.rows(
        principal, after=cursor_position(cursor) or 0, limit=limit
    )
    return {"rows": items, "next_cursor": cursor_after_last(items, limit, "seq")}


@router.get(
    "/checkpoint",
    response_model=Checkpoint,
    responses=errors(404, 409),
    openapi_extra=needs(Permission.READ_AUDIT),
)
async def checkpoint(principal: PrincipalDep, services: ServicesDep) -> Any:
    return services.audit_log.checkpoint_view(principal)


@router.get(
    "/proofs/inclusion",
    response_model=InclusionProof,
    responses=errors(404, 409),
    openapi_extra=needs(Permission.READ_AUDIT),
)
async def inclusion(
    principal: PrincipalDep, services: ServicesDep, seq: Size, tree_size: SizeOrNewest = None
) -> Any:
    return await services.audit_log.inclusion(principal, seq=seq, tree_size=tree_size)


@router.get(
    "/proofs/consistency",
    response_model=ConsistencyProof,
    responses=errors(404, 409),
    openapi_extra=needs(Permission.READ_AUDIT),
)
async def consistency(
    principal: PrincipalDep, services: ServicesDep, first: Size, second: SizeOrNewest = None
) -> Any:
    return await services.audit_log.consistency(principal, first=first, second=second)
