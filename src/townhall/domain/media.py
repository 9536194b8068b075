"""Media objects: the formats taken, told by their bytes and never by a name; the name a file keeps;
the media a message or post carries; and what a download answers with (its disposition and the
byte range asked for). docs/media.md says the same for operators and clients."""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote

from townhall.domain.errors import (
    ErrorCode,
    InvalidInput,
    RangeNotSatisfiable,
    TooLarge,
    UnsupportedMedia,
)
from townhall.domain.limits import Limits

# The first bytes read before the format is known: the longest signature ends at byte 12 (WebP).
SNIFF_BYTES = 16
THUMBNAIL_EDGE = 320  # a thumbnail's longest side, in pixels
THUMBNAIL_CONTENT_TYPE = "image/webp"  # WebP keeps a thumbnail's transparency, and is small
# A Range's numbers: past 19 digits no file of ours is that long, and int() is not asked to
# read a number of thousands of digits.
MAX_RANGE_DIGITS = 19
# C0 and C1 control characters but tab, line feed, form feed and carriage return: what plain
# text does not contain (NUL above all, which every binary format is full of).
TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


class MediaKind(StrEnum):
    IMAGE = "image"  # decoded, re-encoded without metadata, shown inline, with a thumbnail
    FILE = "file"  # kept as uploaded, saved by the client under its name


@dataclass(frozen=True, slots=True)
class MediaFormat:
    """A format taken: what it is stored and served as, and the signature its bytes start with
    (pairs of offset and bytes, all present); a format without one is told by its whole content
    (plain text)."""

    name: str
    kind: MediaKind
    content_type: str
    extension: str  # a file's name ends with it, added when it does not
    signatures: tuple[tuple[tuple[int, bytes], ...], ...] = ()

    def opens(self, head: bytes) -> bool:
        return any(
            all(head[at : at + len(magic)] == magic for at, magic in signature)
            for signature in self.signatures
        )


FORMATS: dict[str, MediaFormat] = {
    "jpeg": MediaFormat("jpeg", MediaKind.IMAGE, "image/jpeg", ".jpg", (((0, b"\xff\xd8\xff"),),)),
    "png": MediaFormat(
        "png", MediaKind.IMAGE, "image/png", ".png", (((0, b"\x89PNG\r\n\x1a\n"),),)
    ),
    "gif": MediaFormat(
        "gif", MediaKind.IMAGE, "image/gif", ".gif", (((0, b"GIF87a"),), ((0, b"GIF89a"),))
    ),
    "webp": MediaFormat(
        "webp", MediaKind.IMAGE, "image/webp", ".webp", (((0, b"RIFF"), (8, b"WEBP")),)
    ),
    "pdf": MediaFormat("pdf", MediaKind.FILE, "application/pdf", ".pdf", (((0, b"%PDF-"),),)),
    "text": MediaFormat("text", MediaKind.FILE, "text/plain; charset=utf-8", ".txt"),
}
CONTENT_TYPES = tuple(dict.fromkeys(f.content_type for f in FORMATS.values()))


def sniff(head: bytes, taken: Iterable[str]) -> MediaFormat | None:
    """The format the first bytes of an upload say it is, if it is one taken. Bytes that start
    like no binary format may be plain text (its whole content decides: `PlainText`); bytes of a
    binary format not taken are refused, never read as text."""
    binary = [f for f in FORMATS.values() if f.signatures]
    found = next((f for f in binary if f.opens(head)), None)
    if found is None:
        found = FORMATS["text"]
    return found if found.name in taken else None


def unsupported() -> UnsupportedMedia:
    return UnsupportedMedia(
        "the upload is none of the formats taken: JPEG, PNG, GIF or WebP images, PDF or UTF-8 "
        "plain text files, as its bytes say (not its name)",
        code=ErrorCode.MEDIA_TYPE_UNSUPPORTED,
    )


