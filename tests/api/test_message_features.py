"""Replies, mentions, recall, read state and typing, as members see them live and on sync."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import MakeStaff, MakeUser, ServerPool, User
from tests.support import (
    applied,
    assert_error,
    case_of,
    full_history,
    full_sync,
    group_of,
    messages_of,
    report,
    sent,
)

pytestmark = pytest.mark.usefixtures("no_server_errors")

QUIET_SECONDS = 0.3  # long enough for a relayed frame to arrive, were one on its way


def messages_path(conversation_id: int) -> str:
    return f"/api/v1/conversations/{conversation_id}/messages"


async def send_with(user: User, conversation_id: int, text: str, **fields: Any) -> httpx.Response:
    """POST a message with a reply or mentions; the answer as it is."""
    body = {"text": text, "client_id": uuid.uuid4().hex, **fields}
    return await user.raw("POST", messages_path(conversation_id), json=body)


async def recall(user: User, conversation_id: int, message_id: int) -> httpx.Response:
    return await user.raw("POST", f"{messages_path(conversation_id)}/{message_id}/recall")


async def read_up_to(user: User, conversation_id: int, **body: int) -> httpx.Response:
    return await user.raw("POST", f"/api/v1/conversations/{conversation_id}/read", json=body)


def events_of(events: list[dict[str, Any]], event_type: str) -> list[dict[str, Any]]:
    return [event[event_type] for event in events if event["type"] == event_type]


async def listed(user: User, conversation_id: int) -> dict[str, Any]:
    """The conversation as the user's conversation list shows it."""
    page = await user.request("GET", "/api/v1/conversations")
    (found,) = [c for c in page["conversations"] if c["id"] == conversation_id]
    return found


@pytest.fixture
async def chat(alice: User, bob: User) -> int:
    return (await alice.open_direct(bob.id))["id"]


@pytest.fixture
async def group(alice: User, bob: User, carol: User) -> int:
    """Alice's group, with Bob and Carol as plain members."""
    return (await group_of(alice, "茶话会", bob, carol))["id"]


# Replies ---------------------------------------------------------------------------------------


async def test_a_reply_names_the_message_it_quotes_for_every_member(
    alice: User, bob: User, chat: int
) -> None:
    original = await sent(alice, chat, "周末去爬山吗")
    answer = await send_with(bob, chat, "好啊", reply_to=original["id"])

    assert answer.status_code == 201, answer.text
    assert answer.json()["reply_to"] == original["id"]
    for member in (alice, bob):
        history = await full_history(member, chat)
        assert [m.get("reply_to") for m in history] == [None, original["id"]]
        assert [m.get("reply_to") for m in messages_of((await full_sync(member))[0])] == [
            None,
            original["id"],
        ]


async def test_a_reply_to_another_conversations_message_is_refused(
    alice: User, bob: User, carol: User, chat: int
) -> None:
    elsewhere = (await alice.open_direct(carol.id))["id"]
    other = await sent(alice, elsewhere, "只给卡罗尔")

    for reply_to in (other["id"], other["id"] + 1000):
        assert_error(
            await send_with(bob, chat, "回复", reply_to=reply_to), 404, "reply_target_not_found"
        )
    assert await full_history(bob, chat) == []


# Mentions --------------------------------------------------------------------------------------


async def test_a_mentioned_member_sees_the_mention_in_their_events(
    alice: User, bob: User, carol: User, group: int
) -> None:
    answer = await send_with(bob, group, "@卡罗尔 看这里", mentions=[carol.id, carol.id])

    assert answer.status_code == 201, answer.text
    (message,) = messages_of((await full_sync(carol))[0])
    assert message["mentions"] == {"user_ids": [carol.id], "everyone": False}
    assert (await full_history(alice, group))[0]["mentions"] == message["mentions"]


async def test_a_mention_of_a_non_member_is_refused(
    make_user: MakeUser, bob: User, group: int
) -> None:
    dave = await make_user("dave")

    assert_error(
        await send_with(bob, group, "@戴夫", mentions=[dave.id]), 422, "mention_not_member"
    )
    assert await full_history(bob, group) == []


