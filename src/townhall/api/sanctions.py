"""Sanctions and appeals: staff apply and lift sanctions and decide appeals under
/api/v1/admin; subjects file and follow their appeals under /api/v1/appeals."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query

from townhall.api.deps import PrincipalDep, ServicesDep, needs
from townhall.api.models.common import Cursor, at_most, cursor_after_last, cursor_position, errors
from townhall.api.models.sanctions import (
    Appeal,
    AppealPage,
    Credit,
    Person,
    Sanction,
    SanctionPage,
    StaffAppeal,
    StaffAppealPage,
    Standing,
)
from townhall.api.openapi import api_router
from townhall.api.schemas import (
    MAX_ID,
    AppealDecisionIn,
    AppealIn,
    IdentityLinkIn,
    IdentityUnlinkIn,
    ReasonIn,
    SanctionIn,
)
from townhall.domain.enforcement import AppealState, SanctionState, SubjectType
from townhall.domain.permissions import Permission
from townhall.services.enforcement import SubjectStanding
from townhall.services.rendering import render_appeal, render_sanction, render_staff_appeal

router = api_router(prefix="/api/v1", tags=["sanctions"])
SanctionId = Annotated[int, Path(ge=1, le=MAX_ID, description="the sanction")]
AppealId = Annotated[int, Path(ge=1, le=MAX_ID, description="the appeal")]
Limit = Annotated[int, at_most(500)]


@router.post(
    "/admin/sanctions",
    summary="Sanction a user or a public account",
    status_code=201,
    response_model=Sanction,
    responses=errors(404, 409, 422),
    openapi_extra=needs(Permission.APPLY_SANCTION),
)
async def apply(body: SanctionIn, principal: PrincipalDep, services: ServicesDep) -> Any:
    applied = await services.enforcement.apply(
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
    return render_sanction(applied)


@router.get(
    "/admin/sanctions",
    summary="List sanctions",
    response_model=SanctionPage,
    openapi_extra=needs(Permission.READ_SANCTIONS),
)
async def sanctions(
    principal: PrincipalDep,
    services: ServicesDep,
    subject_type: Annotated[
        SubjectType | None, Query(description="only sanctions on this kind of subject")
    ] = None,
    subject_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="only sanctions on this subject")
    ] = None,
    state: Annotated[
        SanctionState | None, Query(description="only sanctions in this state")
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    found = await services.enforcement.listing(
        principal,
        subject_type=subject_type,
        subject_id=subject_id,
        state=state,
        after=cursor_position(cursor) or 0,
        limit=limit,
    )
    items = [render_sanction(view) for view in found]
    return {"sanctions": items, "next_cursor": cursor_after_last(items, limit)}


@router.get(
    "/admin/sanctions/standing",
    summary="Show a subject's strikes, credit and the sanction recommended next",
    response_model=Standing,
    responses=errors(404),
    openapi_extra=needs(Permission.READ_SANCTIONS),
)
async def standing(
    principal: PrincipalDep,
    services: ServicesDep,
    subject_type: Annotated[SubjectType, Query(description="what kind of subject")],
    subject_id: Annotated[int, Query(ge=1, le=MAX_ID, description="the user or public account")],
    case_id: Annotated[
        int | None,
        Query(ge=1, le=MAX_ID, description="the case the next sanction would be for, if any"),
    ] = None,
) -> Any:
    """Strike points, credit band, history and the rung recommended next."""
    return _standing(
        await services.enforcement.standing(principal, subject_type, subject_id, case_id=case_id)
    )


def _standing(standing: SubjectStanding) -> dict[str, Any]:
    return {
        "subject": {"type": standing.subject_type, "id": standing.subject_id},
        "person": standing.person,
        "points": standing.points,
        "credit": Credit.of(standing.credit),
        "in_force": [render_sanction(view) for view in standing.in_force],
        "history": [render_sanction(view) for view in standing.history],
        "recommendation": standing.recommendation,
    }


@router.get(
    "/admin/sanctions/{sanction_id}",
    summary="Show a sanction",
    response_model=Sanction,
    openapi_extra=needs(Permission.READ_SANCTIONS),
)
async def sanction(sanction_id: SanctionId, principal: PrincipalDep, services: ServicesDep) -> Any:
    return render_sanction(await services.enforcement.get(principal, sanction_id))


@router.post(
    "/admin/sanctions/{sanction_id}/lift",
    summary="Lift a sanction before it ends",
    response_model=Sanction,
    responses=errors(409, 422),
    openapi_extra=needs(Permission.LIFT_SANCTION),
)
async def lift(
    sanction_id: SanctionId, body: ReasonIn, principal: PrincipalDep, services: ServicesDep
) -> Any:
    return render_sanction(await services.enforcement.lift(principal, sanction_id, body.reason))


@router.post(
    "/admin/identity-links",
    summary="Link two accounts whose identities are one person",
    response_model=Person,
    responses=errors(404, 409, 422),
    openapi_extra=needs(Permission.LINK_IDENTITIES),
)
async def link_identities(
    body: IdentityLinkIn, principal: PrincipalDep, services: ServicesDep
) -> Any:
    """A reviewer's finding that two accounts' identities are one person: sanctions, strikes
    and credit of each reach the other."""
    return await services.enforcement.link_identities(
        principal, body.user_id, body.other_user_id, body.reason
    )


@router.post(
    "/admin/identity-links/unlink",
    summary="Unlink an account from the person it was linked to",
    response_model=Person,
    responses=errors(404, 409, 422),
    openapi_extra=needs(Permission.LINK_IDENTITIES),
)
async def unlink_identity(
    body: IdentityUnlinkIn, principal: PrincipalDep, services: ServicesDep
) -> Any:
    return await services.enforcement.unlink_identity(principal, body.user_id, body.reason)


@router.get(
    "/admin/appeals",
    summary="List appeals by state, for reviewers",
    response_model=StaffAppealPage,
    openapi_extra=needs(Permission.READ_APPEALS),
)
async def appeal_queue(
    principal: PrincipalDep,
    services: ServicesDep,
    state: Annotated[AppealState, Query(description="the appeals in this state")] = (
        AppealState.PENDING
    ),
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    queued = await services.appeals.queue(
        principal, state=state, after=cursor_position(cursor) or 0, limit=limit
    )
    items = [render_staff_appeal(appeal, deciders) for appeal, deciders in queued]
    return {"appeals": items, "next_cursor": cursor_after_last(items, limit)}


@router.post(
    "/admin/appeals/{appeal_id}/decision",
    summary="Decide an appeal",
    response_model=StaffAppeal,
    responses=errors(409, 422),
    openapi_extra=needs(Permission.DECIDE_APPEAL),
)
async def decide_appeal(
    appeal_id: AppealId, body: AppealDecisionIn, principal: PrincipalDep, services: ServicesDep
) -> Any:
    decided, deciders = await services.appeals.decide(
        principal, appeal_id, verdict=body.verdict, reason=body.reason
    )
    return render_staff_appeal(decided, deciders)


@router.post(
    "/appeals",
    summary="Appeal a sanction or a review decision",
    status_code=201,
    response_model=Appeal,
    responses=errors(404, 409, 422),
    openapi_extra=needs(Permission.ACT),
)
async def file_appeal(body: AppealIn, principal: PrincipalDep, services: ServicesDep) -> Any:
    filed = await services.appeals.file(
        principal, sanction_id=body.sanction_id, case_id=body.case_id, statement=body.statement
    )
    return render_appeal(filed)


@router.get("/appeals", summary="List the caller's appeals", response_model=AppealPage)
async def my_appeals(
    principal: PrincipalDep, services: ServicesDep, cursor: Cursor = None, limit: Limit = 50
) -> Any:
    """The caller's appeals, oldest first."""
    mine = await services.appeals.mine(principal, after=cursor_position(cursor) or 0, limit=limit)
    items = [render_appeal(appeal) for appeal in mine]
    return {"appeals": items, "next_cursor": cursor_after_last(items, limit)}