class PlainText:
    """Whether bytes fed in order are UTF-8 text: decodable, without NUL or other control
    characters (tabs, line and page breaks allowed). Fed a chunk at a time: a character may
    straddle two chunks."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self.ok = True

    def feed(self, chunk: bytes, *, final: bool = False) -> bool:
        if self.ok:
            try:
                text = self._decoder.decode(chunk, final)
            except UnicodeDecodeError:
                self.ok = False
            else:
                self.ok = TEXT_CONTROLS.search(text) is None
        return self.ok


def byte_cap(media_format: MediaFormat, limits: Limits) -> int:
    """The most bytes an upload of the format may have."""
    if media_format.kind == MediaKind.IMAGE:
        return limits.max_image_bytes
    return limits.max_file_bytes


def too_large(cap: int) -> TooLarge:
    return TooLarge(
        f"this upload is limited to {cap} bytes (max_image_bytes, max_file_bytes)",
        code=ErrorCode.MEDIA_TOO_LARGE,
    )


def check_pixels(width: int, height: int, limits: Limits) -> None:
    """Refuse an image before its pixels are decoded: a few bytes can declare gigapixels (a
    decompression bomb)."""
    if width * height > limits.max_image_pixels:
        raise TooLarge(
            f"images are limited to {limits.max_image_pixels} pixels",
            code=ErrorCode.IMAGE_TOO_LARGE,
        )


def invalid_image() -> InvalidInput:
    return InvalidInput(
        "the image does not decode: it is truncated, malformed, or not the format its bytes "
        "begin as",
        code=ErrorCode.IMAGE_INVALID,
    )


def check_filename(name: str | None, limits: Limits) -> str | None:
    """The name an upload gives itself, as a file may keep it: its last path segment, without
    control or formatting characters (a right-to-left override can disguise an extension) or
    leading dots; None when it gives none."""
    if name is None or not name.strip():
        return None
    if len(name) > limits.max_filename_chars:
        raise InvalidInput(
            f"filename is limited to {limits.max_filename_chars} characters",
            code=ErrorCode.FILENAME_INVALID,
        )
    last = re.split(r"[/\\]", unicodedata.normalize("NFC", name))[-1]
    kept = "".join(ch for ch in last if unicodedata.category(ch) not in ("Cc", "Cf"))
    kept = kept.strip().lstrip(".").strip()
    if not kept:
        raise InvalidInput(
            "filename has no character a name can keep", code=ErrorCode.FILENAME_INVALID
        )
    return kept


def kept_filename(name: str | None, media_format: MediaFormat, limits: Limits) -> str | None:
    """The name a file keeps (checked by `check_filename`), ending with its format's extension:
    a text file named `x.html` is saved as `x.html.txt`. An image keeps none: it is shown, not
    saved under a name."""
    if media_format.kind == MediaKind.IMAGE or name is None:
        return None
    extension = media_format.extension
    if name.lower().endswith(extension):
        return name
    return name[: limits.max_filename_chars - len(extension)] + extension


def check_media_ids(media_ids: Sequence[int], limits: Limits) -> list[int]:
    """The media a message or post carries, in order: at most `max_media_per_item`, each once."""
    if len(media_ids) > limits.max_media_per_item or len(set(media_ids)) != len(media_ids):
        raise InvalidInput(
            f"media_ids names at most {limits.max_media_per_item} media, each once",
            code=ErrorCode.MEDIA_IDS_INVALID,
        )
    return list(media_ids)


def content_disposition(kind: str, filename: str | None) -> str:
    """An image is shown where it is; a file is saved, under its name (RFC 6266: `filename*` in
    UTF-8, and an ASCII `filename` for clients that read only that)."""
    if kind == MediaKind.IMAGE or filename is None:
        return "inline" if kind == MediaKind.IMAGE else "attachment"
    fallback = "".join(ch if " " <= ch <= "~" and ch not in '"\\' else "_" for ch in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def requested_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one byte range a `Range: bytes=a-b` (or `a-`, or `-n`, the last n) asks of a file of
    `size` bytes, as (start, end) with the end excluded; None to answer the whole file: no
    Range, or one the server does not serve (another unit, several ranges, a malformed one),
    which HTTP lets it ignore. A range that starts past the end is 416."""
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not _number(last, empty_ok=True) or not _number(first, empty_ok=True):
        return None
    if not first:  # the last n bytes
        if not last:
            return None
        wanted = int(last)
        if wanted == 0 or size == 0:
            raise _unsatisfiable(size)
        return max(size - wanted, 0), size
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise _unsatisfiable(size)
    end = size if not last else min(int(last) + 1, size)
    return start, end


def _number(text: str, *, empty_ok: bool) -> bool:
    if not text:
        return empty_ok
    return len(text) <= MAX_RANGE_DIGITS and text.isascii() and text.isdigit()


def _unsatisfiable(size: int) -> RangeNotSatisfiable:
    return RangeNotSatisfiable(
        f"the range starts past the end of the file ({size} bytes)",
        code=ErrorCode.RANGE_NOT_SATISFIABLE,
        size=size,
    )
