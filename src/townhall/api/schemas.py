"""Request bodies. Sizes are capped here coarsely; the exact rules live in domain/."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_ID = 2**63 - 1
EntityId = Annotated[int, Field(ge=1, le=MAX_ID)]
ShortText = Annotated[str, Field(max_length=1024)]


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


class LoginIn(Body):
    handle: ShortText
    password: ShortText


class DirectIn(Body):
    kind: Literal["direct"]
    user_id: EntityId


class GroupIn(Body):
    kind: Literal["group"]
    title: ShortText
    member_ids: Annotated[list[EntityId], Field(max_length=100_000)]


ConversationIn = Annotated[DirectIn | GroupIn, Field(discriminator="kind")]


class MessageIn(Body):
    text: Annotated[str, Field(max_length=1_048_576)]
    client_id: ShortText


class AgreementIn(Body):
    version: Annotated[str, Field(max_length=64)] | None = None


class PhoneCodeIn(Body):
    code: Annotated[str, Field(max_length=32)]


class ReasonIn(Body):
    reason: Annotated[str, Field(max_length=4096)] | None = None


class DecisionIn(Body):
    decision: Literal["approve", "reject"]
    reason: Annotated[str, Field(max_length=4096)] | None = None


class BlacklistIn(Body):
    user_id: EntityId
    reason: Annotated[str, Field(max_length=4096)] | None = None
