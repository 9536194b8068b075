"""WebSocket frames from clients, and the cursor read straight from an encoded event."""

from __future__ import annotations

import msgspec
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from townhall.domain.events import conversation_event, message_event, message_object
from townhall.domain.frames import (
    AuthFrame,
    PingFrame,
    ResumeFrame,
    SendFrame,
    auth_decoder,
    frame_cursor,
    frame_decoder,
)
from townhall.domain.time import iso_utc

MAX_ID = 2**63 - 1


def test_auth_frame_with_and_without_since() -> None:
    assert auth_decoder.decode(b'{"type":"auth","token":"t0k"}') == AuthFrame("t0k")
    assert auth_decoder.decode('{"type":"auth","token":"t","since":42}') == AuthFrame("t", 42)


@pytest.mark.parametrize(
    ("raw", "frame"),
    [
        (
            b'{"type":"send","conversation_id":3,"text":"hi","client_id":"c1"}',
            SendFrame(conversation_id=3, text="hi", client_id="c1"),
        ),
        (b'{"type":"resume","since":0}', ResumeFrame(since=0)),
        (b'{"type":"ping"}', PingFrame()),
        (
            f'{{"client_id":"c","text":"你好","conversation_id":{MAX_ID},"type":"send"}}',
            SendFrame(conversation_id=MAX_ID, text="你好", client_id="c"),
        ),
    ],
)
def test_client_frames_decode_by_their_type(raw: bytes | str, frame: object) -> None:
    assert frame_decoder.decode(raw) == frame


@pytest.mark.parametrize(
    "raw",
    [
        b'{"type":"auth","token":"t"}',  # only the first frame may authenticate
        b'{"type":"subscribe"}',
        b'{"conversation_id":3,"text":"hi","client_id":"c"}',
        b'{"type":"send","conversation_id":0,"text":"hi","client_id":"c"}',
        b'{"type":"send","conversation_id":%d,"text":"hi","client_id":"c"}' % 2**70,
        b'{"type":"send","conversation_id":"3","text":"hi","client_id":"c"}',
        b'{"type":"send","conversation_id":3,"text":5,"client_id":"c"}',
        b'{"type":"send","conversation_id":3,"text":"hi"}',
        b'{"type":"resume","since":-1}',
        b'{"type":"resume","since":1.5}',
        b"[]",
        b"42",
    ],
)
def test_wrong_frames_are_validation_errors(raw: bytes) -> None:
    with pytest.raises(msgspec.ValidationError):
        frame_decoder.decode(raw)


@pytest.mark.parametrize("raw", [b"", b"{", b"not json", b'{"type":"ping"', b"\xff\xfe"])
def test_broken_json_is_a_decode_error_not_a_validation_error(raw: bytes) -> None:
    with pytest.raises(msgspec.DecodeError) as failed:
        frame_decoder.decode(raw)
    assert not isinstance(failed.value, msgspec.ValidationError)


@pytest.mark.parametrize(
    "raw",
    [b'{"type":"auth"}', b'{"type":"auth","token":7}', b'{"type":"auth","token":"t","since":-1}'],
)
def test_bad_auth_frames_are_refused(raw: bytes) -> None:
    with pytest.raises(msgspec.ValidationError):
        auth_decoder.decode(raw)


messages = st.builds(
    lambda message_id, conversation_id, seq, sender_id, client_id, text, ms: message_object(
        message_id=message_id,
        conversation_id=conversation_id,
        seq=seq,
        sender_id=sender_id,
        client_id=client_id,
        text=text,
        created_at=iso_utc(ms),
    ),
    st.integers(1, MAX_ID),
    st.integers(1, MAX_ID),
    st.integers(1, 2**31),
    st.integers(1, MAX_ID),
    st.from_regex(r"[A-Za-z0-9_.:-]{1,64}", fullmatch=True),
    st.text() | st.just('{"cursor":1,"type":"message"}'),
    st.integers(0, 2**32 * 1000),
)
conversations = st.fixed_dictionaries(
    {
        "id": st.integers(1, MAX_ID),
        "kind": st.sampled_from(["direct", "group"]),
        "title": st.none() | st.text(),
        "members": st.lists(
            st.fixed_dictionaries({"user_id": st.integers(1, MAX_ID), "role": st.text()})
        ),
    }
)
cursors = st.integers(0, MAX_ID)


@given(cursors, messages)
def test_frame_cursor_reads_the_cursor_of_any_message_event(cursor: int, message: dict) -> None:
    assert frame_cursor(orjson.dumps(message_event(cursor, message))) == cursor


@given(cursors, conversations)
def test_frame_cursor_reads_the_cursor_of_any_conversation_event(
    cursor: int, conversation: dict
) -> None:
    assert frame_cursor(orjson.dumps(conversation_event(cursor, conversation))) == cursor