async def test_only_the_owner_and_admins_mention_everyone(
    alice: User, bob: User, carol: User, group: int, chat: int
) -> None:
    assert_error(
        await send_with(bob, group, "@所有人", mention_everyone=True),
        403,
        "mention_everyone_forbidden",
    )
    assert_error(
        await send_with(alice, chat, "@所有人", mention_everyone=True),
        403,
        "mention_everyone_forbidden",
    )

    answer = await send_with(alice, group, "@所有人 开会", mention_everyone=True)
    assert answer.status_code == 201, answer.text
    (message,) = messages_of((await full_sync(carol))[0])
    assert message["mentions"] == {"user_ids": [], "everyone": True}


async def test_a_reply_with_mentions_over_the_websocket(
    alice: User, bob: User, carol: User, group: int
) -> None:
    original = await sent(alice, group, "谁来")
    async with bob.websocket() as socket:
        frame = {
            "type": "send",
            "conversation_id": group,
            "text": "我来",
            "client_id": "ws-reply",
            "reply_to": original["id"],
            "mentions": [alice.id],
        }
        await socket.send_frame(frame)
        ack = await socket.receive_until("ack")

    assert ack["message"]["reply_to"] == original["id"]
    assert ack["message"]["mentions"] == {"user_ids": [alice.id], "everyone": False}


# Recall ----------------------------------------------------------------------------------------


async def test_a_recalled_message_loses_its_text_for_every_member_live_and_on_sync(
    alice: User, bob: User, carol: User, group: int
) -> None:
    original = await sent(alice, group, "发错群了")
    quoted = await send_with(bob, group, "什么?", reply_to=original["id"], mentions=[alice.id])
    assert quoted.status_code == 201, quoted.text

    async with bob.websocket() as socket:
        answer = await recall(alice, group, original["id"])
        live = await socket.receive_until("recall")

    assert answer.status_code == 200, answer.text
    recalled = answer.json()
    assert (recalled["text"], recalled["recalled"]) == ("", True)
    assert live["recall"]["message_id"] == original["id"]
    assert live["recall"]["sender_id"] == alice.id
    for member in (alice, bob, carol):
        events = (await full_sync(member))[0]
        assert [r["message_id"] for r in events_of(events, "recall")] == [original["id"]]
        for shown in (messages_of(events)[0], (await full_history(member, group))[0]):
            assert (shown["id"], shown["text"], shown.get("recalled")) == (original["id"], "", True)
        assert "发错群了" not in str(events)
    # The reply keeps its place and its reference; none of the recalled text travels with it.
    assert (await full_history(carol, group))[1]["reply_to"] == original["id"]
    # Recalling again changes nothing.
    again = await recall(alice, group, original["id"])
    assert again.status_code == 200
    assert len(events_of((await full_sync(bob))[0], "recall")) == 1


async def test_only_the_sender_recalls_a_message(
    alice: User, bob: User, group: int, chat: int
) -> None:
    message = await sent(alice, group, "我的消息")

    assert_error(await recall(bob, group, message["id"]), 403, "recall_not_sender")
    assert_error(await recall(alice, chat, message["id"]), 404, "message_not_found")
    assert (await full_history(bob, group))[0]["text"] == "我的消息"


async def test_a_message_older_than_the_recall_window_stays(
    servers: ServerPool, make_user: MakeUser
) -> None:
    host = servers.shared(policy_pack=servers.pack(recall_seconds=0))
    alice, bob = [await make_user(name, on=host) for name in ("alice", "bob")]
    chat = (await alice.open_direct(bob.id))["id"]
    message = await sent(alice, chat, "收不回来了")

    assert_error(await recall(alice, chat, message["id"]), 422, "recall_window_passed")
    assert (await full_history(bob, chat))[0]["text"] == "收不回来了"


async def test_a_recalled_message_can_still_be_reported_and_shows_the_reviewer_its_text(
    alice: User, bob: User, chat: int, make_staff: MakeStaff
) -> None:
    message = await sent(alice, chat, "转账给我 稳赚不赔")
    assert (await recall(alice, chat, message["id"])).status_code == 200

    filed = await report(bob, "message", message["id"], "fraud")

    assert filed.status_code == 201, filed.text
    reviewer = await make_staff("reviewer")
    case = await case_of(reviewer, "message", message["id"])
    assert (case["author_id"], case["content"]["text"]) == (alice.id, "转账给我 稳赚不赔")


