"""Cursors under load: every cursor sync hands out is one the next request accepts, however the
message writer's commits interleave with the reads, and following them shows each reader every
message once, in order."""

from __future__ import annotations

import asyncio

from tests.services.conftest import World
from townhall.domain.errors import InvalidInput
from townhall.services.principal import Principal

PAIRS = 10
MESSAGES_PER_SENDER = 60
ENOUGH_ROUNDS = 2_000


async def test_a_cursor_handed_out_while_messages_commit_is_always_accepted(world: World) -> None:
    people = [await world.person(f"user{i}") for i in range(2 * PAIRS)]
    pairs = [(people[i], people[i + 1]) for i in range(0, len(people), 2)]
    chats = [(await world.messaging.open_direct(a, b.account_id))[0].id for a, b in pairs]
    sent: dict[int, list[int]] = {chat: [] for chat in chats}
    writing = True
    rounds = 0
    refusals: list[str] = []

    async def write(sender: Principal, chat: int) -> None:
        """Send until both this sender's share and the readers' rounds are done."""
        n = 0
        while n < MESSAGES_PER_SENDER or rounds < ENOUGH_ROUNDS:
            appended = await world.messaging.send(sender, chat, text=f"m{n}", client_id=f"c{n}")
            sent[chat].append(appended.message.id)
            n += 1

    async def read(reader: Principal, chat: int) -> list[int]:
        """Follow the reader's stream from its start, one cursor after another, as a client
        does, until the writers are done and the stream is drained."""
        nonlocal rounds
        cursor, seen = 0, []
        while True:
            draining = not writing
            try:
                events, cursor = await world.sync.events_since(reader, cursor, limit=7)
            except InvalidInput as refused:
                refusals.append(refused.code)
                events = []
            rounds += 1
            seen += [e["message"]["id"] for e in events if e["type"] == "message"]
            if draining and not events:
                return seen
            await asyncio.sleep(0)  # let the writer's commits land between rounds

    readers = [
        asyncio.create_task(read(person, chat))
        for pair, chat in zip(pairs, chats, strict=True)
        for person in pair
    ]
    await asyncio.gather(*(write(a, chat) for (a, _), chat in zip(pairs, chats, strict=True)))
    writing = False
    seen = await asyncio.gather(*readers)

    assert refusals == []
    expected = [sent[chat] for chat in chats for _ in range(2)]
    assert seen == expected  # every message once, in order, for sender and recipient alike
