"""Staff routes under /api/v1/admin: the identity review queue, the audited reveal, the
blacklist, the record of identity access, public-account review and suspension, and reach
escalations. Roles are checked in the services."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path, Query

from townhall.api.deps import PrincipalDep, ServicesDep, needs
from townhall.api.models.admin import (
    AccessRecordPage,
    AuthorReach,
    Blacklisted,
    Escalation,
    EscalationPage,
    IdentityClaim,
    IdentityDecision,
    IdentityPage,
    Lineage,
    PublicAccountQueue,
    Reveal,
)
from townhall.api.models.common import (
    Cursor,
    at_most,
    cursor_position,
    errors,
    next_cursor,
)
from townhall.api.models.public_accounts import PublicAccount, account_page
from townhall.api.openapi import api_router
from townhall.api.responses import JSONBody
from townhall.api.schemas import (
    MAX_ID,
    BlacklistIn,
    DecisionIn,
    PublicAccountDecisionIn,
    RevealIn,
)
from townhall.domain.permissions import Permission

router = api_router(prefix="/api/v1/admin", tags=["staff"])

UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="the user whose identity it is")]
PublicAccountId = Annotated[int, Path(ge=1, le=MAX_ID, description="the public account")]


@router.get(
    "/identities",
    summary="List identities by review status, for reviewers",
    response_model=IdentityPage,
    openapi_extra=needs(Permission.READ_IDENTITY_QUEUE),
)
async def identity_queue(
    principal: PrincipalDep,
    services: ServicesDep,
    status: Annotated[
        Literal[
            "pending_review", "format_checked", "provider_verified", "staff_verified", "rejected"
        ],
        Query(description="the identities in this review status"),
    ] = "pending_review",
    cursor: Cursor = None,
    limit: Annotated[int, at_most(200)] = 50,
) -> Any:
    items = await services.identity.review_queue(
        principal, status=status, after=cursor_position(cursor) or 0, limit=limit
    )
    last = items[-1].user_id if len(items) == limit else None
    return {"identities": items, "next_cursor": next_cursor(last)}


@router.post(
    "/identities/{user_id}/claim",
    summary="Claim an identity to review it",
    response_model=IdentityClaim,
    responses=errors(409),
    openapi_extra=needs(Permission.REVIEW_IDENTITY),
)
async def claim_identity(user_id: UserId, principal: PrincipalDep, services: ServicesDep) -> Any:
    return await services.identity.claim(principal, user_id)


@router.post(
    "/identities/{user_id}/decision",
    summary="Approve or reject a claimed identity",
    response_model=IdentityDecision,
    responses=errors(409, 422),
    openapi_extra=needs(Permission.REVIEW_IDENTITY),
)
async def decide_identity(
    user_id: UserId, body: DecisionIn, principal: PrincipalDep, services: ServicesDep
) -> Any:
    return await services.identity.decide(
        principal, user_id, approve=body.decision == "approve", reason=body.reason
    )


@router.post(
    "/identities/{user_id}/reveal",
    summary="Reveal a user's identity, with a recorded reason and what it is for",
    response_model=Reveal,
    responses=errors(422, 429),
    openapi_extra=needs(Permission.REVEAL_IDENTITY),
)
async def reveal_identity(
    user_id: UserId, body: RevealIn, principal: PrincipalDep, services: ServicesDep
) -> JSONBody:
    # Rendered as the service gave it, never re-validated: a validation error would carry the
    # plaintext into the server's log.
    revealed = await services.identity.reveal(principal, user_id, body.reason, body.reference)
    # No browser or proxy keeps the plaintext.
    return JSONBody(
        {
            "user_id": revealed.user_id,
            "identity": revealed.identity.as_dict(),
            "access_record_id": revealed.access_record_id,
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get(
    "/identity-access",
    summary="List the record of who saw which identity",
    response_model=AccessRecordPage,
    openapi_extra=needs(Permission.READ_IDENTITY_ACCESS),
)
async def identity_access(
    principal: PrincipalDep,
    services: ServicesDep,
    subject_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="only the access to this user's identity")
    ] = None,
    cursor: Cursor = None,
    limit: Annotated[int, at_most(500)] = 100,
) -> Any:
    """Newest first: each page goes further back."""
    records = await services.identity.access_records(
        principal, subject_id=subject_id, before=cursor_position(cursor), limit=limit
    )
    last = records[-1].id if len(records) == limit else None
    return {"records": records, "next_cursor": next_cursor(last)}


@router.post(
    "/blacklist",
    summary="Blacklist a user's identity from registering again",
    status_code=201,
    response_model=Blacklisted,
    responses=errors(404, 422),
    openapi_extra=needs(Permission.BLACKLIST_IDENTITY),
)
async def blacklist(body: BlacklistIn, principal: PrincipalDep, services: ServicesDep) -> Any:
    added = await services.identity.blacklist(principal, body.user_id, body.reason)
    return {"user_id": body.user_id, "blacklisted": True, "newly_added": added}


@router.get(
    "/public-accounts",
    summary="List public accounts by review status, for reviewers",
    response_model=PublicAccountQueue,
    response_model_exclude_unset=True,
    openapi_extra=needs(Permission.READ_APPLICATIONS),
)
async def public_account_queue(
    principal: PrincipalDep,
    services: ServicesDep,
    status: Annotated[
        Literal["pending_review", "approved", "rejected", "suspended", "closed"],
        Query(description="the public accounts in this status"),
    ] = "pending_review",
    cursor: Cursor = None,
    limit: Annotated[int, at_most(200)] = 50,
) -> Any:
    items = await services.public_accounts.review_queue(
        principal, status=status, after=cursor_position(cursor) or 0, limit=limit
    )
    last = items[-1].page.account.id if len(items) == limit else None
    return {
        "public_accounts": [
            {
                **account_page(item.page),
                "operator_handle": item.operator_handle,
                "reviewed_by": item.page.account.reviewed_by,
            }
            for item in items
        ],
        "next_cursor": next_cursor(last),
    }


@router.post(
    "/public-accounts/{public_account_id}/decision",
    summary="Approve or reject a public account's application",
    response_model=PublicAccount,
    response_model_exclude_unset=True,
    responses=errors(409, 422),
    openapi_extra=needs(Permission.REVIEW_PUBLIC_ACCOUNT),
)
async def decide_public_account(
    public_account_id: PublicAccountId,
    body: PublicAccountDecisionIn,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Any:
    page = await services.public_accounts.decide(
        principal,
        public_account_id,
        approve=body.decision == "approve",
        reason=body.reason,
        news_entitlement=body.news_entitlement,
    )
    return account_page(page)


@router.get(
    "/reach/escalations",
    summary="List posts escalated for their reach",
    response_model=EscalationPage,
    openapi_extra=needs(Permission.READ_REACH),
)
async def reach_escalations(
    principal: PrincipalDep,
    services: ServicesDep,
    cursor: Cursor = None,
    limit: Annotated[int, at_most(200)] = 50,
) -> Any:
    items = await services.reach.escalations(
        principal, after=cursor_position(cursor) or 0, limit=limit
    )
    last = items[-1].id if len(items) == limit else None
    return {
        "escalations": [Escalation.of(item) for item in items],
        "next_cursor": next_cursor(last),
    }


@router.get(
    "/reach/forwards/{forward_id}/lineage",
    summary="Trace a forward back through the chain that spread it",
    response_model=Lineage,
    openapi_extra=needs(Permission.READ_REACH),
)
async def forward_lineage(
    forward_id: Annotated[int, Path(ge=1, le=MAX_ID, description="the forward")],
    principal: PrincipalDep,
    services: ServicesDep,
) -> Any:
    return {"lineage": await services.reach.lineage(principal, forward_id)}


@router.get(
    "/reach/public-accounts/{public_account_id}",
    summary="Show the reach totals of a public account's posts",
    response_model=AuthorReach,
    openapi_extra=needs(Permission.READ_REACH),
)
async def author_reach(
    public_account_id: PublicAccountId, principal: PrincipalDep, services: ServicesDep
) -> Any:
    return AuthorReach.of(await services.reach.author_totals(principal, public_account_id))
