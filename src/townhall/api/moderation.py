"""Staff routes for moderation: the lexicon, trying a text, the statements of reasons, the hash
bank, rescans and classifier trainings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from townhall.api.deps import PrincipalDep, ServicesDep, needs
from townhall.api.models.common import Cursor, at_most, cursor_position, errors, next_cursor
from townhall.api.models.moderation import (
    CheckedText,
    HashBank,
    LexiconListing,
    LexiconTerm,
    RescanList,
    RescanProgress,
    StatementPage,
    TrainingList,
    TrainingResult,
)
from townhall.api.schemas import MAX_ID, LexiconTermIn, RescanIn, TextCheckIn
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


@router.get(
    "/moderation/hash-bank",
    summary="Count the hash bank of removed texts and list its newest digests",
    response_model=HashBank,
    openapi_extra=needs(Permission.READ_LEXICON),
)
async def hash_bank(
    principal: PrincipalDep, services: ServicesDep, limit: Annotated[int, at_most(500)] = 100
) -> Any:
    return await services.moderation.hash_bank(principal, limit=limit)


@router.get(
    "/moderation/rescans",
    summary="List the latest rescans of published posts, with their progress",
    response_model=RescanList,
    openapi_extra=needs(Permission.READ_LEXICON),
)
async def rescans(principal: PrincipalDep, services: ServicesDep) -> Any:
    runs = await services.rescan.latest(principal)
    return {"rescans": [RescanProgress.of(run) for run in runs]}


@router.post(
    "/moderation/rescans",
    summary="Re-check published posts with the lexicon and hash bank as they are now",
    status_code=202,
    response_model=RescanProgress,
    responses=errors(409),
    openapi_extra=needs(Permission.RESCAN_POSTS),
)
async def begin_rescan(body: RescanIn, principal: PrincipalDep, services: ServicesDep) -> Any:
    """Begins at once and runs on after the answer: follow it at `GET …/rescans/{id}`. What
    now matches is queued for review; posts stay up until a reviewer decides."""
    run = await services.rescan.begin(principal, int(body.since.timestamp() * 1000))
    services.rescan.run_in_background(run)
    return RescanProgress.of(run)


@router.get(
    "/moderation/rescans/{rescan_id}",
    summary="Read a rescan's progress",
    response_model=RescanProgress,
    responses=errors(404),
    openapi_extra=needs(Permission.READ_LEXICON),
)
async def rescan(
    rescan_id: Annotated[int, Path(ge=1, le=MAX_ID, description="the rescan")],
    principal: PrincipalDep,
    services: ServicesDep,
) -> Any:
    return RescanProgress.of(await services.rescan.one(principal, rescan_id))


@router.get(
    "/moderation/trainings",
    summary="List the latest classifier trainings and what they measured",
    response_model=TrainingList,
    openapi_extra=needs(Permission.READ_LEXICON),
)
async def trainings(principal: PrincipalDep, services: ServicesDep) -> Any:
    """Precision and recall per category on the decisions held out (`townhall moderation
    train` records them)."""
    found = await services.trainings.latest(principal)
    return {"trainings": [TrainingResult.of(training) for training in found]}