async def test_a_suspended_sender_cannot_recall(
    alice: User, bob: User, chat: int, reviewer: User
) -> None:
    message = await sent(alice, chat, "撤回不了")
    await applied(
        reviewer, "user", alice.id, "suspend_updates", reason="spam in every chat", days=1
    )

    assert_error(await recall(alice, chat, message["id"]), 403, "updates_suspended")
    assert (await full_history(bob, chat))[0]["text"] == "撤回不了"


async def test_no_recall_in_a_group_whose_posting_is_suspended(
    alice: User, group: int, reviewer: User
) -> None:
    message = await sent(alice, group, "早")
    await applied(reviewer, "group", group, "suspend_posting", reason="spam in every chat", days=1)

    assert_error(await recall(alice, group, message["id"]), 403, "group_posting_suspended")


# Read state -----------------------------------------------------------------------------------


async def test_reading_moves_the_cursor_tells_the_readers_devices_and_the_other_member(
    alice: User, bob: User, chat: int
) -> None:
    for text in ("一", "二", "三"):
        await sent(alice, chat, text)
    before = await listed(bob, chat)
    assert (before["unread"], before["read_seq"]) == (3, 0)
    assert (await listed(alice, chat))["partner_read_seq"] == 0
    assert before["last_message"]["text"] == "三"
    assert (await listed(alice, chat))["unread"] == 0  # one's own messages are never unread

    answer = await read_up_to(bob, chat, seq=2)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"conversation_id": chat, "seq": 2, "unread": 1}
    assert ((await listed(bob, chat))["unread"], (await listed(bob, chat))["read_seq"]) == (1, 2)
    assert (await listed(alice, chat))["partner_read_seq"] == 2  # the receipt, also later
    for member in (alice, bob):  # bob's other devices, and alice's read receipt
        (read,) = events_of((await full_sync(member))[0], "read")
        assert (read["conversation_id"], read["user_id"], read["seq"]) == (chat, bob.id, 2)


async def test_a_block_either_way_stops_read_receipts_both_ways(
    alice: User, bob: User, chat: int
) -> None:
    for text in ("一", "二", "三"):
        await sent(alice, chat, text)
    await sent(bob, chat, "四")
    await alice.request("PUT", f"/api/v1/contacts/{bob.id}/block")
    _, alices_cursor = await full_sync(alice)
    _, bobs_cursor = await full_sync(bob)

    assert (await read_up_to(bob, chat, seq=2)).status_code == 200  # the one blocked reads
    assert (await read_up_to(alice, chat, seq=4)).status_code == 200  # and the blocker

    # Each one's own devices follow; neither learns what the other read, live, on sync or in
    # the conversation list.
    alices_reads = events_of((await full_sync(alice, alices_cursor))[0], "read")
    bobs_reads = events_of((await full_sync(bob, bobs_cursor))[0], "read")
    assert [(read["user_id"], read["seq"]) for read in alices_reads] == [(alice.id, 4)]
    assert [(read["user_id"], read["seq"]) for read in bobs_reads] == [(bob.id, 2)]
    for member, seq in ((alice, 4), (bob, 2)):
        shown = await listed(member, chat)
        assert (shown["read_seq"], shown["partner_read_seq"]) == (seq, None)

    await alice.request("DELETE", f"/api/v1/contacts/{bob.id}/block")
    assert (await read_up_to(bob, chat, seq=3)).status_code == 200

    (receipt,) = events_of((await full_sync(alice, alices_cursor))[0], "read")[1:]
    assert (receipt["user_id"], receipt["seq"]) == (bob.id, 3)
    assert (await listed(alice, chat))["partner_read_seq"] == 3


async def test_the_read_cursor_never_moves_backwards(alice: User, bob: User, chat: int) -> None:
    first = await sent(alice, chat, "一")
    await sent(alice, chat, "二")
    assert (await read_up_to(bob, chat, seq=2)).status_code == 200

    answer = await read_up_to(bob, chat, message_id=first["id"])

    assert answer.json() == {"conversation_id": chat, "seq": 2, "unread": 0}
    assert len(events_of((await full_sync(bob))[0], "read")) == 1  # no event for no move


