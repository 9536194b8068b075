"""Client-to-server WebSocket frames, decoded straight into typed structs."""

from __future__ import annotations

from typing import Annotated

import msgspec

EntityId = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
Cursor = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


class AuthFrame(msgspec.Struct, tag="auth", tag_field="type"):
    token: str
    since: Cursor | None = None


class SendFrame(msgspec.Struct, tag="send", tag_field="type"):
    conversation_id: EntityId
    text: str
    client_id: str
    reply_to: EntityId | None = None
    mentions: list[EntityId] = []
    mention_everyone: bool = False
    media_ids: list[EntityId] = []


class TypingFrame(msgspec.Struct, tag="typing", tag_field="type"):
    """The client's user is typing in a conversation: relayed live, never stored."""

    conversation_id: EntityId


class ResumeFrame(msgspec.Struct, tag="resume", tag_field="type"):
    since: Cursor


class PingFrame(msgspec.Struct, tag="ping", tag_field="type"):
    pass


ClientFrame = SendFrame | ResumeFrame | PingFrame | TypingFrame

auth_decoder = msgspec.json.Decoder(AuthFrame)
frame_decoder = msgspec.json.Decoder(ClientFrame)
# What the decoders raise for a frame that is not JSON: a DecodeError mostly, but a
# UnicodeDecodeError for a string that is not UTF-8 (in a binary frame) and a RecursionError for
# nesting deeper than the interpreter's recursion limit (`{"a":` repeated, well under the size cap).
NOT_JSON = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)


def frame_cursor(frame: bytes) -> int:
    """The cursor of an encoded event object; every event renders `cursor` as its second key."""
    start = frame.index(b'"cursor":') + len(b'"cursor":')
    return int(frame[start : frame.index(b",", start)])
