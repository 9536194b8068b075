"""Sending messages, idempotent resends, history paging, and who may read and post."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from tests.conftest import User
from tests.support import assert_error, full_history, group_of

MESSAGE_KEYS = {"id", "conversation_id", "seq", "sender_id", "text", "created_at", "client_id"}


@pytest.fixture
async def chat(alice: User, bob: User) -> int:
    """Alice and Bob's direct conversation."""
    return (await alice.open_direct(bob.id))["id"]


async def test_a_sent_message_comes_back_complete(alice: User, chat: int) -> None:
    answer = await alice.raw(
        "POST", f"/api/v1/conversations/{chat}/messages", json={"text": "hi 🐼", "client_id": "m-1"}
    )

    assert answer.status_code == 201
    message = answer.json()
    assert set(message) == MESSAGE_KEYS
    assert message["conversation_id"] == chat
    assert message["seq"] == 1
    assert message["sender_id"] == alice.id
    assert message["text"] == "hi 🐼"
    assert message["client_id"] == "m-1"
    assert isinstance(message["id"], int)
    assert message["created_at"].endswith("Z")
    datetime.fromisoformat(message["created_at"])


async def test_both_sides_see_the_conversation_in_order(alice: User, bob: User, chat: int) -> None:
    sent = [
        await alice.send(chat, "hi bob"),
        await bob.send(chat, "hi alice"),
        await alice.send(chat, "how are you?\nall well here"),
    ]

    for reader in (alice, bob):
        assert await full_history(reader, chat) == sent
    assert [m["seq"] for m in sent] == [1, 2, 3]


async def test_a_resend_with_the_same_client_id_returns_the_stored_message(
    alice: User, bob: User, chat: int
) -> None:
    body = {"text": "only once please", "client_id": "retry-42"}
    first = await alice.raw("POST", f"/api/v1/conversations/{chat}/messages", json=body)
    again = await alice.raw("POST", f"/api/v1/conversations/{chat}/messages", json=body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert await full_history(bob, chat) == [first.json()]
    bob_events = (await bob.sync())["events"]
    assert [e["message"]["id"] for e in bob_events if e["type"] == "message"] == [
        first.json()["id"]
    ]


async def test_concurrent_resends_store_one_message(alice: User, bob: User, chat: int) -> None:
    sent = await asyncio.gather(*(alice.send(chat, "flaky network", "same-id") for _ in range(8)))
    assert len({message["id"] for message in sent}) == 1
    assert len(await full_history(bob, chat)) == 1


async def test_a_client_id_reused_for_other_text_is_a_conflict(alice: User, chat: int) -> None:
    original = await alice.send(chat, "first", "c-1")
    answer = await alice.raw(
        "POST",
        f"/api/v1/conversations/{chat}/messages",
        json={"text": "second", "client_id": "c-1"},
    )
    assert_error(answer, 409, "client_id_reused")
    assert await full_history(alice, chat) == [original]


async def test_history_pages_backwards_with_a_cursor_and_limit(
    alice: User, bob: User, chat: int
) -> None:
    sent = [await (alice if i % 2 else bob).send(chat, f"message {i}") for i in range(6)]

    page = await bob.history(chat, limit=3)
    assert [m["seq"] for m in page["messages"]] == [6, 5, 4]
    page = await bob.history(chat, cursor=page["next_cursor"], limit=3)
    assert [m["seq"] for m in page["messages"]] == [3, 2, 1]
    assert page["messages"][-1] == sent[0]
    # A full page may be the last: the next one is empty and says so.
    page = await bob.history(chat, cursor=page["next_cursor"], limit=3)
    assert page == {"messages": [], "next_cursor": None}
    page = await bob.history(chat, limit=10)
    assert (len(page["messages"]), page["next_cursor"]) == (6, None)


async def test_a_history_cursor_the_server_did_not_hand_out_is_refused(
    alice: User, chat: int
) -> None:
    for cursor in ("seven", "-1", "1e3", str(2**70)):
        answer = await alice.raw(
            "GET", f"/api/v1/conversations/{chat}/messages", params={"cursor": cursor}
        )
        assert_error(answer, 400, "cursor_invalid")


async def test_history_of_an_empty_conversation(alice: User, chat: int) -> None:
    assert await alice.history(chat) == {"messages": [], "next_cursor": None}


async def test_history_limit_is_bounded(alice: User, chat: int) -> None:
    for limit in (0, 201, 10_001):
        answer = await alice.raw(
            "GET", f"/api/v1/conversations/{chat}/messages", params={"limit": limit}
        )
        assert_error(answer, 400)


async def test_an_outsider_can_neither_read_nor_post(
    alice: User, bob: User, carol: User, chat: int
) -> None:
    await alice.send(chat, "just between us")

    reading = await carol.raw("GET", f"/api/v1/conversations/{chat}/messages")
    posting = await carol.raw(
        "POST", f"/api/v1/conversations/{chat}/messages", json={"text": "hi", "client_id": "x1"}
    )
    details = await carol.raw("GET", f"/api/v1/conversations/{chat}")

    for answer in (reading, posting, details):
        assert_error(answer, 404, "conversation_not_found")
    assert [m["text"] for m in await full_history(bob, chat)] == ["just between us"]


async def test_an_unknown_conversation_looks_the_same_as_someone_elses(
    alice: User, bob: User, carol: User, chat: int
) -> None:
    unknown = await carol.raw("GET", "/api/v1/conversations/987654321/messages")
    not_mine = await carol.raw("GET", f"/api/v1/conversations/{chat}/messages")
    assert_error(unknown, 404, "conversation_not_found")
    assert unknown.json() == not_mine.json()
    posting = await carol.raw(
        "POST", "/api/v1/conversations/987654321/messages", json={"text": "hi", "client_id": "x1"}
    )
    assert_error(posting, 404, "conversation_not_found")


async def test_a_group_message_reaches_every_member(alice: User, bob: User, carol: User) -> None:
    group = await group_of(alice, "Trio", bob, carol)
    sent = await carol.send(group["id"], "hello group")

    for member in (alice, bob, carol):
        events = (await member.sync())["events"]
        assert [e["message"] for e in events if e["type"] == "message"] == [sent]