async def test_a_read_cursor_must_point_at_a_message_of_the_conversation(
    alice: User, bob: User, carol: User, chat: int
) -> None:
    await sent(alice, chat, "一")
    elsewhere = await sent(carol, (await carol.open_direct(bob.id))["id"], "别处")

    assert_error(await read_up_to(bob, chat, seq=2), 400, "read_seq_invalid")
    assert_error(await read_up_to(bob, chat), 400, "read_seq_invalid")
    assert_error(await read_up_to(bob, chat, message_id=elsewhere["id"]), 404, "message_not_found")
    assert_error(await read_up_to(carol, chat, seq=1), 404, "conversation_not_found")


async def test_in_a_group_only_the_readers_devices_hear_of_a_read(
    alice: User, bob: User, carol: User, group: int
) -> None:
    await sent(alice, group, "开会")
    await sent(bob, group, "收到")
    assert (await listed(carol, group))["unread"] == 2

    assert (await read_up_to(carol, group, seq=2)).status_code == 200

    assert len(events_of((await full_sync(carol))[0], "read")) == 1
    for member in (alice, bob):
        assert events_of((await full_sync(member))[0], "read") == []
    assert (await listed(carol, group))["unread"] == 0
    assert (await listed(alice, group))["unread"] == 1  # bob's
    assert (await listed(alice, group))["partner_read_seq"] is None


async def test_recalled_messages_are_not_unread(alice: User, bob: User, chat: int) -> None:
    await sent(alice, chat, "一")
    oops = await sent(alice, chat, "二")
    await recall(alice, chat, oops["id"])

    shown = await listed(bob, chat)

    assert shown["unread"] == 1
    assert (shown["last_message"]["id"], shown["last_message"]["text"]) == (oops["id"], "")


async def test_a_closed_account_cannot_mark_read(
    alice: User, bob: User, chat: int, admin: User
) -> None:
    await sent(alice, chat, "一")
    await applied(admin, "user", bob.id, "close", reason="a fraud ring")

    assert_error(await read_up_to(bob, chat, seq=1), 403, "account_closed")


# Typing ---------------------------------------------------------------------------------------


async def test_typing_is_relayed_live_to_the_other_members_and_never_synced(
    alice: User, bob: User, carol: User, group: int
) -> None:
    _, cursor = await full_sync(bob)
    async with alice.websocket() as typist, bob.websocket() as watcher:
        await typist.send_frame({"type": "typing", "conversation_id": group})
        relayed = await watcher.receive_until("typing")
        await typist.send_frame({"type": "ping"})
        assert (await typist.receive())["type"] == "pong"  # the typist is not told of itself

    assert relayed == {"type": "typing", "conversation_id": group, "user_id": alice.id}
    for member in (alice, bob, carol):
        events = (await full_sync(member))[0]
        assert "typing" not in {event["type"] for event in events}
    assert (await full_sync(bob, cursor))[0] == []


async def test_typing_is_rate_limited_and_needs_membership(
    make_user: MakeUser, alice: User, bob: User, group: int
) -> None:
    dave = await make_user("dave")
    async with alice.websocket() as typist:
        for _ in range(3):
            await typist.send_frame({"type": "typing", "conversation_id": group})
        refused = await typist.receive_until("error")
    assert refused["error"]["code"] == "too_many_typing"

    async with dave.websocket() as outsider:
        await outsider.send_frame({"type": "typing", "conversation_id": group})
        refused = await outsider.receive_until("error")
    assert refused["error"]["code"] == "conversation_not_found"


async def test_a_suspended_user_cannot_type(
    alice: User, bob: User, chat: int, reviewer: User
) -> None:
    await applied(
        reviewer, "user", alice.id, "suspend_updates", reason="spam in every chat", days=1
    )
    async with alice.websocket() as typist, bob.websocket() as watcher:
        await typist.send_frame({"type": "typing", "conversation_id": chat})
        refused = await typist.receive_until("error")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(watcher.receive_until("typing"), QUIET_SECONDS)

    assert refused["error"]["code"] == "updates_suspended"


async def test_what_was_said_before_a_member_joined_is_not_unread(
    alice: User, bob: User, carol: User
) -> None:
    created = await alice.create_group("读书会", [bob.id, carol.id])
    await bob.accept_invitation(created["id"])
    await sent(bob, created["id"], "早到了")
    await carol.accept_invitation(created["id"])
    await sent(alice, created["id"], "欢迎")

    shown = await listed(carol, created["id"])

    assert (shown["unread"], shown["last_message"]["text"]) == (1, "欢迎")
