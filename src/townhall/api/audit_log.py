"""The audit log, read-only, for auditors and administrators: its rows, its newest signed
checkpoint, and RFC 9162 inclusion and consistency proofs to check against that checkpoint."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from townhall.api.deps import PrincipalDep, ServicesDep, needs
from townhall.api.models.audit import Checkpoint, ConsistencyProof, InclusionProof, LogPage
from townhall.api.models.common import Cursor, cursor_position, errors, next_cursor
from townhall.api.openapi import api_router
from townhall.api.schemas import MAX_ID
from townhall.domain.permissions import Permission
from townhall.services.audit import PAGE_DEFAULT, PAGE_MAX, LogFilter

router = api_router(prefix="/api/v1/audit/log", tags=["audit"])
# Sizes and seqs are checked by the service, with their own error codes; this bound only keeps
# a number within what the database can compare.


def size(description: str) -> Any:
    """The `Query` of a seq or a tree size."""
    return Query(ge=0, le=MAX_ID, description=description)


NEWEST = "; the newest checkpoint's if not given"
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
    summary="Page through the audit log's rows, in seq order",
    response_model=LogPage,
    responses=errors(409),  # a row that cannot be hashed: the log is broken
    openapi_extra=needs(Permission.READ_AUDIT),
)
async def log_rows(
    principal: PrincipalDep,
    services: ServicesDep,
    cursor: Cursor = None,
    limit: RowLimit = PAGE_DEFAULT,
    action: Annotated[
        str | None, Query(max_length=64, description="only the rows of this action")
    ] = None,
    actor_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="only the rows this account wrote")
    ] = None,
    subject_type: Annotated[
        str | None, Query(max_length=32, description="only the rows about this kind of subject")
    ] = None,
    subject_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="only the rows about this subject id")
    ] = None,
) -> Any:
    """In seq order; the cursor is the seq of the last row seen. The filters combine."""
    only = LogFilter(action, actor_id, subject_type, subject_id)
    items = await services.audit_log.rows(
        principal, after=cursor_position(cursor) or 0, limit=limit, only=only
    )
    last = items[-1].seq if len(items) == limit else None
    return {"rows": items, "next_cursor": next_cursor(last)}


@router.get(
    "/checkpoint",
    summary="Show the newest signed checkpoint of the audit log",
    response_model=Checkpoint,
    responses=errors(404, 409),
    openapi_extra=needs(Permission.READ_AUDIT),
)
async def checkpoint(principal: PrincipalDep, services: ServicesDep) -> Any:
    return services.audit_log.checkpoint_view(principal)


@router.get(
    "/proofs/inclusion",
    summary="Prove that a row is in the audit log",
    response_model=InclusionProof,
    responses=errors(404, 409),
    openapi_extra=needs(Permission.READ_AUDIT),
)
async def inclusion(
    principal: PrincipalDep,
    services: ServicesDep,
    seq: Annotated[int, size("the seq of the row")],
    tree_size: Annotated[int | None, size("the size of the log to prove it in" + NEWEST)] = None,
) -> Any:
    return await services.audit_log.inclusion(principal, seq=seq, tree_size=tree_size)


@router.get(
    "/proofs/consistency",
    summary="Prove that a later audit log extends an earlier one",
    response_model=ConsistencyProof,
    responses=errors(404, 409),
    openapi_extra=needs(Permission.READ_AUDIT),
)
async def consistency(
    principal: PrincipalDep,
    services: ServicesDep,
    first: Annotated[int, size("the size of the earlier log")],
    second: Annotated[int | None, size("the size of the later log" + NEWEST)] = None,
) -> Any:
    return await services.audit_log.consistency(principal, first=first, second=second)
