"""Media objects: an upload streamed to the media store within its cap and format allowlist, an
image kept as services/imaging.py makes it; who may read one; which ones a message or post may
carry; and the media a review removal takes down with the content (docs/media.md)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from townhall.domain.enforcement import Capability
from townhall.domain.errors import ErrorCode, InvalidInput, NotFound, Throttled
from townhall.domain.limits import Limits
from townhall.domain.media import (
    FORMATS,
    SNIFF_BYTES,
    THUMBNAIL_CONTENT_TYPE,
    MediaFormat,
    MediaKind,
    PlainText,
    byte_cap,
    check_filename,
    check_media_ids,
    content_disposition,
    kept_filename,
    sniff,
    too_large,
    unsupported,
)
from townhall.domain.messaging import MessageModeration
from townhall.domain.permissions import Permission
from townhall.domain.public_accounts import READABLE_ACCOUNTS, PostState
from townhall.services.audit import AuditTrail
from townhall.services.enforcement import Enforcement
from townhall.services.principal import Principal, may, require
from townhall.services.rate_limits import Limit, RateLimits
from townhall.services.standing import Standings
from townhall.store import media as media_store
from townhall.store.database import Database, DbConnection
from townhall.store.media import Readers, StoredMedia
from townhall.store.media_files import MediaStore

if TYPE_CHECKING:
    from townhall.services.imaging import KeptImage

log = logging.getLogger(__name__)

SPOOL_WRITE_BYTES = 1 << 20

# Whose a message's or a post's media are: as the message's or post's own readers are.
READERS = Readers(
    sender_only=(MessageModeration.HELD,),  # a held message: its sender's until approved
    shown=PostState.PUBLISHED,
    open_accounts=READABLE_ACCOUNTS,
    operator_sees=(PostState.PUBLISHED, PostState.HELD),
)


@dataclass(frozen=True, slots=True)
class Download:
    """What a download of a media object (or of its thumbnail) serves: which bytes, how many,
    as what."""

    media: StoredMedia
    sha256: str
    size: int
    content_type: str
    disposition: str


@dataclass(frozen=True, slots=True)
class _Spooled:
    media_format: MediaFormat
    size: int
    sha256: str


def no_such_media() -> NotFound:
    return NotFound("no such media object", code=ErrorCode.MEDIA_NOT_FOUND)


class MediaService:
    def __init__(
        self,
        database: Database,
        files: MediaStore,
        enforcement: Enforcement,
        standings: Standings,
        audit: AuditTrail,
        *,
        limits: Limits,
        rate_limits: RateLimits,
        clock: Callable[[], float],
    ) -> None:
        self._db = database
        self._files = files
        self._enforcement = enforcement
        self._standings = standings
        self._audit = audit
        self._limits = limits
        self._rate_limits = rate_limits
        self._uploads = Limit.parse("uploads_per_user", limits.uploads_per_user)
        # Each decode holds an image's pixels in memory (4 bytes each): a few at a time.
        self._decodes = asyncio.Semaphore(limits.media_decodes_at_once)
        self._clock = clock

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    @property
    def largest_upload(self) -> int:
        """The cap of the largest format taken: a body declared longer is refused unread."""
        return max(byte_cap(FORMATS[name], self._limits) for name in self._limits.media_formats)

    async def upload(
        self,
        actor: Principal,
        body: AsyncIterator[bytes],
        *,
        filename: str | None,
        declared_size: int | None,
    ) -> StoredMedia:
        """Spool the body while counting it, refusing it as soon as it passes its format's cap
        or its first bytes are no format taken; keep it (an image as imaging.py makes it) and
        record it. Uploading is the first step of a send: whoever may not send may not upload."""
        require(actor, Permission.ACT)
        await self._enforcement.require_user_may(actor.account_id, Capability.SEND_DIRECT)
        await self._standings.require_may(actor.account_id, Capability.SEND_DIRECT)
        name = check_filename(filename, self._limits)
        if declared_size is not None and declared_size > self.largest_upload:
            raise too_large(self.largest_upload)
        wait = await self._rate_limits.hit(self._uploads, str(actor.account_id))
        if wait is not None:
            raise Throttled(
                f"too many uploads; try again in {wait} s",
                code=ErrorCode.TOO_MANY_UPLOADS,
                retry_after=wait,
            )
        spooled = self._files.spool_path()
        try:
            with self._db.storage.guarding():
                received = await self._spool(body, spooled)
            values = await self._keep(spooled, received, name)
        finally:
            spooled.unlink(missing_ok=True)
        async with self._db.writing() as conn:
            media_id = await media_store.insert_media(
                conn, uploader_id=actor.account_id, created_at=self._now_ms(), **values
            )
            stored = await media_store.get(conn, media_id)
        assert stored is not None
        return stored

    async def _spool(self, body: AsyncIterator[bytes], path: Path) -> _Spooled:
        digest = hashlib.sha256()
        head = b""
        media_format: MediaFormat | None = None
        text = PlainText()  # fed only when the bytes are to be plain text
        cap = self.largest_upload
        size = 0
        pending = bytearray()  # written a megabyte at a time: one hop to a thread each
        with path.open("xb") as file:
            async for chunk in body:
                size += len(chunk)
                if media_format is None:
                    head += chunk
                    if len(head) >= SNIFF_BYTES:
                        media_format = self._format_of(head)
                        cap = byte_cap(media_format, self._limits)
                        if media_format.name == "text" and not text.feed(head):
                            raise unsupported()
                elif media_format.name == "text" and not text.feed(chunk):
                    raise unsupported()
                if size > cap:
                    raise too_large(cap)
                digest.update(chunk)
                pending += chunk
                if len(pending) >= SPOOL_WRITE_BYTES:
                    await asyncio.to_thread(file.write, bytes(pending))
                    pending.clear()
            await asyncio.to_thread(file.write, bytes(pending))
        if size == 0:
            raise InvalidInput("the upload has no bytes", code=ErrorCode.MEDIA_EMPTY)
        if media_format is None:  # shorter than a signature: plain text, if anything
            media_format = self._format_of(head)
            if size > byte_cap(media_format, self._limits):
                raise too_large(byte_cap(media_format, self._limits))
            text.feed(head)
        if media_format.name == "text" and not text.feed(b"", final=True):
            raise unsupported()
        return _Spooled(media_format, size, digest.hexdigest())

    def _format_of(self, head: bytes) -> MediaFormat:
        found = sniff(head, self._limits.media_formats)
        if found is None:
            raise unsupported()
        return found

    async def _keep(self, spooled: Path, received: _Spooled, name: str | None) -> dict[str, object]:
        """Store the bytes that are kept (an image's re-encoding, with its thumbnail; a file as
        it came), and return the row's values that say what they are."""
        media_format = received.media_format
        if media_format.kind == MediaKind.FILE:
            await self._files.keep_file(spooled, received.sha256)
            return {
                "sha256": received.sha256,
                "kind": MediaKind.FILE,
                "content_type": media_format.content_type,
                "size": received.size,
                "filename": kept_filename(name, media_format, self._limits),
            }
        async with self._decodes:
            kept = await asyncio.to_thread(_keep_image, spooled, media_format, self._limits)
        sha256 = hashlib.sha256(kept.data).hexdigest()
        thumbnail_sha256 = hashlib.sha256(kept.thumbnail).hexdigest()
        await self._files.keep_bytes(kept.data, sha256)
        await self._files.keep_bytes(kept.thumbnail, thumbnail_sha256)
        return {
            "sha256": sha256,
            "kind": MediaKind.IMAGE,
            "content_type": media_format.content_type,
            "size": len(kept.data),
            "width": kept.width,
            "height": kept.height,
            "pdq": kept.pdq,
            "pdq_quality": kept.pdq_quality,
            "thumbnail_sha256": thumbnail_sha256,
        }

    # Reading -------------------------------------------------------------------------------

    async def download(self, actor: Principal, media_id: int, *, thumbnail: bool) -> Download:
        """The media object (or an image's thumbnail) for a reader: its uploader, a member of a
        conversation where a message carries it, a reader of a post that carries it, or staff
        of the review desk, whose look at what is not theirs to read is recorded. A removed one
        is staff's alone. To anyone else it does not exist."""
        async with self._db.reading() as conn:
            found = await media_store.get(conn, media_id)
            readable = found is not None and await self._readable(conn, actor, found)
        if found is None or not (readable or may(actor, Permission.READ_REVIEW_QUEUE)):
            raise no_such_media()
        sha256 = found.thumbnail_sha256 if thumbnail else found.sha256
        if sha256 is None:  # a file has no thumbnail
            raise no_such_media()
        size = await self._files.size(sha256)
        if size is None:
            log.error("the bytes of media %d are missing from the media store", media_id)
            raise no_such_media()
        if not readable:  # recorded before a byte of it is sent
            async with self._db.writing() as conn:
                await self._audit.record_read(conn, actor, "media", [media_id])
        return Download(
            found,
            sha256,
            size,
            THUMBNAIL_CONTENT_TYPE if thumbnail else found.content_type,
            content_disposition(found.kind, found.filename),
        )

    def read(self, download: Download, start: int, end: int) -> AsyncIterator[bytes]:
        """The bytes of a download from `start` up to `end` (excluded)."""
        return self._files.read(download.sha256, start, end)

    @staticmethod
    async def _readable(conn: DbConnection, actor: Principal, media: StoredMedia) -> bool:
        if media.removed_at is not None:
            return False
        if media.uploader_id == actor.account_id:
            return True
        return await media_store.carried_for(conn, media.id, actor.account_id, READERS)

    async def attachable(self, actor: Principal, media_ids: Sequence[int]) -> list[StoredMedia]:
        """The media a message or post of the actor's may carry, in order: each one the actor
        uploaded or may read already (forwarding it), none removed. Any other is not there."""
        ids = check_media_ids(media_ids, self._limits)
        if not ids:
            return []
        async with self._db.reading() as conn:
            found = await media_store.of_ids(conn, ids)
            for media_id in ids:
                media = found.get(media_id)
                if media is None or not await self._readable(conn, actor, media):
                    raise no_such_media()
        return [found[media_id] for media_id in ids]


def _keep_image(spooled: Path, media_format: MediaFormat, limits: Limits) -> KeptImage:
    """imaging.keep_image, imported with the first image: Pillow, numpy and pdqhash take ~18 MB
    that a server no one has sent an image yet does without."""
    from townhall.services.imaging import keep_image

    return keep_image(spooled, media_format, limits)
