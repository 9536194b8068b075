"""What the server says about itself."""

from __future__ import annotations

from typing import Literal

from townhall.api.models.common import Model


class Health(Model):
    status: Literal["ok"]
    version: str
