"""A replay storm costs one replay: a socket's new `resume` supersedes its earlier ones, a user's
replays and everyone's run a few at a time, and other people are answered meanwhile."""

from __future__ import annotations

import asyncio
import time

from tests.api.test_websocket import send_over
from tests.conftest import User
from tests.support import full_sync
from townhall.api.ws import Replays
from townhall.client import LiveSocket

HISTORY = 1200  # three pages of replay


async def test_forty_resumes_replay_the_history_about_once(
    alice: User, bob: User, carol: User
) -> None:
    chat = (await alice.open_direct(bob.id))["id"]
    _, start = await full_sync(bob)
    async with alice.websocket() as alices:
        history = {m["id"] for m in await send_over(alices, chat, HISTORY, "old")}
    async with bob.websocket() as live:
        for _ in range(40):
            await live.send_frame({"type": "resume", "since": start})
        answered_in = []
        received: list[int] = []
        started = time.monotonic()
        while True:
            frame = await next_frame_or_none(live)
            if frame is None:
                break
            if frame["type"] == "message":
                received.append(frame["message"]["id"])
            if len(answered_in) < 3 and time.monotonic() - started > 0.2 * len(answered_in):
                asked = time.monotonic()
                await carol.request("GET", "/api/v1/me")
                answered_in.append(time.monotonic() - asked)
    assert set(received) == history
    assert len(received) <= 2 * HISTORY, f"{len(received)} events for a history of {HISTORY}"
    assert max(answered_in) < 1.0, answered_in


async def next_frame_or_none(live: LiveSocket) -> dict | None:
    try:
        return await asyncio.wait_for(live.receive(), 2)
    except TimeoutError:
        return None


async def test_one_users_replays_wait_for_each_other_and_not_for_others() -> None:
    replays = Replays(per_user=1, in_all=2)
    order: list[str] = []
    first_in = asyncio.Event()
    release = asyncio.Event()

    async def replay(account_id: int, name: str) -> None:
        async with replays.turn(account_id):
            order.append(f"{name} in")
            first_in.set()
            await release.wait()
            order.append(f"{name} out")

    first = asyncio.create_task(replay(1, "first"))
    await first_in.wait()
    second = asyncio.create_task(replay(1, "second"))  # the same user: waits
    other = asyncio.create_task(replay(2, "other"))  # someone else: goes ahead
    await asyncio.sleep(0.05)
    assert order == ["first in", "other in"]
    release.set()
    await asyncio.gather(first, second, other)
    assert order.index("second in") > order.index("first out")
