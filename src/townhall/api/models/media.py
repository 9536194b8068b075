"""Media objects: an uploaded image or file, as its uploader gets it and as the messages and posts
that carry it show it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from townhall.api.models.common import Model
from townhall.api.schemas import EntityId


class Media(Model):
    """An image or a file; its bytes are at GET /api/v1/media/{id} (an image's thumbnail at
    /thumbnail), for those who may read it."""

    id: EntityId
    kind: Literal["image", "file"] = Field(
        description="image: shown inline, with a thumbnail; file: saved under its filename"
    )
    content_type: str = Field(
        description="what its bytes are, as they themselves said on upload: image/jpeg, "
        "image/png, image/gif, image/webp, application/pdf or text/plain; charset=utf-8"
    )
    size: int = Field(ge=1, description="bytes, as kept (an image as re-encoded)")
    width: int | None = Field(ge=1, description="an image's, upright; null for a file")
    height: int | None = Field(ge=1, description="an image's, upright; null for a file")
    filename: str | None = Field(
        description="a file's, as kept (ending with its format's extension); null for an image"
    )
