"""Staff routes under /api/v1/admin: the identity review queue, the audited reveal, the
blacklist, the record of identity access, public-account review and suspension, and reach
escalations. Roles are checked in the services."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response

from townhall.api.deps import PrincipalDep, ServicesDep, needs
from townhall.api.schemas import (
    MAX_ID,
    BlacklistIn,
    DecisionIn,
    PublicAccountDecisionIn,
    ReasonIn,
)
from townhall.domain.permissions import Permission

router = APIRouter(prefix="/api/v1/admin", tags=["staff"])

UserId = Annotated[int, Path(ge=1, le=MAX_ID)]
PublicAccountId = Annotated[int, Path(ge=1, le=MAX_ID)]
After = Annotated[int, Query(ge=0, le=MAX_ID)]


@router.get("/identities", openapi_extra=needs(Permission.READ_IDENTITY_QUEUE))
async def identity_queue(
    principal: PrincipalDep,
    services: ServicesDep,
    status: Literal[
        "pending_review", "format_checked", "provider_verified", "staff_verified", "rejected"
    ] = "pending_review",
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    items = await services.identity.review_queue(principal, status=status, after=after, limit=limit)
    return {
        "identities": items,
        "next_after": items[-1]["user_id"] if len(items) == limit else None,
    }


@router.post("/identities/{user_id}/claim", openapi_extra=needs(Permission.REVIEW_IDENTITY))
async def claim(user_id: UserId, principal: PrincipalDep, services: ServicesDep) -> Any:
    return await services.identity.claim(principal, user_id)


@router.post("/identities/{user_id}/decision", openapi_extra=needs(Permission.REVIEW_IDENTITY))
async def decide(
    user_id: UserId, body: DecisionIn, principal: PrincipalDep, services: ServicesDep
) -> Any:
    return await services.identity.decide(
        principal, user_id, approve=body.decision == "approve", reason=body.reason
    )


@router.post("/identities/{user_id}/reveal", openapi_extra=needs(Permission.REVEAL_IDENTITY))
async def reveal(
    user_id: UserId,
    body: ReasonIn,
    principal: PrincipalDep,
    services: ServicesDep,
    response: Response,
) -> Any:
    revealed = await services.identity.reveal(principal, user_id, body.reason)
    response.headers["Cache-Control"] = "no-store"  # no browser or proxy keeps the plaintext
    return revealed


@router.get("/identity-access", openapi_extra=needs(Permission.READ_IDENTITY_ACCESS))
async def identity_access(
    principal: PrincipalDep,
    services: ServicesDep,
    subject_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    records = await services.identity.access_records(principal, subject_id=subject_id, limit=limit)
    return {"records": records}


@router.post("/blacklist", status_code=201, openapi_extra=needs(Permission.BLACKLIST_IDENTITY))
async def blacklist(body: BlacklistIn, principal: PrincipalDep, services: ServicesDep) -> Any:
    added = await services.identity.blacklist(principal, body.user_id, body.reason)
    return {"user_id": body.user_id, "blacklisted": True, "newly_added": added}


@router.get("/public-accounts", openapi_extra=needs(Permission.READ_APPLICATIONS))
async def public_account_queue(
    principal: PrincipalDep,
    services: ServicesDep,
    status: Literal[
        "pending_review", "approved", "rejected", "suspended", "closed"
    ] = "pending_review",
    after: After = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    items = await services.public_accounts.review_queue(
        principal, status=status, after=after, limit=limit
    )
    return {
        "public_accounts": items,
        "next_after": items[-1]["id"] if len(items) == limit else None,
    }


@router.post(
    "/public-accounts/{public_account_id}/decision",
    openapi_extra=needs(Permission.REVIEW_PUBLIC_ACCOUNT),
)
async def decide_public_account(
    public_account_id: PublicAccountId,
    body: PublicAccountDecisionIn,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Any:
    return await services.public_accounts.decide(
        principal,
        public_account_id,
        approve=body.decision == "approve",
        reason=body.reason,
        news_entitlement=body.news_entitlement,
    )


@router.get("/reach/escalations", openapi_extra=needs(Permission.READ_REACH))
async def reach_escalations(
    principal: PrincipalDep,
    services: ServicesDep,
    after: After = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    items = await services.reach.escalations(principal, after=after, limit=limit)
    return {"escalations": items, "next_after": items[-1]["id"] if len(items) == limit else None}


@router.get("/reach/forwards/{forward_id}/lineage", openapi_extra=needs(Permission.READ_REACH))
async def forward_lineage(
    forward_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    principal: PrincipalDep,
    services: ServicesDep,
) -> Any:
    return {"lineage": await services.reach.lineage(principal, forward_id)}


@router.get(
    "/reach/public-accounts/{public_account_id}", openapi_extra=needs(Permission.READ_REACH)
)
async def author_reach(
    public_account_id: PublicAccountId, principal: PrincipalDep, services: ServicesDep
) -> Any:
    return await services.reach.author_totals(principal, public_account_id)
