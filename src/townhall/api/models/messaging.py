"""Conversations, their members and invitations, messages, and the caller's event stream."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from townhall.api.models.common import Model, Timestamp

ConversationKind = Literal["direct", "group"]
MemberRole = Literal["owner", "admin", "member"]
MessageModeration = Literal["held", "removed", "withheld"]


class Member(Model):
    user_id: int
    role: MemberRole


class Conversation(Model):
    id: int
    kind: ConversationKind
    title: str | None = Field(description="a group's; null for a direct conversation")
    description: str | None = Field(description="a group's, if it has one")
    created_by: int
    created_at: Timestamp
    members: list[Member] = Field(description="in the order they joined")


class NewConversation(Conversation):
    invited: list[int] | None = Field(
        default=None, description="a new group only: the users invited, who join by accepting"
    )


class ConversationPage(Model):
    conversations: list[Conversation] = Field(description="oldest first")
    next_cursor: str | None


class Invitation(Model):
    conversation_id: int
    title: str | None
    description: str | None
    inviter_id: int
    invited_at: Timestamp


class InvitationPage(Model):
    invitations: list[Invitation] = Field(description="waiting for an answer, oldest first")
    next_cursor: str | None


class DeclinedInvitation(Model):
    conversation_id: int
    state: Literal["declined"]


class PostAttachment(Model):
    """What a message that forwards a post carries."""

    type: Literal["post"]
    post_id: int
    public_account_id: int
    account_name: str
    title: str


class Message(Model):
    id: int
    conversation_id: int
    seq: int = Field(description="its place in the conversation, from 1")
    sender_id: int
    client_id: str = Field(description="the sender's idempotency key")
    text: str = Field(description="empty once moderation removed it")
    created_at: Timestamp
    attachment: PostAttachment | None = Field(
        default=None, description="absent unless the message forwards a post"
    )
    moderation: MessageModeration | None = Field(
        default=None,
        description="absent when delivered as sent; `held`: only its sender has it until a "
        "reviewer approves it; `removed`: a tombstone; `withheld`: removed while held",
    )


class MessagePage(Model):
    messages: list[Message] = Field(description="newest first")
    next_cursor: str | None


class Sync(Model):
    events: list[dict[str, Any]] = Field(description="the caller's events after `since`, in order")
    next: int = Field(description="the cursor to ask with next (`since`)")
