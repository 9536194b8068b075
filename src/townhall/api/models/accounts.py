"""Accounts: the caller's profile and identity as they see them, sessions, the user agreement,
and the policy anyone may read before registering."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from townhall.api.models.common import Model, Timestamp
from townhall.api.models.sanctions import Credit, Sanction
from townhall.domain.permissions import Permission
from townhall.domain.public_accounts import EntityKind

VerificationStatus = Literal[
    "pending_review", "format_checked", "provider_verified", "staff_verified", "rejected"
]
ModerationDecision = Literal["allow", "flag", "hold", "block"]


class OwnIdentity(Model):
    """The caller's identity, masked: the full one is never shown to its holder either."""

    id_type: str = Field(description="one of the pack's accepted identity documents")
    id_number: str = Field(description="masked")
    legal_name: str = Field(description="masked")
    phone: str = Field(description="masked")
    status: VerificationStatus
    phone_confirmed: bool
    provider_result: Literal["match", "no_match", "unavailable"] | None = Field(
        description="the identity-verification provider's last answer; null if never asked"
    )
    reason: str | None = Field(default=None, description="a rejected identity only: why")


class AgreementState(Model):
    accepted_version: str | None
    current_version: str
    must_accept: bool


class Profile(Model):
    id: int
    handle: str
    display_name: str
    bio: str
    status: Literal["active", "deregistered"]
    role: Literal["user", "reviewer", "admin", "auditor"]
    identity: OwnIdentity | None = Field(description="null for staff, who register none")
    agreement: AgreementState
    created_at: Timestamp


class Me(Profile):
    """The caller's profile with the sanctions in force on them and their credit band."""

    sanctions: list[Sanction] = Field(description="in force")
    credit: Credit
    permissions: list[Permission] = Field(
        description="what the caller's role may do: each route names the one it needs as "
        "`x-permission` in /openapi.json (docs/permissions.md)"
    )


class Session(Model):
    token: str = Field(description="send it as `Authorization: Bearer <token>`")
    expires_at: Timestamp


class OwnSession(Model):
    """One of the caller's sessions: a device where they are signed in."""

    id: int = Field(description="names the session to end it; not its token")
    created_at: Timestamp = Field(description="when it was opened (the login)")
    last_seen_at: Timestamp = Field(
        description="when a request last used it, to within a few minutes"
    )
    expires_at: Timestamp
    device: str | None = Field(
        description="the device name given at login, else its User-Agent; null if neither"
    )
    current: bool = Field(description="the session of this request")


class OwnSessionPage(Model):
    sessions: list[OwnSession]
    next_cursor: str | None


class Agreement(Model):
    version: str
    text: str


class AcceptedAgreement(Model):
    accepted_version: str


class PhoneCodeSent(Model):
    expires_at: Timestamp = Field(description="when the code sent by SMS stops working")


class PhoneConfirmed(Model):
    phone_confirmed: Literal[True]


# The policy pack, as far as anyone may read it ------------------------------------------------


class IdentityRequirement(Model):
    accepted: list[VerificationStatus]
    phone_confirmed: bool


class IdentityPolicy(Model):
    accepted_id_types: list[str]
    minimum_age_years: int
    accounts_per_identity: int
    verification_mode: Literal["auto", "review"]
    requirements: dict[str, IdentityRequirement] = Field(
        description="by capability (create_group, send_group, ...); one not named asks nothing"
    )


class AgreementPolicy(Model):
    version: str


class PhonePolicy(Model):
    code_length: int
    code_ttl_seconds: int


class CategoryPolicy(Model):
    label: str
    entity: EntityKind
    may_originate_news: bool


class BroadcastQuota(Model):
    posts: int
    period_hours: int


class NewsCheckPolicy(Model):
    enabled: bool
    exempt_entitlements: list[str]


class PublicAccountPolicy(Model):
    categories: dict[str, CategoryPolicy]
    caps_per_identity: dict[str, int] = Field(description="by entity kind")
    broadcast_quota: dict[str, BroadcastQuota] = Field(description="by account type")
    content_classes: list[str]
    news_content_classes: list[str]
    registration_number_types: list[str]
    news_check: NewsCheckPolicy


class GroupPolicy(Model):
    max_created_per_day: int
    max_joined: int
    invite_consent_above: int
    verified_identity_above: int
    link_join_max_members: int
    join_link_days: int


class MessagingPolicy(Model):
    recall_seconds: int = Field(description="how long after sending a sender may recall")


class ReachPolicy(Model):
    serious_views: int
    serious_forwards: int
    window_days: int


class ModerationPolicy(Model):
    categories: list[str]
    severities: list[str] = Field(description="least severe first")
    surfaces: dict[str, dict[str, ModerationDecision]] = Field(
        description="by surface, the decision for each severity"
    )


class ReviewPolicy(Model):
    report_reasons: list[str]


class CreditBand(Model):
    name: str
    min_score: int
    withheld: list[str]


class EnforcementPolicy(Model):
    appeal_window_days: int
    credit_bands: list[CreditBand]


class ContactPolicy(Model):
    direct_needs_friendship: bool = Field(
        description="whether a direct message needs the two to be friends first"
    )
    stranger_greetings: int = Field(
        description="greetings a friend request may carry before it is answered"
    )


class Policy(Model):
    name: str
    title: str
    timezone: str
    identity: IdentityPolicy
    agreement: AgreementPolicy
    phone: PhonePolicy
    public_accounts: PublicAccountPolicy
    groups: GroupPolicy
    messaging: MessagingPolicy
    reach: ReachPolicy
    moderation: ModerationPolicy
    review: ReviewPolicy
    enforcement: EnforcementPolicy
    contacts: ContactPolicy
