"""Media: uploading an image or a file, and downloading one (or an image's thumbnail) with Range.

An upload is the request body itself, as a browser sends a `File` with fetch (Matrix's media
upload works the same way): it is streamed to the media store, never held in memory, and
`api/limits.py` lets it past the general body limit (the media service holds it to its own caps).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Header, Path, Query, Request
from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse

from townhall.api.deps import PrincipalDep, ServicesDep, needs
from townhall.api.models.common import errors
from townhall.api.models.media import Media
from townhall.api.openapi import api_router, media_ref
from townhall.api.schemas import MAX_ID
from townhall.domain.errors import ErrorCode, InvalidInput
from townhall.domain.media import CONTENT_TYPES, THUMBNAIL_CONTENT_TYPE, requested_range
from townhall.domain.permissions import Permission
from townhall.services.container import Services
from townhall.services.media import Download
from townhall.services.rendering import render_media

router = api_router(prefix="/api/v1", tags=["media"])

MediaId = Annotated[int, Path(ge=1, le=MAX_ID, description="the media object")]
# A Content-Length longer than this many digits is no size the service takes anyway.
MAX_LENGTH_DIGITS = 19
# Immutable bytes under one id, but who may read them can change (a removal): a browser keeps
# its copy for the one who fetched it and asks again each time, which the ETag answers cheaply.
CACHE_CONTROL = "private, no-cache"
# Nothing a media object holds runs, even opened on its own in a browser tab.
MEDIA_POLICY = "default-src 'none'; sandbox"
UPLOAD_BODY = {
    "required": True,
    "description": "the bytes of the image or file, as they are; its format is told by them "
    "(Content-Type is not read): JPEG, PNG, GIF or WebP images, PDF or UTF-8 plain text files",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}


def _header(description: str, *, required: bool = False) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": {"type": "string"}}


def _bytes(content_types: tuple[str, ...]) -> dict[str, Any]:
    return {ct.split(";")[0]: {"schema": media_ref("MediaBytes")} for ct in content_types}


def _answers(content_types: tuple[str, ...], what: str) -> dict[int | str, dict[str, Any]]:
    served = {
        "ETag": _header("the SHA-256 of the bytes, quoted", required=True),
        "Cache-Control": _header(f"always `{CACHE_CONTROL}`", required=True),
        "Content-Disposition": _header(
            "`inline` for an image; `attachment` with the file's name (RFC 6266) for a file",
            required=True,
        ),
    }
    return {
        200: {"description": what, "content": _bytes(content_types), "headers": served},
        206: {
            "description": f"the bytes a `Range: bytes=a-b` asked for, of {what}",
            "content": _bytes(content_types),
            "headers": {
                **served,
                "Content-Range": _header("`bytes a-b/size`", required=True),
            },
        },
        304: {
            "description": "If-None-Match named its ETag: the copy the client has is current",
            "headers": {"ETag": served["ETag"]},
        },
        **errors(416),
    }


RangeHeader = Annotated[
    str | None,
    Header(
        alias="range",
        max_length=200,
        description="one range, `bytes=a-b`, `bytes=a-` or `bytes=-n` (the last n): answered "
        "206; any other Range is ignored and the whole answered",
    ),
]
IfRange = Annotated[
    str | None,
    Header(max_length=200, description="the Range holds only while the ETag is this one"),
]
IfNoneMatch = Annotated[
    str | None,
    Header(max_length=1000, description="ETags the client has: one of them answers 304"),
]


@router.post(
    "/media",
    summary="Upload an image or a file, to attach to messages and posts",
    status_code=201,
    response_model=Media,
    responses=errors(413, 415, 429),
    openapi_extra={**needs(Permission.ACT), "requestBody": UPLOAD_BODY},
)
async def upload(
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    filename: Annotated[
        str | None,
        Query(
            max_length=1024,
            description="a file's name, kept without its path (max_filename_chars); an "
            "image keeps none",
        ),
    ] = None,
) -> Any:
    """The body is refused with 413 as soon as it passes its format's cap (at once when its
    Content-Length does), with 415 when its bytes are none of the formats taken. An image is
    decoded, turned upright and re-encoded without its metadata (EXIF, GPS); one over the pixel
    cap is 413 `image_too_large`, one that does not decode 400 `image_invalid`."""
    declared = request.headers.get("content-length")
    size = (
        int(declared)
        if declared and len(declared) <= MAX_LENGTH_DIGITS and declared.isdigit()
        else None
    )
    stored = await services.media.upload(
        principal, streamed_body(request), filename=filename, declared_size=size
    )
    return render_media(stored)


async def streamed_body(request: Request) -> AsyncIterator[bytes]:
    """The request's body as it arrives; a client gone before the end is the upload's refusal
    (nothing of it is kept), not the server's error."""
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect:
        raise InvalidInput(
            "the upload ended before its body was whole", code=ErrorCode.UPLOAD_INCOMPLETE
        ) from None


@router.get(
    "/media/{media_id}",
    summary="Download a media object",
    response_class=Response,
    responses=_answers(CONTENT_TYPES, "the image or file"),
)
async def download(
    media_id: MediaId,
    principal: PrincipalDep,
    services: ServicesDep,
    range_: RangeHeader = None,
    if_range: IfRange = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """For its uploader, the members of a conversation where a message carries it, whoever may
    read a post that carries it, and staff of the review desk (their looks are recorded); to
    anyone else, and once a reviewer removed it to all but staff, 404."""
    found = await services.media.download(principal, media_id, thumbnail=False)
    return _served(services, found, range_, if_range, if_none_match)


@router.get(
    "/media/{media_id}/thumbnail",
    summary="Download an image's thumbnail",
    response_class=Response,
    responses=_answers((THUMBNAIL_CONTENT_TYPE,), "the thumbnail (WebP, 320 px at most)"),
)
async def thumbnail(
    media_id: MediaId,
    principal: PrincipalDep,
    services: ServicesDep,
    range_: RangeHeader = None,
    if_range: IfRange = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """As the image itself is read; a file has none (404)."""
    found = await services.media.download(principal, media_id, thumbnail=True)
    return _served(services, found, range_, if_range, if_none_match)


def _served(
    services: Services,
    found: Download,
    range_: str | None,
    if_range: str | None,
    if_none_match: str | None,
) -> Response:
    etag = f'"{found.sha256}"'
    headers = {
        "ETag": etag,
        "Cache-Control": CACHE_CONTROL,
        "Content-Disposition": found.disposition,
        "Content-Security-Policy": MEDIA_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Accept-Ranges": "bytes",
    }
    if if_none_match is not None and (
        if_none_match.strip() == "*" or etag in (tag.strip() for tag in if_none_match.split(","))
    ):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": CACHE_CONTROL})
    # A Range against other bytes than the client holds (If-Range) gets the whole.
    wanted = requested_range(range_ if if_range in (None, etag) else None, found.size)
    start, end = wanted or (0, found.size)
    if wanted is not None:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{found.size}"
    headers["Content-Length"] = str(end - start)
    return StreamingResponse(
        services.media.read(found, start, end),
        status_code=206 if wanted is not None else 200,
        headers=headers,
        media_type=found.content_type,
    )
