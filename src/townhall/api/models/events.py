"""The events of a user's stream and the frames of the WebSocket, as clients receive them.

`StreamEvent` is an item of GET /api/v1/sync's `events` and what the WebSocket pushes with a
`cursor`; `ServerFrame` is everything the WebSocket sends (stream events, live posts, control
frames) and `ClientFrame` everything it reads (the first frame must be `auth`). The services
render these objects (`domain/events.py`, `services/rendering.py`) and `domain/frames.py` decodes
the client's: the models here describe them. docs/events.schema.json is generated from them
(`events_json_schema`), and tests/api/test_event_schema.py checks real events against it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter
from typing_extensions import TypeAliasType

from townhall.api.models.common import ErrorDetail, Model, Timestamp, omitted
from townhall.api.models.contacts import Contact, FriendRequest
from townhall.api.models.groups import GroupChange
from townhall.api.models.messaging import Conversation, Invitation, Message
from townhall.api.models.public_accounts import Post, RemovedPost
from townhall.api.models.sanctions import Appeal, Sanction
from townhall.api.schemas import MAX_ID, EntityId

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

Cursor = Annotated[int, Field(ge=0, le=MAX_ID, description="a position in the user's stream")]
ReportTarget = Literal["message", "post", "user", "group", "public_account"]


# Tombstones --------------------------------------------------------------------------------------


class TombstoneTarget(Model):
    """The message a reviewer removed: clients show it as removed."""

    type: Literal["message"]
    id: EntityId
    conversation_id: EntityId


# Corrections ----------------------------------------------------------------------------------


class PostCorrectionTarget(Model):
    type: Literal["post"]
    id: EntityId
    title: str = omitted("the post's title; absent once the post no longer exists")


class MessageCorrectionTarget(Model):
    type: Literal["message"]
    id: EntityId
    conversation_id: EntityId = omitted("absent once the message no longer exists")


class RefutingPost(Model):
    """A post of a news account that refutes the false item."""

    id: EntityId
    public_account_id: EntityId
    account_name: str
    title: str


class Correction(Model):
    """Something the user read or was forwarded was found false: the reviewer's statement."""

    target: Annotated[PostCorrectionTarget | MessageCorrectionTarget, Field(discriminator="type")]
    category: str
    decision: Literal["remove", "mark_false"]
    statement: str
    refuting_post: RefutingPost | None
    decided_at: Timestamp


# Notices --------------------------------------------------------------------------------------


class SanctionNotice(Model):
    """A sanction on the user, or on their public account or group, applied or ended."""

    kind: Literal["sanction_applied", "sanction_ended"]
    sanction: Sanction


class PublicAccountStatusNotice(Model):
    """The operator's application for a public account was decided."""

    kind: Literal["public_account_status"]
    public_account_id: EntityId
    name: str
    status: Literal["approved", "rejected"]
    reason: str | None
    at: Timestamp


class ContentTarget(Model):
    type: Literal["message", "post"]
    id: EntityId


class ContentNotice(Model):
    """To the author: a reviewer removed their content, or found it false and left it up."""

    kind: Literal["content_removed", "content_marked_false"]
    target: ContentTarget
    categories: list[str]
    reason: str


class ReportedTarget(Model):
    type: ReportTarget
    id: EntityId


class ReportOutcomeNotice(Model):
    """To a reporter: what became of their report."""

    kind: Literal["report_outcome"]
    report_id: EntityId
    target: ReportedTarget
    outcome: Literal["no_violation", "action_taken"]


class AppealNotice(Model):
    """To the appellant: their appeal was decided."""

    kind: Literal["appeal_decided"]
    appeal: Appeal


class RevealsAlertNotice(Model):
    """To every administrator: a reviewer passed the hourly number of identity reveals that
    calls for a second look (`limits.identity_reveals_alert_per_hour`)."""

    kind: Literal["identity_reveals_alert"]
    reviewer_id: EntityId
    reveals_last_hour: int
    alert_at: int
    at: Timestamp


