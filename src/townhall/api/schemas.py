"""Request bodies. Sizes are capped here coarsely; the exact rules live in domain/."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
)

from townhall.domain.accounts import DEVICE_NAME_MAX_CHARS
from townhall.domain.enforcement import AppealVerdict, Kind, SubjectType
from townhall.domain.moderation import Surface
from townhall.domain.review import Target, Verdict

MAX_ID = 2**63 - 1
# Numbers in bodies are strict, as booleans are: pydantic would otherwise read `true` as 1 and
# "7" as 7, and a client's mistake would act on the wrong row instead of being refused.
EntityId = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
ShortText = Annotated[str, Field(max_length=1024)]
# The media a message or post carries: the service holds it to max_media_per_item (9 unless
# configured); this only bounds what is read.
MediaIds = Annotated[list[EntityId], Field(max_length=100)]


def _written_out(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("give a date and time as text, such as 2026-12-04T10:00:00Z")
    return value


# A moment is RFC 3339 text, as the document says: pydantic would also read a number as seconds
# since 1970 (the fuzzer sent {"since": 128}).
Moment = Annotated[AwareDatetime, BeforeValidator(_written_out)]


def from_policy(where: str) -> Any:
    """A value the policy pack defines, not this document: GET /api/v1/policy lists it."""
    return Field(max_length=64, description=f"one of those GET /api/v1/policy lists in {where}")


# A yes or no is JSON's true or false: pydantic would read 0, 0.0 or "no" as one (the fuzzer sent
# {"findable_by_phone": 0.0}), so every boolean of a body is a StrictBool.
class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IdentityIn(Body):
    # No length caps here: the body limit bounds them, and the identity rules refuse oversize
    # fields with the same 422 as every other identity check.
    legal_name: str
    id_type: str
    id_number: str
    phone: str


class RegistrationIn(Body):
    handle: ShortText
    password: ShortText
    display_name: ShortText
    identity: IdentityIn
    agreement_version: Annotated[str, Field(max_length=64)] | None = None


class ProfileIn(Body):
    display_name: ShortText | None = None
    bio: Annotated[str, Field(max_length=100_000)] | None = None


class LoginIn(Body):
    handle: ShortText
    password: ShortText
    device_name: Annotated[
        str | None,
        Field(
            max_length=DEVICE_NAME_MAX_CHARS,
            description="what the user calls this device; shown only to them, in their sessions"
            " (without it, the User-Agent is)",
        ),
    ] = None


class LinkJoinIn(Body):
    # In the body, not the path: a link's token admits whoever holds it, and paths are logged
    # (by Townhall's access log and by any proxy in front of it).
    token: Annotated[
        str,
        Field(
            min_length=1,
            max_length=64,
            pattern=r"^[A-Za-z0-9_-]+$",
            description="a join link's token",
        ),
    ]


class PasswordChangeIn(Body):
    current_password: ShortText
    new_password: ShortText


class DirectIn(Body):
    kind: Literal["direct"]
    user_id: EntityId


class GroupIn(Body):
    kind: Literal["group"]
    title: ShortText
    description: Annotated[str, Field(max_length=100_000)] = ""
    member_ids: Annotated[list[EntityId], Field(max_length=100_000)]


ConversationIn = Annotated[DirectIn | GroupIn, Field(discriminator="kind")]


class InviteIn(Body):
    member_ids: Annotated[list[EntityId], Field(min_length=1, max_length=100_000)]


class GroupUpdateIn(Body):
    """What to change; a field left out stays. An empty avatar or announcement clears it."""

    title: ShortText | None = None
    avatar: Annotated[str, Field(max_length=1024)] | None = None
    announcement: Annotated[str, Field(max_length=100_000)] | None = None
    mute_all: StrictBool | None = None
    members_invite: StrictBool | None = None


class OwnerIn(Body):
    user_id: EntityId


class JoinLinkIn(Body):
    expires_in_seconds: Annotated[StrictInt, Field(ge=1, le=365 * 86_400)] | None = Field(
        default=None, description="how long the link works; the pack's join_link_days if absent"
    )
    needs_approval: StrictBool = False


class MessageIn(Body):
    text: Annotated[str, Field(max_length=1_048_576)]
    client_id: ShortText
    reply_to: EntityId | None = Field(
        None, description="a message of the same conversation this one replies to (quotes)"
    )
    mentions: Annotated[list[EntityId], Field(max_length=100_000)] = Field(
        [], description="members mentioned, by user id"
    )
    mention_everyone: StrictBool = Field(
        False, description="mention every member (a group's owner and admins only)"
    )
    media_ids: MediaIds = Field(
        [],
        description="media objects it carries, in order (POST /api/v1/media): the sender's "
        "uploads or ones the sender may read; with media the text may be empty",
    )


class ReadIn(Body):
    """Read up to a message, by its seq or its id (one of them)."""

    seq: Annotated[StrictInt, Field(ge=0, le=MAX_ID)] | None = None
    message_id: EntityId | None = None


class AgreementIn(Body):
    version: Annotated[str, Field(max_length=64)] | None = None


class PhoneCodeIn(Body):
    code: Annotated[str, Field(max_length=32)]


class ReasonIn(Body):
    reason: Annotated[str, Field(max_length=4096)] | None = None


class RevealIn(Body):
    reason: Annotated[str, Field(max_length=4096, description="why, for the record")] | None = None
    reference: Annotated[
        str,
        Field(
            max_length=80,
            description="what the look is for: `case:<id>` (a review case), `appeal:<id>`, or "
            "`request:<the authority's reference>` (3-64 characters)",
            examples=["case:118", "request:JGWA-2026-118"],
        ),
    ]


class DecisionIn(Body):
    decision: Literal["approve", "reject"]
    reason: Annotated[str, Field(max_length=4096)] | None = None


class BlacklistIn(Body):
    user_id: EntityId
    reason: Annotated[str, Field(max_length=4096)] | None = None


class IdentityLinkIn(Body):
    user_id: EntityId
    other_user_id: EntityId
    reason: Annotated[str, Field(max_length=4096)] | None = None


class IdentityUnlinkIn(Body):
    user_id: EntityId
    reason: Annotated[str, Field(max_length=4096)] | None = None


class PublicAccountIn(Body):
    name: ShortText
    category: Annotated[str, from_policy("public_accounts.categories")]
    account_type: Annotated[str, from_policy("public_accounts.broadcast_quota keys")]
    description: Annotated[str, Field(max_length=100_000)] = ""
    entity_name: ShortText | None = None
    registration_number_type: (
        Annotated[str, from_policy("public_accounts.registration_number_types")] | None
    ) = None
    registration_number: Annotated[str, Field(max_length=128)] | None = None
    news_licence: Annotated[str, Field(max_length=256)] | None = None


class PostIn(Body):
    title: Annotated[str, Field(max_length=100_000)]
    body: Annotated[str, Field(max_length=1_048_576)]
    content_class: Annotated[str, from_policy("public_accounts.content_classes")]
    source_post_id: EntityId | None = None
    media_ids: MediaIds = Field(
        [],
        description="media objects it carries, in order (POST /api/v1/media): the operator's "
        "uploads or ones the operator may read; with media the body may be empty",
    )


class ForwardIn(Body):
    conversation_id: EntityId
    from_message_id: EntityId | None = None
    client_id: ShortText | None = None


class PublicAccountDecisionIn(Body):
    decision: Literal["approve", "reject"]
    reason: Annotated[str, Field(max_length=4096)] | None = None
    news_entitlement: Literal["none", "repost", "originate"] = "none"


class SanctionIn(Body):
    subject_type: SubjectType
    subject_id: EntityId
    kind: Annotated[
        Kind, Field(description="not every kind fits every subject type (sanction_kind_invalid)")
    ]
    reason: Annotated[str, Field(max_length=4096)] | None = None
    case_id: EntityId | None = None
    ends_at: Moment | None = None
    days: Annotated[StrictInt, Field(ge=1, le=3650)] | None = None
    member_id: EntityId | None = None


class AppealIn(Body):
    sanction_id: EntityId | None = None
    case_id: EntityId | None = None
    statement: Annotated[str, Field(max_length=65_536)]


class AppealDecisionIn(Body):
    verdict: AppealVerdict
    reason: Annotated[str, Field(max_length=4096)] | None = None


class LexiconTermIn(Body):
    text: Annotated[str, Field(max_length=256)]
    category: Annotated[str, from_policy("moderation.categories")]
    severity: Annotated[str, from_policy("moderation.severities")]


class RescanIn(Body):
    since: Moment = Field(description="re-check the posts published from then on")


class TextCheckIn(Body):
    surface: Surface
    text: Annotated[str, Field(max_length=1_048_576)]


class CorrectionIn(Body):
    statement: Annotated[str, Field(max_length=4096)]
    refuting_post_id: EntityId | None = None


class ReviewDecisionIn(Body):
    decision: Verdict
    reason: Annotated[str, Field(max_length=4096)]
    category: Annotated[str, from_policy("moderation.categories")] | None = None
    correction: CorrectionIn | None = None


class BulkDecisionIn(ReviewDecisionIn):
    case_ids: Annotated[list[EntityId], Field(max_length=10_000)]


class ReportIn(Body):
    target_type: Target
    target_id: EntityId
    reason: Annotated[str, from_policy("review.report_reasons")]
    detail: Annotated[str, Field(max_length=65_536)] | None = None


# contacts
class HandleSearchIn(Body):
    handle: ShortText


class PhoneSearchIn(Body):
    phone: ShortText


class FriendRequestIn(Body):
    user_id: EntityId
    greeting: Annotated[str, Field(max_length=100_000)] = ""


class RemarkIn(Body):
    remark: ShortText | None = Field(description="null or empty: no remark")


class PhonePrivacyIn(Body):
    findable_by_phone: StrictBool
