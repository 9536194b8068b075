"""People found, friend requests, contacts and the phone-lookup privacy setting."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from townhall.api.models.common import Model, Timestamp
from townhall.api.schemas import EntityId

RequestState = Literal["pending", "accepted", "declined", "ignored"]


class UserCard(Model):
    """What anyone who finds a user sees of them."""

    id: EntityId
    handle: str
    display_name: str


class FoundUsers(Model):
    users: list[UserCard] = Field(
        description="who was found: none when nobody matches, or nobody who allows being found"
    )


class StaffCard(Model):
    """An account as the staff desks see it: users and staff, deregistered ones too."""

    id: EntityId
    handle: str
    display_name: str
    role: Literal["user", "reviewer", "admin", "auditor"]
    status: Literal["active", "deregistered"]


class StaffCards(Model):
    users: list[StaffCard] = Field(description="the accounts found, by id; none when none match")


class FriendRequest(Model):
    """A friend request; its requester sees one the addressee ignored as pending."""

    requester_id: EntityId
    addressee_id: EntityId
    state: RequestState
    greeting: str = Field(description="the latest greeting, empty if none")
    greetings: int = Field(ge=1, description="greetings sent since the request was opened")
    created_at: Timestamp
    updated_at: Timestamp


class FriendRequestPage(Model):
    requests: list[FriendRequest] = Field(description="waiting for the caller's answer")
    next_cursor: str | None


class Contact(Model):
    """The caller's tie to another user as it stands."""

    user_id: EntityId
    friend: bool
    friend_since: Timestamp | None
    remark: str | None = Field(description="the name the caller gives them, if any")
    blocked: bool = Field(description="whether the caller blocks them")


class ContactPage(Model):
    contacts: list[Contact] = Field(description="friends and blocked users, by user id")
    next_cursor: str | None


class PhonePrivacy(Model):
    findable_by_phone: bool = Field(
        description="whether others may find the caller by their phone number"
    )
