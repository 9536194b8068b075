"""The event objects carried by sync and the WebSocket, rendered the same way for both."""

from __future__ import annotations

from typing import Any


class EventType:
    MESSAGE = "message"
    CONVERSATION = "conversation"
    SIGNED_OUT = "signed_out"
    NOTICE = "notice"
    POST = "post"
    TOMBSTONE = "tombstone"
    INVITATION = "invitation"
    CORRECTION = "correction"
    # Message features: a recall, a read cursor moved; typing is live only, never stored.
    RECALL = "recall"
    READ = "read"
    TYPING = "typing"
    # contacts
    FRIEND_REQUEST = "friend_request"
    CONTACT = "contact"


SIGNED_OUT_PREFIX = b'{"type":"signed_out"'


def signed_out_notice(token_hash: str | None) -> dict[str, Any]:
    """Bus-only: live sockets of that session (None: every session of the user) must close."""
    return {"type": EventType.SIGNED_OUT, "token_hash": token_hash}


def message_event(cursor: int, message: dict[str, Any]) -> dict[str, Any]:
    return {"type": EventType.MESSAGE, "cursor": cursor, "message": message}


def conversation_event(
    cursor: int, conversation: dict[str, Any], change: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A conversation as it now stands; `change`: what a group change was and who made it."""
    event = {"type": EventType.CONVERSATION, "cursor": cursor, "conversation": conversation}
    if change is not None:
        event["change"] = change
    return event


def notice_event(cursor: int, notice: dict[str, Any]) -> dict[str, Any]:
    """A message from the platform to one user: a decision about them or their account."""
    return {"type": EventType.NOTICE, "cursor": cursor, "notice": notice}


def invitation_event(cursor: int, invitation: dict[str, Any]) -> dict[str, Any]:
    """An invitation to a group: the invitee joins only by accepting it."""
    return {"type": EventType.INVITATION, "cursor": cursor, "invitation": invitation}


def tombstone_event(cursor: int, target: dict[str, Any]) -> dict[str, Any]:
    """Content removed by moderation: clients replace what they show of it."""
    return {"type": EventType.TOMBSTONE, "cursor": cursor, "target": target}


def correction_event(cursor: int, correction: dict[str, Any]) -> dict[str, Any]:
    """Something the user read or was forwarded was found false: the reviewer's statement."""
    return {"type": EventType.CORRECTION, "cursor": cursor, "correction": correction}


def friend_request_event(cursor: int, request: dict[str, Any]) -> dict[str, Any]:
    """A friend request to or from the user, new, greeted again or answered."""
    return {"type": EventType.FRIEND_REQUEST, "cursor": cursor, "request": request}


def contact_event(cursor: int, contact: dict[str, Any]) -> dict[str, Any]:
    """The user's tie to another as it now stands: friends or not, remark, blocked or not."""
    return {"type": EventType.CONTACT, "cursor": cursor, "contact": contact}


POST_PREFIX = b'{"type":"post"'
TYPING_PREFIX = b'{"type":"typing"'
# Pushed live only, without a cursor: not events of the stream, so sync never wakes for them.
LIVE_ONLY_PREFIXES = (POST_PREFIX, TYPING_PREFIX)


def recall_event(cursor: int, recall: dict[str, Any]) -> dict[str, Any]:
    """A message recalled by its sender: clients drop its text."""
    return {"type": EventType.RECALL, "cursor": cursor, "recall": recall}


def read_event(cursor: int, read: dict[str, Any]) -> dict[str, Any]:
    """A member's read cursor moved: their own devices, and in a direct chat the other member."""
    return {"type": EventType.READ, "cursor": cursor, "read": read}


def typing_frame(conversation_id: int, user_id: int) -> dict[str, Any]:
    """A member is typing: relayed live to the others' sockets, never stored."""
    return {"type": EventType.TYPING, "conversation_id": conversation_id, "user_id": user_id}


def post_event(post: dict[str, Any]) -> dict[str, Any]:
    """Pushed live to online subscribers; not part of the sync stream (the timeline is)."""
    return {"type": EventType.POST, "post": post}


def message_object(
    *,
    message_id: int,
    conversation_id: int,
    seq: int,
    sender_id: int,
    client_id: str,
    text: str,
    created_at: str,
    attachment: dict[str, Any] | None = None,
    moderation: str | None = None,
    reply_to: int | None = None,
    mentions: dict[str, Any] | None = None,
    recalled: bool = False,
    media: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    message = {
        "id": message_id,
        "conversation_id": conversation_id,
        "seq": seq,
        "sender_id": sender_id,
        "client_id": client_id,
        "text": text,
        "created_at": created_at,
    }
    if attachment is not None:
        message["attachment"] = attachment
    if moderation is not None:  # "held": only the sender sees it; "removed": a tombstone
        message["moderation"] = moderation
    if reply_to is not None:
        message["reply_to"] = reply_to
    if mentions is not None:
        message["mentions"] = mentions
    if media:  # the images and files it carries
        message["media"] = media
    if recalled:  # by its sender: its text is gone for everyone
        message["recalled"] = True
    return message
