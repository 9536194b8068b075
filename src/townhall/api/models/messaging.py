"""Conversations, their members and invitations, and messages."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from townhall.api.models.common import Model, Timestamp, omitted
from townhall.api.models.media import Media
from townhall.api.schemas import EntityId

ConversationKind = Literal["direct", "group"]
MemberRole = Literal["owner", "admin", "member"]
MessageModeration = Literal["held", "removed", "withheld"]


class Member(Model):
    user_id: EntityId
    role: MemberRole
    muted: bool = omitted("true when the owner or an admin muted this member; absent otherwise")


class GroupSettings(Model):
    """What the owner and admins set for a group."""

    avatar: str | None = Field(description="an avatar reference; null: clients draw the default")
    announcement: str | None
    mute_all: bool = Field(description="only the owner and admins may send")
    members_invite: bool = Field(description="every member may invite; else only the managers")
    dissolved: bool = Field(description="the owner dissolved the group: it has no members")


class Conversation(Model):
    id: EntityId
    kind: ConversationKind
    title: str | None = Field(description="a group's; null for a direct conversation")
    description: str | None = Field(description="a group's, if it has one")
    created_by: EntityId
    created_at: Timestamp
    members: list[Member] = Field(description="in the order they joined")
    group: GroupSettings = omitted("a group's settings; absent for a direct conversation")


class NewConversation(Conversation):
    invited: list[EntityId] = omitted("a new group only: the users invited, who join by accepting")


class ConversationPage(Model):
    conversations: list[ConversationSummary] = Field(description="oldest first")
    next_cursor: str | None


class Invitation(Model):
    """An invitation to a group: the invitee joins only by accepting it."""

    conversation_id: EntityId
    title: str
    description: str | None
    inviter_id: EntityId
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
    post_id: EntityId
    public_account_id: EntityId
    account_name: str
    title: str


class Mentions(Model):
    user_ids: list[EntityId] = Field(description="members mentioned")
    everyone: bool = Field(description="every member is mentioned")


class Message(Model):
    """A message as it stands now: removed ones read `"text": ""`."""

    id: EntityId
    conversation_id: EntityId
    seq: Annotated[int, Field(ge=1, description="its place in the conversation, from 1")]
    sender_id: EntityId
    client_id: str = Field(description="the sender's idempotency key")
    text: str = Field(description="empty once moderation removed it or its sender recalled it")
    created_at: Timestamp
    attachment: PostAttachment = omitted("absent unless the message forwards a post")
    moderation: MessageModeration = omitted(
        "absent: delivered as sent; held: only its sender has it until a reviewer approves it;"
        " removed: a tombstone wherever it reached; withheld: removed while held"
    )
    reply_to: EntityId = omitted("the message of this conversation it replies to, if any")
    mentions: Mentions = omitted("absent unless it mentions someone")
    recalled: Literal[True] = omitted(
        "recalled by its sender: the text is empty and the reply, mentions and media are gone"
    )
    media: list[Media] = omitted(
        "the images and files it carries, in order; absent when none (or removed, recalled)"
    )


class ConversationSummary(Conversation):
    """A conversation in the caller's list, with what the caller has read of it."""

    read_seq: int = Field(ge=0, description="the caller's read cursor: the seq read up to")
    partner_read_seq: int | None = Field(
        ge=0,
        description="in a direct conversation, the other member's read cursor (a read"
        " receipt); null in a group, and while either member blocks the other",
    )
    unread: int = Field(
        ge=0, description="the others' messages after the read cursor (not recalled or removed)"
    )
    last_message: Message | None = Field(description="the last message the caller can see")


class ReadState(Model):
    """The caller's read cursor in a conversation after POST …/read."""

    conversation_id: EntityId
    seq: int = Field(ge=0, description="read up to this seq; it never moves back")
    unread: int = Field(ge=0, description="the others' messages still unread")


class MessagePage(Model):
    messages: list[Message] = Field(description="newest first")
    next_cursor: str | None
