"""PostgreSQL goes away under a running server and comes back: requests that need it get 503
`database_unavailable` with Retry-After, quickly, never a 500 or a hung request, nothing of them
is written, and the server serves again by itself once the database answers.

The database is reached through a TCP relay this test cuts and restores: the machine's
PostgreSQL serves other tests meanwhile and stays up."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import MakeUser, Server, ServerPool, User, moved
from tests.databases import PostgresDatabases, postgresql_only
from tests.relay import Relay
from tests.support import assert_error, full_history, full_sync, messages_of, send

pytestmark = postgresql_only

OUTAGE_ANSWER_SECONDS = 8.0  # connecting gives up after 5 s (store/database.py)
RECOVERY_SECONDS = 15.0


@pytest.fixture
def relay() -> Iterator[Relay]:
    relay = Relay(("127.0.0.1", 5432))
    yield relay
    relay.cut()


@pytest.fixture
def relayed_server(
    servers: ServerPool, postgres_databases: PostgresDatabases, relay: Relay
) -> Iterator[Server]:
    url = postgres_databases.fresh().replace(":5432/", f":{relay.port}/")
    server = servers.start(database_url=url)
    yield server
    server.stop()


async def test_a_database_outage_is_503_with_retry_after_and_passes_by_itself(
    relayed_server: Server, relay: Relay, servers: ServerPool, make_user: MakeUser
) -> None:
    alice = await make_user("alice", on=relayed_server)
    bob = await make_user("bob", on=relayed_server)
    chat = await alice.open_direct(bob.id)
    await alice.send(chat["id"], "before", client_id=str(uuid.uuid4()))

    relay.cut()
    lost = str(uuid.uuid4())
    for method, path, body in (
        ("POST", f"/api/v1/conversations/{chat['id']}/messages", {"text": "x", "client_id": lost}),
        ("GET", f"/api/v1/conversations/{chat['id']}/messages", None),
        ("GET", "/api/v1/sync?since=0", None),
    ):
        started = time.monotonic()
        answer = await alice.raw(method, path, json=body)
        assert time.monotonic() - started < OUTAGE_ANSWER_SECONDS, (method, path)
        assert_error(answer, 503, "database_unavailable")
        assert answer.headers["Retry-After"] == "5"
    ready = httpx.get(f"{relayed_server.base_url}/readyz", timeout=OUTAGE_ANSWER_SECONDS)
    assert ready.status_code == 503

    relay.restore()
    deadline = time.monotonic() + RECOVERY_SECONDS
    while (answer := await send(alice, chat["id"], "after")).status_code != 201:
        assert_error(answer, 503, "database_unavailable")
        assert time.monotonic() < deadline, "the database was back, the server was not"
    assert answer.status_code == 201, answer.text
    assert [m["text"] for m in await full_history(bob, chat["id"])] == ["before", "after"]
    assert not any(level == "error" for level, _ in relayed_server.logged("townhall.api.errors"))
    await read_what_another_process_commits(relayed_server, relay, servers, alice, bob, chat["id"])


async def read_what_another_process_commits(
    relayed: Server, relay: Relay, servers: ServerPool, sender: User, reader: User, chat_id: int
) -> None:
    """The listener for positions reconnected as well: a message another process commits
    reaches a reader of the relayed one, which otherwise would not read past its own commits."""
    direct = relayed.env["TOWNHALL_DATABASE_URL"].replace(f":{relay.port}/", ":5432/")
    other = servers.start(data_dir=relayed.data_dir, database_url=direct)
    try:
        _, cursor = await full_sync(reader)
        await moved(sender, other).send(chat_id, "from another process")
        deadline = time.monotonic() + RECOVERY_SECONDS
        while not messages_of((await full_sync(reader, cursor))[0]):
            assert time.monotonic() < deadline, "the relayed server never heard the commit"
            await asyncio.sleep(0.1)
    finally:
        other.stop()
