"""A user's reports as the reporter sees them: what was reported, and what came of it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from townhall.api.models.common import Model, Timestamp

ReportTargetType = Literal["message", "post", "user", "group", "public_account"]


class ReportTarget(Model):
    type: ReportTargetType
    id: int


class Report(Model):
    id: int
    target: ReportTarget
    reason: str = Field(description="one of the pack's report reasons")
    detail: str | None
    created_at: Timestamp
    outcome: Literal["pending", "no_violation", "action_taken"] = Field(
        description="what the reporter is told once a reviewer decided"
    )


class ReportPage(Model):
    reports: list[Report] = Field(description="newest first")
    next_cursor: str | None