Notice = TypeAliasType(
    "Notice",
    Annotated[
        SanctionNotice
        | PublicAccountStatusNotice
        | ContentNotice
        | ReportOutcomeNotice
        | AppealNotice
        | RevealsAlertNotice,
        Field(discriminator="kind"),
    ],
)


# Stream events --------------------------------------------------------------------------------


class MessageEvent(Model):
    """A message in one of the user's conversations, new or as it now stands (a held one
    released, a removal reversed)."""

    type: Literal["message"]
    cursor: Cursor
    message: Message


class ConversationEvent(Model):
    """A conversation the user is in (or was in, until this change) was created, or its members
    or settings changed."""

    type: Literal["conversation"]
    cursor: Cursor
    conversation: Conversation
    change: GroupChange = omitted("a group's: what changed and who changed it")


class NoticeEvent(Model):
    """The platform telling the user about a decision on them or on their account."""

    type: Literal["notice"]
    cursor: Cursor
    notice: Notice


class InvitationEvent(Model):
    type: Literal["invitation"]
    cursor: Cursor
    invitation: Invitation


class TombstoneEvent(Model):
    type: Literal["tombstone"]
    cursor: Cursor
    target: TombstoneTarget


class CorrectionEvent(Model):
    type: Literal["correction"]
    cursor: Cursor
    correction: Correction


class Recall(Model):
    """Which message its sender recalled; never what it said."""

    message_id: EntityId
    conversation_id: EntityId
    seq: int = Field(ge=1)
    sender_id: EntityId
    recalled_at: Timestamp


class RecallEvent(Model):
    """A message was recalled by its sender: clients drop its text (history and sync replays
    show it recalled from now on)."""

    type: Literal["recall"]
    cursor: Cursor
    recall: Recall


class Read(Model):
    conversation_id: EntityId
    user_id: EntityId = Field(description="the member who read")
    seq: int = Field(ge=0, description="read up to this seq")
    read_at: Timestamp


class ReadEvent(Model):
    """A read cursor moved: the reader's own (their other devices follow), or in a direct
    conversation the other member's (a read receipt)."""

    type: Literal["read"]
    cursor: Cursor
    read: Read


class FriendRequestEvent(Model):
    """A friend request to or from the user: new, greeted again, or answered."""

    type: Literal["friend_request"]
    cursor: Cursor
    request: FriendRequest


class ContactEvent(Model):
    """The user's tie to another as it now stands (friends, remark, blocked)."""

    type: Literal["contact"]
    cursor: Cursor
    contact: Contact


StreamEvent = TypeAliasType(
    "StreamEvent",
    Annotated[
        MessageEvent
        | ConversationEvent
        | NoticeEvent
        | InvitationEvent
        | TombstoneEvent
        | CorrectionEvent
        | RecallEvent
        | ReadEvent
        | FriendRequestEvent
        | ContactEvent,
        Field(discriminator="type"),
    ],
)


class NoticePage(Model):
    """GET /api/v1/notices: what the platform told the caller, newest first."""

    notices: list[Annotated[NoticeEvent | CorrectionEvent, Field(discriminator="type")]] = Field(
        description="notice and correction events as the stream carried them"
    )
    next_cursor: str | None = Field(description="send as `cursor` for older ones; null: no more")


class Sync(Model):
    """GET /api/v1/sync: the caller's events after a cursor."""

    events: list[StreamEvent] = Field(description="the caller's events after `since`, in order")
    next: int = Field(description="the cursor to ask with next (`since`)")


# What else the WebSocket sends ----------------------------------------------------------------


class PostEvent(Model):
    """A post of a followed public account, published, approved or removed: pushed live to
    online followers only, without a cursor (the timeline has it for everyone else)."""

    type: Literal["post"]
    post: Post | RemovedPost


