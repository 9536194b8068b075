"""The caller's event stream: cursors, paging, and long-polling."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.conftest import User
from tests.support import assert_error, full_sync, group_of, messages_of


@pytest.fixture
async def chat(alice: User, bob: User) -> int:
    return (await alice.open_direct(bob.id))["id"]


async def test_events_come_in_cursor_order_and_next_is_the_last_cursor(
    alice: User, bob: User, chat: int
) -> None:
    sent = [await alice.send(chat, f"m{i}") for i in range(3)]

    page = await bob.sync()

    events = page["events"]
    assert [e["type"] for e in events] == ["conversation", "message", "message", "message"]
    assert events[0]["conversation"]["id"] == chat
    assert messages_of(events) == sent
    cursors = [e["cursor"] for e in events]
    assert cursors == sorted(set(cursors))
    assert page["next"] == cursors[-1]


@pytest.mark.parametrize("limit", [1, 2, 3])
async def test_small_pages_neither_repeat_nor_skip_an_event(
    alice: User, bob: User, chat: int, limit: int
) -> None:
    for i in range(7):
        await (alice if i % 2 else bob).send(chat, f"m{i}")
    everything = (await bob.sync())["events"]

    paged, _ = await full_sync(bob, limit=limit)

    assert paged == everything
    assert len(everything) == 8


async def test_next_never_goes_backwards(alice: User, bob: User, chat: int) -> None:
    since = 0
    for i in range(5):
        await alice.send(chat, f"m{i}")
        page = await bob.sync(since=since)
        assert page["next"] >= since
        assert all(event["cursor"] > since for event in page["events"])
        since = page["next"]
    empty = await bob.sync(since=since)
    assert empty["events"] == []
    assert empty["next"] >= since


async def test_an_empty_answer_may_move_the_cursor_but_misses_nothing_later(
    alice: User, bob: User, carol: User
) -> None:
    _, bob_cursor = await full_sync(bob)
    elsewhere = await group_of(alice, "without bob", carol)
    await alice.send(elsewhere["id"], "bob does not see this")

    quiet = await bob.sync(since=bob_cursor)
    assert quiet["events"] == []
    assert quiet["next"] >= bob_cursor

    chat = (await alice.open_direct(bob.id))["id"]
    sent = await alice.send(chat, "now for bob")
    events, _ = await full_sync(bob, since=quiet["next"])
    assert messages_of(events) == [sent]


async def test_paging_while_messages_are_committed_loses_and_repeats_nothing(
    alice: User, bob: User, chat: int
) -> None:
    async def send_all() -> list[dict]:
        return list(await asyncio.gather(*(alice.send(chat, f"m{i}") for i in range(120))))

    sending = asyncio.create_task(send_all())
    seen: list[dict] = []
    since = 0
    while not sending.done():
        page = await bob.request("GET", "/api/v1/sync", params={"since": since, "limit": 7})
        assert page["next"] >= since
        seen.extend(page["events"])
        since = page["next"]
    sent = await sending
    rest, _ = await full_sync(bob, since=since, limit=7)
    seen.extend(rest)

    cursors = [event["cursor"] for event in seen]
    assert cursors == sorted(set(cursors))
    assert sorted(m["id"] for m in messages_of(seen)) == sorted(m["id"] for m in sent)


async def test_a_long_poll_returns_as_soon_as_a_message_arrives(
    alice: User, bob: User, chat: int
) -> None:
    _, since = await full_sync(bob)
    started = time.monotonic()
    waiting = asyncio.create_task(bob.sync(since=since, timeout=20))
    await asyncio.sleep(0.3)
    assert not waiting.done()

    sent = await alice.send(chat, "wake up")
    page = await asyncio.wait_for(waiting, 10)

    assert time.monotonic() - started < 10
    assert messages_of(page["events"]) == [sent]
    assert page["next"] == page["events"][-1]["cursor"]


async def test_a_long_poll_with_nothing_new_returns_empty_after_the_timeout(
    bob: User, chat: int
) -> None:
    _, since = await full_sync(bob)
    started = time.monotonic()

    page = await bob.sync(since=since, timeout=1)

    elapsed = time.monotonic() - started
    assert page["events"] == []
    assert page["next"] >= since
    assert 0.9 <= elapsed < 5


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"timeout": 61}, "timeout_invalid"),
        ({"timeout": -1}, "invalid_request"),
        ({"timeout": "nan"}, None),
        ({"timeout": "inf"}, None),
        ({"limit": 0}, "limit_invalid"),
        ({"limit": 501}, "limit_invalid"),
        ({"since": -1}, "invalid_request"),
        ({"since": "soon"}, "invalid_request"),
    ],
)
async def test_bad_sync_parameters_are_refused(bob: User, params: dict, code: str | None) -> None:
    answer = await bob.raw("GET", "/api/v1/sync", params=params)
    assert_error(answer, 400, code)
