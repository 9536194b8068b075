"""Sanctions with their statements of reasons, a subject's standing on the ladder, the person
behind linked identities, and appeals."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from townhall.api.models.common import Model, Timestamp
from townhall.api.schemas import EntityId
from townhall.services import enforcement

SubjectType = Literal["user", "public_account", "group"]
SanctionKind = Literal[
    "warning",
    "limit_publication",
    "suspend_updates",
    "close",
    "blacklist_identity",
    "suspend_posting",
    "close_group",
    "remove_rights",
]
SanctionState = Literal["active", "expired", "lifted", "reversed"]
AppealState = Literal["pending", "upheld", "reversed"]


class SanctionSubject(Model):
    type: SubjectType
    id: int


class StatementOfReasons(Model):
    """What the subject is told: the ground, the facts, and whether automation had a part."""

    ground: str = Field(description="the legal or terms ground: the pack's, unless staff named one")
    facts: str = Field(description="the reason staff gave")
    category: str | None = Field(description="of the case behind it")
    severity: str | None = Field(description="of the case behind it; it sets the strike points")
    automated_detection: bool
    automated_decision: bool = Field(description="always false: staff apply every sanction")
    starts_at: Timestamp
    ends_at: Timestamp | None = Field(description="null: until lifted (or, for some kinds, once)")


class Sanction(Model):
    id: int
    subject: SanctionSubject
    kind: SanctionKind
    member_id: int | None = Field(description="remove_rights: the member whose rights it took")
    case_id: int | None
    state: SanctionState
    points: int = Field(description="strike points it added")
    statement: StatementOfReasons
    appeal_until: Timestamp
    ended_at: Timestamp | None
    end_reason: str | None


class SanctionPage(Model):
    sanctions: list[Sanction]
    next_cursor: str | None


class Person(Model):
    """The accounts in use of the person behind a user, established by identities linked."""

    user_id: int
    accounts: list[int]
    linked_by: list[Literal["same_phone", "reviewer"]] = Field(
        description="what established the links: a shared phone, a reviewer's finding"
    )


class Credit(Model):
    score: int
    band: str = Field(description="of the pack's credit bands")
    withheld: list[str] = Field(description="capabilities the band withholds")

    @classmethod
    def of(cls, credit: enforcement.Credit) -> Credit:
        return cls(score=credit.score, band=credit.band.name, withheld=list(credit.band.withheld))


class Recommendation(Model):
    """The rung the pack's ladder recommends next."""

    sanction: SanctionKind
    days: int | None = Field(description="how long, for a kind that ends")
    points_after: float = Field(description="strike points once this case's strike is added")
    why: str


class Standing(Model):
    subject: SanctionSubject
    person: Person | None = Field(description="a user's only")
    points: float = Field(description="strike points, decayed")
    credit: Credit
    in_force: list[Sanction]
    history: list[Sanction] = Field(description="every sanction, oldest first")
    recommendation: Recommendation


class Appeal(Model):
    id: int
    sanction_id: int | None
    case_id: int | None = Field(description="an appealed removal; null for a sanction's appeal")
    appellant_id: int
    statement: str
    state: AppealState
    created_at: Timestamp
    decided_by: int | None
    decided_at: Timestamp | None
    reason: str | None


class AppealPage(Model):
    appeals: list[Appeal]
    next_cursor: str | None


class StaffAppeal(Appeal):
    """An appeal as reviewers see it: with who may not decide it."""

    original_deciders: list[EntityId] = Field(
        description="the staff whose decision the appeal questions (who applied the sanction, "
        "who decided its case): none of them may decide the appeal"
    )


class StaffAppealPage(Model):
    appeals: list[StaffAppeal]
    next_cursor: str | None
