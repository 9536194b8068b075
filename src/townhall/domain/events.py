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
    # contacts
    FRIEND_REQUEST = "friend_request"
    CONTACT = "contact"


SIGNED_OUT_PREFIX = b'{"type":"signed_out"'


def signed_out_notice(token_hash: str | None) -> dict[str, Any]:
    """Bus-only: live sockets of that session (None: every session of the user) must close."""
    return {"type": EventType.SIGNED_OUT, "token_hash": token_hash}


def message_event(cursor: int, message: dict[str, Any]) -> dict[str, Any]:
    return {"type": EventType.MESSAGE, "cursor": cursor, "message": message}


def conversation_event(cursor: int, conversation: dict[str, Any]) -> dict[str, Any]:
    return {"type": EventType.CONVERSATION, "cursor": cursor, "conversation": conversation}


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
    return message