class TypingEvent(Model):
    """A member is typing in a conversation: pushed live to the other members' sockets only,
    without a cursor, never stored or synced."""

    type: Literal["typing"]
    conversation_id: EntityId
    user_id: EntityId


class ReadyFrame(Model):
    """The answer to a good `auth` frame."""

    type: Literal["ready"]
    user_id: EntityId
    cursor: Cursor


class PongFrame(Model):
    type: Literal["pong"]
    cursor: Cursor


class AckFrame(Model):
    """A `send` stored: the sending socket gets this instead of the message event."""

    type: Literal["ack"]
    client_id: str
    cursor: Cursor
    duplicate: bool = Field(description="the client_id was sent before: the stored message")
    message: Message


class ErrorFrame(Model):
    """A refused send, an unreadable frame, or a refused `auth` (then the socket closes)."""

    type: Literal["error"]
    error: ErrorDetail
    client_id: str = omitted("the client_id of the send refused; absent for any other error")


class SignedOutFrame(Model):
    """The session was ended (logged out, the account closed): the socket closes with 4401."""

    type: Literal["signed_out"]


ServerFrame = TypeAliasType(
    "ServerFrame",
    Annotated[
        MessageEvent
        | ConversationEvent
        | NoticeEvent
        | InvitationEvent
        | TombstoneEvent
        | CorrectionEvent
        | RecallEvent
        | ReadEvent
        | FriendRequestEvent
        | ContactEvent
        | PostEvent
        | TypingEvent
        | ReadyFrame
        | PongFrame
        | AckFrame
        | ErrorFrame
        | SignedOutFrame,
        Field(discriminator="type"),
    ],
)


# What the WebSocket reads ---------------------------------------------------------------------


class AuthFrame(Model):
    """The first frame: the session's token, and the cursor to replay from."""

    type: Literal["auth"]
    token: str
    since: Cursor | None = None


class SendFrame(Model):
    type: Literal["send"]
    conversation_id: EntityId
    text: str
    client_id: str
    reply_to: EntityId | None = Field(None, description="a message of the conversation")
    mentions: list[EntityId] = Field([], description="members mentioned, by user id")
    mention_everyone: bool = Field(False, description="a group's owner and admins only")
    media_ids: list[EntityId] = Field(
        [], description="media objects it carries (POST /api/v1/media), max_media_per_item"
    )


class TypingFrame(Model):
    """The user is typing: relayed to the other members' live sockets, at most
    `typing_per_user` a window (else an error frame `too_many_typing`)."""

    type: Literal["typing"]
    conversation_id: EntityId


class ResumeFrame(Model):
    """Replay the events after `since`, then go on live."""

    type: Literal["resume"]
    since: Cursor


class PingFrame(Model):
    type: Literal["ping"]


ClientFrame = TypeAliasType(
    "ClientFrame",
    Annotated[
        AuthFrame | SendFrame | ResumeFrame | PingFrame | TypingFrame,
        Field(discriminator="type"),
    ],
)


def events_json_schema() -> dict[str, Any]:
    """docs/events.schema.json: every model above under `$defs`, the three unions among them."""
    unions: list[TypeAdapter[Any]] = [
        TypeAdapter(StreamEvent),
        TypeAdapter(ServerFrame),
        TypeAdapter(ClientFrame),
    ]
    _, schemas = TypeAdapter.json_schemas(
        [(index, "validation", union) for index, union in enumerate(unions)],
        ref_template="#/$defs/{model}",
    )
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": "Townhall events and WebSocket frames",
        "description": (
            "An item of GET /api/v1/sync's events is a StreamEvent; a WebSocket frame from the"
            " server is a ServerFrame (stream events, live posts and control frames), one to it"
            " a ClientFrame. Each of the three is a oneOf on `type`."
        ),
        "oneOf": [{"$ref": "#/$defs/ServerFrame"}, {"$ref": "#/$defs/ClientFrame"}],
        "$defs": dict(sorted(schemas["$defs"].items())),
    }
