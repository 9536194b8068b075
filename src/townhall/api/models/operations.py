"""What the server says about itself."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from townhall.api.models.common import Model


class Health(Model):
    status: Literal["ok"]


class Check(Model):
    name: Literal["database", "writer", "migrations", "keys", "classifiers"]
    ok: bool
    detail: str = Field(description="what was found, for an operator")


class Readiness(Model):
    status: Literal["ready", "unready"]
    checks: list[Check] = Field(description="each thing this node depends on, checked now")
