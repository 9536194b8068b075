"""Group life: invitations' outcome, join links and requests, the membership history, and what
a `conversation` event says changed."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from townhall.api.models.common import Model, Timestamp, omitted
from townhall.api.models.messaging import Conversation
from townhall.api.schemas import EntityId

MemberChange = Literal[
    "joined",
    "left",
    "removed",
    "made_admin",
    "unmade_admin",
    "made_owner",
    "muted",
    "unmuted",
    "dissolved",
]


# Told to the group's owner and admins alone: a request to join made, declined by one of them,
# or withdrawn by the asker's deregistering (an approval is the `joined` every member is told).
JoinRequestChange = Literal["join_requested", "join_declined", "join_withdrawn"]


class GroupChange(Model):
    """What a `conversation` event of a group reports, and who did it."""

    action: MemberChange | JoinRequestChange | Literal["created", "updated"]
    by: EntityId = omitted("who made the change; absent when nobody did (a join by link)")
    user_ids: list[EntityId] = omitted("the members it was about, or the user asking to join")
    fields: list[str] = omitted("updated: the settings changed")


class Invited(Model):
    added: list[EntityId] = Field(description="joined at once (the group is small enough)")
    invited: list[EntityId] = Field(description="invited: each joins by accepting")


class JoinLink(Model):
    """A join link: `token` is what a QR code carries, used with POST /api/v1/join-links/join."""

    id: EntityId
    conversation_id: EntityId
    token: str
    created_by: EntityId
    created_at: Timestamp
    expires_at: Timestamp
    needs_approval: bool = Field(description="a join waits for the owner's or an admin's approval")


class JoinLinkPage(Model):
    links: list[JoinLink] = Field(description="links still working, oldest first")
    next_cursor: str | None


class JoinLinkPreview(Model):
    """What a join link leads to, for its holder before they join."""

    conversation_id: EntityId
    title: str | None = Field(description="the group's title")
    members: int = Field(ge=0, description="how many are in the group now")
    needs_approval: bool = Field(description="a join waits for the owner's or an admin's approval")
    expires_at: Timestamp
    member: bool = Field(description="the caller is in the group already")


class JoinResult(Model):
    conversation_id: EntityId
    state: Literal["joined", "pending"] = Field(description="pending: waits for an admin")
    conversation: Conversation = omitted("the group, once joined")


class JoinRequest(Model):
    conversation_id: EntityId
    user_id: EntityId
    link_id: EntityId
    requested_at: Timestamp


class JoinRequestPage(Model):
    requests: list[JoinRequest] = Field(description="waiting for an answer, by user id")
    next_cursor: str | None


class DeclinedJoinRequest(Model):
    conversation_id: EntityId
    user_id: EntityId
    state: Literal["declined"]


class MemberHistoryEntry(Model):
    id: EntityId
    user_id: EntityId
    change: MemberChange
    actor_id: EntityId | None = Field(
        description="who invited, added, removed, promoted or muted them; for a join by link "
        "its creator"
    )
    link_id: EntityId | None = Field(description="the join link they came by")
    at: Timestamp


class MemberHistoryPage(Model):
    history: list[MemberHistoryEntry] = Field(description="oldest first")
    next_cursor: str | None
