"""Two `townhall serve` processes on one PostgreSQL database and one Redis, as behind a load
balancer: users on different processes chat live, a logout or a sanction on one takes effect on
the other within a second, and a process killed mid-burst loses nothing its clients were told
was stored."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.api.test_metrics import scrape, value
from tests.conftest import MakeStaff, MakeUser, Server, ServerPool, User, moved
from tests.databases import postgresql_only
from tests.redis_here import drop_connections, redis_url, unique_prefix
from tests.support import (
    applied,
    assert_error,
    full_history,
    full_sync,
    group_of,
    messages_of,
    send,
    send_until_killed,
    sent,
)
from townhall.client import LiveSocket

pytestmark = postgresql_only

WITHIN_SECONDS = 1.0
BURST = 400


@pytest.fixture(scope="module")
def pair(servers: ServerPool) -> Iterator[tuple[Server, Server]]:
    """Two processes sharing a data dir (its keys), the database and a Redis prefix of their
    own, as `townhall serve --workers 2` runs them."""
    bus = {"bus_url": redis_url(), "bus_prefix": unique_prefix()}
    first = servers.start(**bus)
    second = servers.start(data_dir=first.data_dir, **bus)
    yield first, second
    first.stop()
    second.stop()


async def test_users_on_two_processes_chat_live(
    pair: tuple[Server, Server], make_user: MakeUser
) -> None:
    first, second = pair
    alice = await make_user("alice", on=first)
    bob = moved(await make_user("bob", on=first), second)
    chat = (await alice.open_direct(bob.id))["id"]
    async with alice.websocket() as alice_live, bob.websocket() as bob_live:
        sent = await alice_live.send_message(chat, "你好, from the first")
        pushed = await within(bob_live.receive_until("message"))
        assert (pushed["message"]["client_id"], pushed["message"]["text"]) == (
            sent,
            "你好, from the first",
        )
        await bob_live.send_message(chat, "hello, from the second")
        pushed = await within(until_text(alice_live, "hello, from the second"))
        assert pushed["message"]["sender_id"] == bob.id
    texts = [m["text"] for m in await full_history(bob, chat)]
    assert texts == ["你好, from the first", "hello, from the second"]


async def test_a_logout_on_one_process_ends_the_session_on_the_other_within_a_second(
    pair: tuple[Server, Server], make_user: MakeUser
) -> None:
    first, second = pair
    alice = await make_user("alice", on=first)
    there = moved(alice, second)
    async with there.websocket() as live:
        assert (await there.raw("GET", "/api/v1/me")).status_code == 200  # cached there now
        await alice.log_out()
        started = time.monotonic()
        assert (await within(live.receive_until("signed_out")))["type"] == "signed_out"
        with pytest.raises(ConnectionClosed):
            await within(live.receive())
        assert live.connection.close_code == 4401
    assert_error(await there.raw("GET", "/api/v1/me"), 401)
    assert time.monotonic() - started < WITHIN_SECONDS * 2


async def test_a_password_change_on_one_process_ends_the_other_sessions_on_the_other(
    pair: tuple[Server, Server], make_user: MakeUser
) -> None:
    first, second = pair
    alice = await make_user("alice", on=first)
    phone = await signed_in_again_on(alice, second)
    async with phone.websocket() as live:
        assert (await phone.raw("GET", "/api/v1/me")).status_code == 200  # cached there now
        password = {"current_password": alice.password, "new_password": "a brand new password"}
        assert (await alice.raw("POST", "/api/v1/me/password", json=password)).status_code == 204
        started = time.monotonic()
        assert (await within(live.receive_until("signed_out")))["type"] == "signed_out"
        with pytest.raises(ConnectionClosed):
            await within(live.receive())
        assert live.connection.close_code == 4401
    assert_error(await phone.raw("GET", "/api/v1/me"), 401, "token_revoked")
    assert time.monotonic() - started < WITHIN_SECONDS * 2
    assert (await alice.raw("GET", "/api/v1/me")).status_code == 200


async def signed_in_again_on(user: User, server: Server) -> User:
    """Another session of `user`'s, opened on `server`."""
    device = moved(user, server)
    await device.log_in(user.handle, user.password)
    return device


async def test_a_sanction_on_one_process_stops_sends_on_the_other_within_a_second(
    pair: tuple[Server, Server], make_user: MakeUser, make_staff: MakeStaff
) -> None:
    first, second = pair
    alice = await make_user("alice", on=first)
    bob = await make_user("bob", on=first)
    admin = await make_staff("admin", on=first)
    chat = (await alice.open_direct(bob.id))["id"]
    there = moved(alice, second)
    await there.send(chat, "before: standing cached on the second process")
    await applied(admin, "user", alice.id, "close", reason="a fraud ring")
    assert_error(await first_refusal(there, chat, "after"), 403, "account_closed")


async def test_a_lexicon_term_added_on_one_process_blocks_on_the_other_within_a_second(
    pair: tuple[Server, Server], make_user: MakeUser, make_staff: MakeStaff
) -> None:
    first, second = pair
    alice = moved(await make_user("alice", on=first), second)
    bob = await make_user("bob", on=first)
    admin = await make_staff("admin", on=first)
    chat = (await alice.open_direct(bob.id))["id"]
    letters = "".join(chr(ord("g") + int(digit, 16)) for digit in uuid.uuid4().hex[:8])
    term = f"scamcoin{letters}"
    await sent(alice, chat, f"buy {term}")
    body = {"text": term, "category": "fraud", "severity": "high"}
    assert (await admin.raw("POST", "/api/v1/admin/lexicon/terms", json=body)).status_code == 201
    assert_error(await first_refusal(alice, chat, f"buy {term} now"), 422, "content_blocked")


