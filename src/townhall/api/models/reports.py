"""A user's reports as the reporter sees them: what was reported, and what came of it."""

from __future__ import annotations

from pydantic import Field

from townhall.api.models.common import Model, Timestamp
from townhall.api.models.review import CaseTarget, ReportOutcome


class Report(Model):
    id: int
    target: CaseTarget
    reason: str = Field(description="one of the pack's report reasons")
    detail: str | None
    created_at: Timestamp
    outcome: ReportOutcome = Field(description="what the reporter is told once a reviewer decided")


class ReportPage(Model):
    reports: list[Report] = Field(description="newest first")
    next_cursor: str | None
