"""Staff routes for moderation: the lexicon, trying a text, and the statements of reasons."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from townhall.api.deps import PrincipalDep, ServicesDep, needs
from townhall.api.models.common import Cursor, at_most, cursor_position, errors, next_cursor
from townhall.api.models.moderation import (
    CheckedText,
    LexiconListing,
    LexiconTerm,
    StatementPage,
)
from townhall.api.schemas import LexiconTermIn, TextCheckIn
from townhall.domain.permissions import Permission

router = APIRouter(prefix="/api/v1/admin", tags=["moderation"])


@router.get(
    "/lexicon",
    summary="List the moderation lexicon's terms",
    response_model=LexiconListing,
    openapi_extra=needs(Permission.READ_LEXICON),
)
async def lexicon(principal: PrincipalDep, services: ServicesDep) -> Any:
    return services.moderation.listing(principal)


@router.post(
    "/lexicon/terms",
    summary="Add a term to the moderation lexicon",
    status_code=201,
    response_model=LexiconTerm,
    openapi_extra=needs(Permission.EDIT_LEXICON),
)
async def add_term(body: LexiconTermIn, principal: PrincipalDep, services: ServicesDep) -> Any:
    return await services.moderation.add_term(principal, **body.model_dump())


@router.delete(
    "/lexicon/terms",
    summary="Remove a term from the moderation lexicon",
    status_code=204,
    response_class=Response,
    responses=errors(404),
    openapi_extra=needs(Permission.EDIT_LEXICON),
)
async def remove_term(
    principal: PrincipalDep,
    services: ServicesDep,
    text: Annotated[str, Query(min_length=1, max_length=256, description="the term, exactly")],
) -> Response:
    await services.moderation.remove_term(principal, text)
    return Response(status_code=204)


@router.post(
    "/lexicon/check",
    summary="Try the moderation check on a text, recording nothing",
    response_model=CheckedText,
    openapi_extra=needs(Permission.READ_LEXICON),
)
async def check_text(body: TextCheckIn, principal: PrincipalDep, services: ServicesDep) -> Any:
    """What the check would decide on the text, on the surface; nothing is recorded."""
    return services.moderation.try_text(principal, body.surface, body.text)


@router.get(
    "/moderation/statements",
    summary="List the statements of reasons for the check's decisions",
    response_model=StatementPage,
    openapi_extra=needs(Permission.READ_STATEMENTS),
)
async def statements(
    principal: PrincipalDep,
    services: ServicesDep,
    cursor: Cursor = None,
    limit: Annotated[int, at_most(500)] = 100,
) -> Any:
    items = await services.moderation.statements(
        principal, after=cursor_position(cursor) or 0, limit=limit
    )
    last = items[-1].id if len(items) == limit else None
    return {"statements": items, "next_cursor": next_cursor(last)}
