"""Durability: every message acknowledged before a SIGKILL is there after the restart, and
whatever moderation raised (a case, a statement of reasons, a forward's record) is there exactly
when what raised it is."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import (
    BASE_PACK_TEXT,
    MakeStaff,
    MakeUser,
    Server,
    ServerPool,
    User,
    moved,
)
from tests.support import (
    drill_scale,
    full_history,
    full_sync,
    group_of,
    messages_of,
    public_account,
    query_db,
    review_pack,
    send_until_killed,
)
from townhall.client import LiveSocket

pytestmark = pytest.mark.long  # among the longest modules: scheduled first (conftest.py)

KILLS = drill_scale(short=1, long=20)
SENDERS = ("alice", "bob", "carol")


@pytest.mark.slow
@pytest.mark.drill
async def test_acknowledged_messages_survive_kill_after_kill(
    servers: ServerPool, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    """Round after round, three clients send a burst over their sockets and a reviewer reads
    the review queue (an audit row each time) until the server gets a SIGKILL at a random
    number of acknowledgements; then the killed data dir is checked (`townhall audit verify`,
    SQLite's integrity and foreign key checks) and a server restarted on it must hold every
    acknowledged message exactly once, in order, and recognize a resend."""
    server = servers.start()
    senders = [await make_user(name, on=server) for name in SENDERS]
    reviewer = await make_staff("reviewer", on=server)
    chat = (await group_of(senders[0], "演习", *senders[1:]))["id"]
    first = await senders[0].send(chat, "the first, reported: a case to read")
    await senders[1].report("message", first["id"], "other")
    acked: dict[str, dict[str, Any]] = {first["client_id"]: first}
    rng = random.Random(14)
    stored_before = 1
    try:
        for round_number in range(1, KILLS + 1):
            started = time.monotonic()
            kill_at = rng.randint(100, 600)
            clients = [moved(user, server) for user in (*senders, reviewer)]
            burst, reads = await burst_until_killed(
                server, clients[:-1], clients[-1], chat, round_number, kill_at
            )
            for client in clients:
                await client.aclose()
            verified = server.cli("audit", "verify")
            assert verified.returncode == 0, verified.stderr
            assert database_problems(server.data_dir) == []
            restart = time.monotonic()
            server = servers.start(data_dir=server.data_dir)
            restarted_in = time.monotonic() - restart
            acked |= burst
            last = max(burst.values(), key=lambda message: message["seq"])
            sender = next(user for user in senders if user.id == last["sender_id"])
            async with moved(sender, server) as client:
                stored = await assert_held_exactly_once(client, chat, acked)
                # The last acknowledged before the kill, sent again: recognized, not stored twice.
                assert await client.send(chat, last["text"], last["client_id"]) == last
            print(
                f"kill round {round_number}/{KILLS}: killed at {len(burst)} acks "
                f"(aimed at {kill_at}), {stored - stored_before - len(burst)} stored without an "
                f"ack, {reads} audited reads; {stored} messages in all, restarted in "
                f"{restarted_in:.1f} s, "
                f"{verified.stdout.strip()}; round {time.monotonic() - started:.1f} s"
            )
            stored_before = stored
    finally:
        server.stop()


async def burst_until_killed(
    server: Server, senders: list[User], reader: User, chat: int, round_number: int, kill_at: int
) -> tuple[dict[str, dict[str, Any]], int]:
    """Each sender sends as fast as its socket takes, and the reader reads the review queue,
    until `kill_at` sends are acknowledged in all: then SIGKILL, no shutdown, no flush. Returns
    the acknowledged messages by client id and how many reads were answered."""
    acked: dict[str, dict[str, Any]] = {}

    async def send_and_collect(live: LiveSocket, name: str) -> None:
        burst = ((f"{name} {i}", f"r{round_number}-{name}-{i}") for i in itertools.count())
        await send_until_killed(server.process.kill, live, chat, burst, acked, kill_at=kill_at)

    async with contextlib.AsyncExitStack() as sockets:
        lives = [await sockets.enter_async_context(user.websocket()) for user in senders]
        reading = asyncio.create_task(
            keep_going(lambda _: reader.request("GET", "/api/v1/admin/review/cases"))
        )
        await asyncio.wait_for(
            asyncio.gather(*map(send_and_collect, lives, (u.handle for u in senders))), 60
        )
        reads = await reading
    assert server.process.wait(10) == -9
    assert len(acked) >= kill_at
    return acked, reads


async def assert_held_exactly_once(user: User, chat: int, acked: dict[str, dict[str, Any]]) -> int:
    """Every acknowledged message is in the history as acknowledged, once; the history is
    numbered without gaps and its sync says the same. Returns how many messages it holds."""
    history = await full_history(user, chat)
    stored = {message["client_id"]: message for message in history}
    assert len(stored) == len(history)  # no client_id stored twice
    assert len({m["id"] for m in history}) == len(history)
    missing_or_changed = [cid for cid, m in acked.items() if stored.get(cid) != m]
    assert missing_or_changed == []
    assert [m["seq"] for m in history] == list(range(1, len(history) + 1))
    events, _ = await full_sync(user)
    assert [m for m in messages_of(events) if m["conversation_id"] == chat] == history
    return len(history)


def database_problems(data_dir: Path) -> list[tuple[Any, ...]]:
    """What SQLite's own checks find wrong with the database: nothing, when it is whole."""
    with contextlib.closing(sqlite3.connect(data_dir / "townhall.db")) as db:
        integrity = db.execute("PRAGMA integrity_check").fetchall()
        foreign_keys = db.execute("PRAGMA foreign_key_check").fetchall()
    return [row for row in integrity if row != ("ok",)] + foreign_keys


# What moderation raised survives with what raised it ------------------------------------------

KILL_ROUNDS = 3
HELD_OR_FLAGGED = ("百家乐", "造谣")  # medium: held in direct chats and posts; low: flagged


def crash_pack(root: Path) -> str:
    """The review tests' pack (a medium match in a direct chat is held) with room for a burst
    of posts: a service account may publish 100,000 a month."""
    review = Path(review_pack(root, BASE_PACK_TEXT))
    quota = "[public_accounts.broadcast_quota.service]\nposts = 4\n"
    text = review.read_text(encoding="utf-8")
    assert text.count(quota) == 1
    path = review.with_name("crash.toml")
    path.write_text(text.replace(quota, quota.replace("= 4", "= 100000")), encoding="utf-8")
    return str(path)


async def keep_going(make: Callable[[int], Awaitable[object]]) -> int:
    """Call `make(n)` for n = 0, 1, … until the server is gone; returns how many answered."""
    n = 0
    with contextlib.suppress(httpx.HTTPError, OSError):
        while True:
            await make(n)
            n += 1
    return n


def unmatched(data_dir: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Whatever breaks 'every held or flagged item has its case and statement of reasons, every
    case and statement its item, every message carrying a post its forward': none, when the
    database is whole."""
    terms = tuple(f"%{term}%" for term in HELD_OR_FLAGGED)
    found = {what: query_db(data_dir, sql, *terms) for what, sql in UNMATCHED_SCREENED.items()}
    found |= {what: query_db(data_dir, sql) for what, sql in UNMATCHED.items()}
    return {what: rows for what, rows in found.items() if rows}


UNMATCHED_SCREENED = {
    "message without its case or statement": """
        SELECT id, text FROM messages m WHERE (m.text LIKE ? OR m.text LIKE ?) AND NOT (
            EXISTS (SELECT 1 FROM review_cases c
                    WHERE c.target_type = 'message' AND c.target_id = m.id)
            AND EXISTS (SELECT 1 FROM moderation_statements s
                        WHERE s.subject_type = 'message' AND s.subject_id = m.id))""",
    "post without its case or statement": """
        SELECT id, title FROM posts p WHERE (p.title LIKE ? OR p.title LIKE ?) AND NOT (
            EXISTS (SELECT 1 FROM review_cases c
                    WHERE c.target_type = 'post' AND c.target_id = p.id)
            AND EXISTS (SELECT 1 FROM moderation_statements s
                        WHERE s.subject_type = 'post' AND s.subject_id = p.id))""",
}
UNMATCHED = {
    "case without its item": """
        SELECT id, target_type, target_id FROM review_cases c
        WHERE NOT EXISTS (SELECT 1 FROM messages m
                          WHERE c.target_type = 'message' AND m.id = c.target_id)
        AND NOT EXISTS (SELECT 1 FROM posts p WHERE c.target_type = 'post' AND p.id = c.target_id)
        """,
    "statement without its case": """
        SELECT id, subject_type, subject_id FROM moderation_statements s
        WHERE s.subject_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM review_cases c
            WHERE c.target_type = s.subject_type AND c.target_id = s.subject_id)""",
    "message carrying a post without its forward": """
        SELECT id FROM messages m WHERE m.attachment IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM forwards f WHERE f.message_id = m.id)""",
}


def bursts(
    alice: User, bob: User, carol: User, operator: User, ids: dict[str, int]
) -> list[Callable[[int], Awaitable[object]]]:
    """Sends and posts the check holds or flags, mixed with plain ones and forwards."""

    def chat(user: User, conversation: str, text: str) -> Callable[[int], Awaitable[object]]:
        return lambda n: user.send(ids[conversation], f"{text} {n} {uuid.uuid4().hex[:6]}")

    def posts(text: str) -> Callable[[int], Awaitable[object]]:
        return lambda n: operator.publish(ids["account"], f"{text}{n}", f"正文 {text}")

    return [
        chat(alice, "direct", "今晚百家乐"),  # held
        chat(bob, "group", "有人造谣"),  # flagged
        chat(carol, "group", "你好"),  # allowed, in the same batches
        lambda n: bob.forward(ids["source"], ids["group"]),  # a message and its forward
        posts("百家乐"),  # held
        posts("造谣"),  # flagged
    ]


@pytest.mark.slow
async def test_what_moderation_raised_commits_with_what_raised_it_whenever_the_server_dies(
    servers: ServerPool, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    pack = crash_pack(servers.root)
    server = servers.start(policy_pack=pack)
    alice, bob, carol = [await make_user(name, on=server) for name in ("alice", "bob", "carol")]
    operator = await make_user("operator", on=server)
    reviewer = await make_staff("reviewer", on=server)
    account = (await public_account(operator, reviewer, account_type="service"))["id"]
    ids = {
        "account": account,
        "direct": (await alice.open_direct(bob.id))["id"],
        "group": (await group_of(alice, "茶友", bob, carol))["id"],
        "source": (await operator.publish(account, "春茶", "春茶上市"))["id"],
    }
    rng = random.Random(13)
    answered = 0
    try:
        for _ in range(KILL_ROUNDS):
            users = [moved(user, server) for user in (alice, bob, carol, operator)]
            work = [
                asyncio.create_task(keep_going(burst))
                for burst in bursts(*users, ids)
                for _ in range(3)
            ]
            await asyncio.sleep(rng.uniform(0.3, 1.5))
            server.process.kill()  # SIGKILL, wherever it is
            answered += sum(await asyncio.gather(*work))
            assert server.process.wait(10) == -9
            for user in users:
                await user.aclose()
            assert unmatched(server.data_dir) == {}
            assert database_problems(server.data_dir) == []
            server = servers.start(data_dir=server.data_dir, policy_pack=pack)
        cases = query_db(server.data_dir, "SELECT DISTINCT target_type FROM review_cases")
        assert sorted(cases) == [("message",), ("post",)]  # both were raised, and kept
        assert answered > 0
    finally:
        server.stop()
