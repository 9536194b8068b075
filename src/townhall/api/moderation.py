"""Staff routes for moderation: the lexicon, trying a text, the statements of reasons, the hash
banks (the image bank's hash lists imported and exported), rescans and classifier trainings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from townhall.api.deps import PrincipalDep, ServicesDep, needs
from townhall.api.media import streamed_body
from townhall.api.models.common import Cursor, at_most, cursor_position, errors, next_cursor
from townhall.api.models.moderation import (
    CheckedText,
    HashBank,
    ImportedHashList,
    LexiconListing,
    LexiconTerm,
    RescanList,
    RescanProgress,
    StatementPage,
    TrainingList,
    TrainingResult,
)
from townhall.api.openapi import api_router, media_ref
from townhall.api.schemas import MAX_ID, LexiconTermIn, RescanIn, TextCheckIn
from townhall.domain.hash_lists import HashListFormat
from townhall.domain.permissions import Permission

router = api_router(prefix="/api/v1/admin", tags=["moderation"])


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


# The image hash bank ---------------------------------------------------------------------------

HASH_LIST_BODY = {
    "required": True,
    "description": "the list as its file is, UTF-8, at most max_hash_list_bytes: the CSV "
    "`threatexchange dataset -P --csv` prints, or `pdq <hash>` a line (docs/media.md)",
    "content": {
        "text/csv": {"schema": media_ref("HashList")},
        "text/plain": {"schema": media_ref("HashList")},
    },
}


@router.post(
    "/moderation/image-hashes",
    summary="Import a hash list (Meta's HMA / ThreatExchange formats) into the image hash bank",
    status_code=201,
    response_model=ImportedHashList,
    responses=errors(413),
    openapi_extra={**needs(Permission.EDIT_LEXICON), "requestBody": HASH_LIST_BODY},
)
async def import_image_hashes(
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    list_name: Annotated[
        str,
        Query(
            alias="list",
            min_length=1,
            max_length=128,
            description="the list's name, kept with each of its hashes. A row is labelled by "
            "its tags, then its `collab` (or, where it gives none, this name)",
        ),
    ],
    category_map: Annotated[
        list[str] | None,
        Query(
            description="`label=category`, repeated: a list's tags (or its name) mapped to the "
            "pack's categories; a label that is a category of the pack maps to it unless named "
            "here"
        ),
    ] = None,
) -> Any:
    """The whole list or nothing: a line that is no PDQ hash, or whose labels map to no
    category, refuses it with 400 `hash_list_invalid` listing the first problems by line. Rows
    of other signal types and NEGATIVE_CLASS rows are passed over and counted. Its hashes are in
    force on every process once this answers; the import is in the audit log."""
    imported = await services.images.import_upload(
        principal, streamed_body(request), list_name=list_name, category_map=category_map or []
    )
    return imported


@router.get(
    "/moderation/image-hashes/export",
    summary="Export the image hash bank as a hash list",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "the bank as a hash list, each hash tagged with its category",
            "content": {
                "text/csv": {"schema": media_ref("HashList")},
                "text/plain": {"schema": media_ref("HashList")},
            },
        }
    },
    openapi_extra=needs(Permission.EXPORT_HASH_BANK),
)
async def export_image_hashes(
    principal: PrincipalDep,
    services: ServicesDep,
    list_name: Annotated[
        str,
        Query(
            alias="list",
            min_length=1,
            max_length=128,
            description="the name the list gives itself (the CSV's `collab`)",
        ),
    ] = "townhall",
    list_format: Annotated[
        HashListFormat,
        Query(
            alias="format",
            description="`csv`: the table `threatexchange dataset -P --csv` prints, each hash "
            "with its opinion and tagged with its category (what an import here reads back as "
            "it was); `plain`: `pdq <hash>` a line, nothing else",
        ),
    ] = HashListFormat.CSV,
) -> StreamingResponse:
    """Streamed as it is read, in the order of the hashes; the export is in the audit log."""
    lines = await services.images.export(principal, list_name=list_name, list_format=list_format)
    csv = list_format == HashListFormat.CSV
    return StreamingResponse(
        (text.encode() async for text in lines),
        media_type="text/csv; charset=utf-8" if csv else "text/plain; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="image-hashes.{"csv" if csv else "txt"}"'
        },
    )


@router.delete(
    "/moderation/image-hashes",
    summary="Take one hash out of the image hash bank",
    status_code=204,
    response_class=Response,
    responses=errors(404),
    openapi_extra=needs(Permission.EDIT_LEXICON),
)
async def remove_image_hash(
    principal: PrincipalDep,
    services: ServicesDep,
    pdq: Annotated[
        str, Query(min_length=1, max_length=64, description="the PDQ hash, 64 hex digits")
    ],
) -> Response:
    """An imported list's false positive, say: copies of it are sent again from now on, on
    every process. A reviewer's removal reversed on appeal takes its hashes out by itself."""
    await services.images.remove(principal, pdq)
    return Response(status_code=204)
