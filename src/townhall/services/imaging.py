"""An uploaded image as it is kept: decoded with Pillow within the pixel cap, turned upright by its
EXIF orientation, re-encoded in its own format from its pixels alone (no EXIF, GPS, XMP, ICC or
comments survive), with a WebP thumbnail and its PDQ hash. Plain CPU work on a spooled file: the
media service runs it in a thread, a bounded number at a time (docs/media.md, "Images")."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pdqhash
from PIL import Image, ImageOps

from townhall.domain.errors import DomainError, ErrorCode, TooLarge
from townhall.domain.limits import Limits
from townhall.domain.media import THUMBNAIL_EDGE, MediaFormat, check_pixels, invalid_image

# Pillow warns of a decompression bomb past Image.MAX_IMAGE_PIXELS and refuses one past twice
# that: both are refusals here. The configured cap (max_image_pixels, never above Pillow's) is
# checked first, from the image's header, before any pixel is decoded.
warnings.simplefilter("error", Image.DecompressionBombWarning)

PILLOW_FORMATS = {"jpeg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP"}
SAVE_OPTIONS: dict[str, dict[str, Any]] = {
    "jpeg": {"format": "JPEG", "quality": 90},
    "png": {"format": "PNG", "compress_level": 6},
    "gif": {"format": "GIF"},  # the first frame: an animation keeps its first picture only
    "webp": {"format": "WEBP", "quality": 90},  # likewise
}
THUMBNAIL_OPTIONS: dict[str, Any] = {"format": "WEBP", "quality": 80}
# PDQ is taken of a copy this long on its longest side at most, as PDQ's reference hasher
# downsamples: 50 times faster on a photo than its full size, a few bits off that hash.
PDQ_EDGE = 512


@dataclass(frozen=True, slots=True)
class KeptImage:
    data: bytes  # the re-encoded image, in its upload's format
    width: int
    height: int
    thumbnail: bytes  # WebP, THUMBNAIL_EDGE on its longest side at most
    pdq: str  # 64 hex digits
    pdq_quality: int  # 0-100


def keep_image(path: Path, media_format: MediaFormat, limits: Limits) -> KeptImage:
    """The image of the spooled file, as it is kept; 413 `image_too_large` past the pixel cap,
    400 `image_invalid` for one that does not decode whole."""
    try:
        with Image.open(path, formats=[PILLOW_FORMATS[media_format.name]]) as opened:
            check_pixels(*opened.size, limits)
            opened.load()
            upright = _upright(opened)
            pixels = _pixels_only(upright, jpeg=media_format.name == "jpeg")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooLarge(
            f"images are limited to {limits.max_image_pixels} pixels",
            code=ErrorCode.IMAGE_TOO_LARGE,
        ) from None
    except DomainError:
        raise
    except Exception:  # truncated, malformed, not what its signature said: Pillow's many kinds
        raise invalid_image() from None
    encoded = io.BytesIO()
    pixels.save(encoded, **SAVE_OPTIONS[media_format.name])
    thumbnail = pixels.copy()
    thumbnail.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE))
    thumbnail_bytes = io.BytesIO()
    thumbnail.save(thumbnail_bytes, **THUMBNAIL_OPTIONS)
    pdq, quality = pdq_of(pixels)
    return KeptImage(
        encoded.getvalue(),
        pixels.width,
        pixels.height,
        thumbnail_bytes.getvalue(),
        pdq,
        quality,
    )


def pdq_of(image: Image.Image) -> tuple[str, int]:
    """The PDQ hash (hex, bit 0 first as ThreatExchange writes it) and its quality."""
    small = image.convert("RGB")
    small.thumbnail((PDQ_EDGE, PDQ_EDGE))
    bits, quality = pdqhash.compute(np.asarray(small))
    return f"{int(''.join(str(int(bit)) for bit in bits), 2):064x}", int(quality)


def _upright(image: Image.Image) -> Image.Image:
    """The image as its EXIF orientation says it is seen; one whose EXIF does not parse is
    taken as it is (its pixels are what is kept)."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:
        return image


def _pixels_only(image: Image.Image, *, jpeg: bool) -> Image.Image:
    """A new image made of the pixels alone: nothing of the upload's metadata comes with it."""
    mode = "RGBA" if image.has_transparency_data and not jpeg else "RGB"
    converted = image.convert(mode)
    return Image.frombytes(mode, converted.size, converted.tobytes())
