"""Staff routes for moderation: the lexicon, trying a text, and the statements of reasons."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from townhall.api.deps import PrincipalDep, ServicesDep, needs
from townhall.api.schemas import MAX_ID, LexiconTermIn, TextCheckIn
from townhall.domain.permissions import Permission

router = APIRouter(prefix="/api/v1/admin", tags=["moderation"])


@router.get("/lexicon", openapi_extra=needs(Permission.READ_LEXICON))
async def lexicon(principal: PrincipalDep, services: ServicesDep) -> Any:
    return services.moderation.listing(principal)


@router.post("/lexicon/terms", status_code=201, openapi_extra=needs(Permission.EDIT_LEXICON))
async def add_term(body: LexiconTermIn, principal: PrincipalDep, services: ServicesDep) -> Any:
    return await services.moderation.add_term(principal, **body.model_dump())


@router.delete("/lexicon/terms", status_code=204, openapi_extra=needs(Permission.EDIT_LEXICON))
async def remove_term(
    principal: PrincipalDep,
    services: ServicesDep,
    text: Annotated[str, Query(min_length=1, max_length=256)],
) -> Response:
    await services.moderation.remove_term(principal, text)
    return Response(status_code=204)


@router.post("/lexicon/check", openapi_extra=needs(Permission.READ_LEXICON))
async def check_text(body: TextCheckIn, principal: PrincipalDep, services: ServicesDep) -> Any:
    return services.moderation.try_text(principal, body.surface, body.text)


@router.get("/moderation/statements", openapi_extra=needs(Permission.READ_STATEMENTS))
async def statements(
    principal: PrincipalDep,
    services: ServicesDep,
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    items = await services.moderation.statements(principal, after=after, limit=limit)
    return {"statements": items, "next_after": items[-1]["id"] if len(items) == limit else None}
