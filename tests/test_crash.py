"""Durability: every message acknowledged before a SIGKILL is there after the restart."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import MakeUser, Server, ServerPool, User
from tests.support import full_history, full_sync, messages_of

ACKS_BEFORE_KILL = 300


def on_server(user: User, server: Server) -> User:
    """The same account and session, talking to another server process."""
    moved = User(server.base_url, user_id=user.id, handle=user.handle, password=user.password)
    moved.token = user.token
    return moved


@pytest.mark.slow
async def test_acknowledged_messages_survive_a_kill(
    fresh_server: Server, servers: ServerPool, make_user: MakeUser
) -> None:
    alice = await make_user("alice", on=fresh_server)
    bob = await make_user("bob", on=fresh_server)
    chat = (await alice.open_direct(bob.id))["id"]
    acked: dict[str, dict[str, Any]] = {}
    killed = asyncio.Event()

    async with alice.websocket() as live:

        async def send_as_fast_as_possible() -> None:
            i = 0
            with contextlib.suppress(ConnectionClosed):
                while not killed.is_set():
                    await live.send_message(chat, f"message {i}", f"crash-{i}")
                    i += 1

        async def collect_acks_then_kill() -> None:
            with contextlib.suppress(ConnectionClosed):
                while True:
                    frame = await live.receive()
                    assert frame["type"] == "ack", frame
                    acked[frame["client_id"]] = frame["message"]
                    if len(acked) == ACKS_BEFORE_KILL:
                        fresh_server.process.kill()  # SIGKILL: no shutdown, no flush
                        killed.set()

        await asyncio.wait_for(
            asyncio.gather(send_as_fast_as_possible(), collect_acks_then_kill()), 60
        )
    assert fresh_server.process.wait(10) == -9

    restarted = servers.start(data_dir=fresh_server.data_dir)
    try:
        async with (
            on_server(bob, restarted) as bob_again,
            on_server(alice, restarted) as alice_again,
        ):
            history = await full_history(bob_again, chat)
            events, _ = await full_sync(bob_again)

            stored = {message["client_id"]: message for message in history}
            assert len(stored) == len(history)  # no client_id stored twice
            assert len(acked) >= ACKS_BEFORE_KILL
            for client_id, message in acked.items():
                assert stored.get(client_id) == message
            assert [m["seq"] for m in history] == list(range(1, len(history) + 1))
            assert len({m["id"] for m in history}) == len(history)
            assert messages_of(events) == history

            # Sending goes on where it stopped, and a resend after the crash is recognized.
            resent = await alice_again.send(chat, "message 0", "crash-0")
            assert resent == acked["crash-0"]
            after = await alice_again.send(chat, "after the restart")
            assert after["seq"] == len(history) + 1
            assert after["id"] > max(m["id"] for m in history)
    finally:
        restarted.stop()
