"""Sanctions and appeals: staff apply and lift sanctions and decide appeals under
/api/v1/admin; subjects file and follow their appeals under /api/v1/appeals."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from townhall.api.deps import PrincipalDep, ServicesDep, needs
from townhall.api.schemas import (
    MAX_ID,
    AppealDecisionIn,
    AppealIn,
    IdentityLinkIn,
    IdentityUnlinkIn,
    ReasonIn,
    SanctionIn,
)
from townhall.domain.permissions import Permission

router = APIRouter(prefix="/api/v1", tags=["sanctions"])
EntityPath = Annotated[int, Path(ge=1, le=MAX_ID)]
After = Annotated[int, Query(ge=0, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=500)]
SubjectType = Annotated[str | None, Query(max_length=32)]


def _page(items: list[dict[str, Any]], key: str, limit: int) -> dict[str, Any]:
    return {key: items, "next_after": items[-1]["id"] if len(items) == limit else None}


@router.post("/admin/sanctions", status_code=201, openapi_extra=needs(Permission.APPLY_SANCTION))
async def apply(body: SanctionIn, principal: PrincipalDep, services: ServicesDep) -> Any:
    return await services.enforcement.apply(
        principal,
        subject_type=body.subject_type,
        subject_id=body.subject_id,
        kind=body.kind,
        reason=body.reason,
        case_id=body.case_id,
        ends_at=body.ends_at,
        days=body.days,
        member_id=body.member_id,
    )


@router.get("/admin/sanctions", openapi_extra=needs(Permission.READ_SANCTIONS))
async def listing(
    principal: PrincipalDep,
    services: ServicesDep,
    subject_type: SubjectType = None,
    subject_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    state: Annotated[str | None, Query(max_length=16)] = None,
    after: After = 0,
    limit: Limit = 50,
) -> Any:
    items = await services.enforcement.listing(
        principal,
        subject_type=subject_type,
        subject_id=subject_id,
        state=state,
        after=after,
        limit=limit,
    )
    return _page(items, "sanctions", limit)


@router.get("/admin/sanctions/standing", openapi_extra=needs(Permission.READ_SANCTIONS))
async def standing(
    principal: PrincipalDep,
    services: ServicesDep,
    subject_type: Annotated[str, Query(max_length=32)],
    subject_id: Annotated[int, Query(ge=1, le=MAX_ID)],
    case_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Any:
    """Strike points, credit band, history and the rung recommended next."""
    return await services.enforcement.standing(principal, subject_type, subject_id, case_id=case_id)


@router.get("/admin/sanctions/{sanction_id}", openapi_extra=needs(Permission.READ_SANCTIONS))
async def get(sanction_id: EntityPath, principal: PrincipalDep, services: ServicesDep) -> Any:
    return await services.enforcement.get(principal, sanction_id)


@router.post("/admin/sanctions/{sanction_id}/lift", openapi_extra=needs(Permission.LIFT_SANCTION))
async def lift(
    sanction_id: EntityPath, body: ReasonIn, principal: PrincipalDep, services: ServicesDep
) -> Any:
    return await services.enforcement.lift(principal, sanction_id, body.reason)


@router.post("/admin/identity-links", openapi_extra=needs(Permission.LINK_IDENTITIES))
async def link_identities(
    body: IdentityLinkIn, principal: PrincipalDep, services: ServicesDep
) -> Any:
    """A reviewer's finding that two accounts' identities are one person: sanctions, strikes
    and credit of each reach the other."""
    return await services.enforcement.link_identities(
        principal, body.user_id, body.other_user_id, body.reason
    )


@router.post("/admin/identity-links/unlink", openapi_extra=needs(Permission.LINK_IDENTITIES))
async def unlink_identity(
    body: IdentityUnlinkIn, principal: PrincipalDep, services: ServicesDep
) -> Any:
    return await services.enforcement.unlink_identity(principal, body.user_id, body.reason)


@router.get("/admin/appeals", openapi_extra=needs(Permission.READ_APPEALS))
async def appeal_queue(
    principal: PrincipalDep,
    services: ServicesDep,
    state: Annotated[str, Query(max_length=16)] = "pending",
    after: After = 0,
    limit: Limit = 50,
) -> Any:
    items = await services.appeals.queue(principal, state=state, after=after, limit=limit)
    return _page(items, "appeals", limit)


@router.post("/admin/appeals/{appeal_id}/decision", openapi_extra=needs(Permission.DECIDE_APPEAL))
async def decide_appeal(
    appeal_id: EntityPath, body: AppealDecisionIn, principal: PrincipalDep, services: ServicesDep
) -> Any:
    return await services.appeals.decide(
        principal, appeal_id, verdict=body.verdict, reason=body.reason
    )


@router.post("/appeals", status_code=201, openapi_extra=needs(Permission.ACT))
async def file_appeal(body: AppealIn, principal: PrincipalDep, services: ServicesDep) -> Any:
    return await services.appeals.file(
        principal, sanction_id=body.sanction_id, case_id=body.case_id, statement=body.statement
    )


@router.get("/appeals")
async def my_appeals(principal: PrincipalDep, services: ServicesDep) -> Any:
    return {"appeals": await services.appeals.mine(principal)}