async def test_redis_lost_mid_load_loses_no_message_and_no_timed_work(
    pair: tuple[Server, Server], make_user: MakeUser, make_staff: MakeStaff
) -> None:
    """Both processes' Redis connections are dropped, as a restart of Redis would, while Alice
    sends and a timed sanction falls due: every send is stored, the sanction ends on time (the
    timed work needs only PostgreSQL), and live pushes reach the other process again."""
    first, second = pair
    alice = await make_user("alice", on=first)
    bob = moved(await make_user("bob", on=first), second)
    reviewer = await make_staff("reviewer", on=first)
    chat = (await alice.open_direct(bob.id))["id"]
    group = (await group_of(alice, "茶话会", await make_user("carol", on=first)))["id"]
    ends_at = datetime.now(UTC) + timedelta(seconds=3)
    limit = await applied(
        reviewer, "user", alice.id, "limit_publication", ends_at=ends_at.isoformat()
    )
    sent = [await alice.send(chat, f"before {i}") for i in range(20)]
    assert drop_connections(f"{first.env['TOWNHALL_BUS_PREFIX']}bus") >= 2
    sent += [await alice.send(chat, f"during {i}") for i in range(20)]
    deadline = time.monotonic() + 15
    while (shown := await reviewer.request("GET", f"/api/v1/admin/sanctions/{limit['id']}"))[
        "state"
    ] != "expired":
        assert time.monotonic() < deadline, "the timed sanction did not end"
        await asyncio.sleep(0.2)
    assert (await alice.send(group, "the limit is over")) is not None
    async with bob.websocket() as live:
        deadline = time.monotonic() + 10
        while True:  # once the bus follows its channels again, pushes cross processes
            text = f"after {uuid.uuid4()}"
            await alice.send(chat, text)
            with contextlib.suppress(TimeoutError):
                await within(until_text(live, text), 1.0)
                break
            assert time.monotonic() < deadline, "pushes did not come back"
    assert shown["state"] == "expired"
    stored = [m["client_id"] for m in await full_history(bob, chat)]
    assert stored[: len(sent)] == [m["client_id"] for m in sent]
    for server in pair:  # what an operator's alert watches
        assert value(await scrape(server), "townhall_bus_connected") == 1


async def test_a_process_killed_mid_burst_loses_no_acknowledged_message(
    servers: ServerPool, pair: tuple[Server, Server], make_user: MakeUser
) -> None:
    """Alice sends a burst over a socket to a process of its own, which gets a SIGKILL half
    way; she resumes on the other process, resending everything; Bob, following by cursor on
    the other process, gets every message once, in the history's order, and the history is
    numbered without gaps."""
    survivor = pair[1]
    victim = servers.start(
        data_dir=pair[0].data_dir, **{k: survivor.env[k] for k in BUS_SETTINGS}
    )  # its own process, so that killing it leaves the pair for the other tests
    alice = await make_user("alice", on=victim)
    bob = moved(await make_user("bob", on=survivor), survivor)
    chat = (await alice.open_direct(bob.id))["id"]
    _, cursor = await full_sync(bob)
    client_ids = [f"burst-{i}" for i in range(BURST)]

    acked: dict[str, dict[str, Any]] = {}
    async with alice.websocket() as live:
        burst = ((client_id, client_id) for client_id in client_ids)  # the text is the id
        await send_until_killed(victim.process.kill, live, chat, burst, acked, kill_at=BURST // 2)
    assert victim.process.wait(10) == -9
    assert len(acked) >= BURST // 2

    resumed = moved(alice, survivor)
    for client_id in client_ids:  # resend everything: a stored one is recognized
        message = await resumed.send(chat, client_id, client_id)
        if client_id in acked:
            assert message == acked[client_id]
    history = await full_history(bob, chat)
    stored = [m["client_id"] for m in history]
    # Sends in flight together over one socket are stored in the order they are checked, not
    # always the order sent: each once is what counts.
    assert sorted(stored) == sorted(client_ids)
    assert [m["seq"] for m in history] == list(range(1, BURST + 1))
    events, _ = await full_sync(bob, since=cursor)
    assert [m["client_id"] for m in messages_of(events)] == stored


BUS_SETTINGS = ("TOWNHALL_BUS_URL", "TOWNHALL_BUS_PREFIX")


async def first_refusal(user: User, chat: int, text: str) -> httpx.Response:
    """Send `text` until a send is refused, which must come within a second."""
    started = time.monotonic()
    while (answer := await send(user, chat, text)).status_code == 201:
        assert time.monotonic() - started < WITHIN_SECONDS, "still sending a second later"
    return answer


async def within(waiting: Any, seconds: float = WITHIN_SECONDS) -> Any:
    return await asyncio.wait_for(waiting, seconds)


async def until_text(live: LiveSocket, text: str) -> dict[str, Any]:
    while True:
        frame = await live.receive_until("message")
        if frame["message"]["text"] == text:
            return frame
