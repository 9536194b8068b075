"""Durability: every message acknowledged before a SIGKILL is there after the restart, and
whatever moderation raised (a case, a statement of reasons, a forward's record) is there exactly
when what raised it is."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import BASE_PACK_TEXT, MakeStaff, MakeUser, Server, ServerPool, User
from tests.support import (
    full_history,
    full_sync,
    group_of,
    messages_of,
    public_account,
    query_db,
    review_pack,
)

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
            users = [on_server(user, server) for user in (alice, bob, carol, operator)]
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
            server = servers.start(data_dir=server.data_dir, policy_pack=pack)
        cases = query_db(server.data_dir, "SELECT DISTINCT target_type FROM review_cases")
        assert sorted(cases) == [("message",), ("post",)]  # both were raised, and kept
        assert answered > 0
    finally:
        server.stop()
