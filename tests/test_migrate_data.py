"""`townhall migrate-data`: a single-node installation's SQLite database copied into PostgreSQL,
where a server then carries on as if nothing happened: the same logins, history, sync cursors,
sealed identities and audit chain, and new ids and positions above the copied ones."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import (
    CLI,
    PASSWORD,
    MakeStaff,
    MakeUser,
    Server,
    ServerPool,
    User,
    fresh_identity,
    moved,
)
from tests.databases import PostgresDatabases, on_postgresql, query_postgres
from tests.support import full_history, full_sync, group_of, public_account, query_db, sent, tagged
from tests.test_key_rotation import reveal
from tests.test_migrations import OLDER, database_at
from townhall.client import TownhallClient

pytestmark = pytest.mark.skipif(
    not on_postgresql(),
    reason="copies SQLite into PostgreSQL, so it needs both: it runs once, in the PostgreSQL run",
)
MESSAGES = 300


def migrate_data(source: Path, target_url: str) -> subprocess.CompletedProcess[str]:
    return CLI.run(
        ["migrate-data", "--from", f"sqlite:///{source}", "--to", target_url],
        env=dict(os.environ),
        timeout=300,
    )


def sqlite_server(servers: ServerPool, tmp_path: Path) -> Server:
    """A single-node server on its own SQLite file, even in the PostgreSQL run."""
    data_dir = tmp_path / "single-node" / "data"
    data_dir.mkdir(parents=True, mode=0o700)
    return servers.start(data_dir=data_dir)


async def test_a_copied_installation_carries_on_on_postgresql(
    servers: ServerPool,
    postgres_databases: PostgresDatabases,
    tmp_path: Path,
    make_user: MakeUser,
    make_staff: MakeStaff,
) -> None:
    old = sqlite_server(servers, tmp_path)
    identity = fresh_identity(legal_name="欧阳娜娜")
    alice = await make_user("alice", on=old, identity=identity)
    bob = await make_user("bob", on=old)
    reviewer = await make_staff("reviewer", on=old)
    operator = await make_user("operator", on=old)
    account = await public_account(operator, reviewer)  # a staff decision: audit rows
    await alice.subscribe(account["id"])
    post = await operator.publish(account["id"], "读书笔记", tagged("第一章"))
    group = await group_of(alice, "读书会", bob)
    for first in range(0, MESSAGES, 50):
        await asyncio.gather(
            *(
                sent(alice if n % 2 else bob, group["id"], f"第{n}条")
                for n in range(first, first + 50)
            )
        )
    await alice.forward(post["id"], group["id"])
    assert await reveal(reviewer, alice.id) == identity  # an identity access, audited
    history = await full_history(alice, group["id"])
    events, cursor = await full_sync(alice)
    timeline = await alice.timeline()
    old.stop()

    target = postgres_databases.empty()
    started = time.monotonic()
    copied = migrate_data(old.data_dir / "townhall.db", target)
    seconds = time.monotonic() - started
    assert copied.returncode == 0, copied.stdout + copied.stderr
    said = " ".join(copied.stdout.split())  # rich wraps lines at the terminal's width
    assert "what a running server writes after it is not copied" in said
    assert "verified: every table holds as many rows as the source's snapshot" in said
    rate = re.search(r"([\d,]+) rows in ([\d.]+) s \(([\d,]+) rows/s\)", said)
    assert rate, said
    print(f"migrate-data: {rate[0]}; the whole command {seconds:.1f} s")

    new = servers.start(data_dir=old.data_dir, database_url=target)
    try:
        async with TownhallClient(new.base_url) as again:
            await again.log_in(alice.handle, PASSWORD)  # the password hash came along
            assert await full_history(again, group["id"]) == history
            assert await full_sync(again) == (events, cursor)
            assert await again.timeline() == timeline
            # The search index is made again on PostgreSQL as the rows arrive.
            found = await again.request("GET", "/api/v1/search/messages", params={"q": "第7条"})
            assert [hit["text"] for hit in found["messages"]] == ["第7条"]
            found = await again.request("GET", "/api/v1/search/posts", params={"q": "读书笔记"})
            assert post["id"] in [hit["id"] for hit in found["posts"]]
            found = await again.request(
                "GET", "/api/v1/search/public-accounts", params={"q": account["name"]}
            )
            assert [hit["id"] for hit in found["public_accounts"]] == [account["id"]]
            async with moved(bob, new) as bob_again:  # his session came along too
                newer = await sent(bob_again, group["id"], "搬家以后")
            assert newer["seq"] == history[-1]["seq"] + 1
            assert newer["id"] > max(message["id"] for message in history)
            later, next_cursor = await full_sync(again, since=cursor)
            assert [event["message"]["id"] for event in later] == [newer["id"]]
            assert next_cursor > cursor
        audit = new.cli("audit", "verify")
        assert audit.returncode == 0, audit.stdout + audit.stderr
        async with moved(reviewer, new) as staff:  # the same keys open the copied sealed rows
            assert await reveal(staff, alice.id) == identity
        newcomer = await make_user("newcomer", on=new, confirm_phone=False)
        assert newcomer.id > operator.id  # the accounts' id sequence starts above the copied
    finally:
        new.stop()


async def test_a_target_that_holds_rows_is_refused(
    postgres_databases: PostgresDatabases, tmp_path: Path
) -> None:
    source = database_at(tmp_path / "data", "head")
    target = postgres_databases.fresh()
    query_postgres(target, "INSERT INTO readiness_probes (node, probed_at) VALUES (?, ?)", ("a", 1))

    refused = migrate_data(source, target)

    assert refused.returncode == 1
    assert "the target is not empty (table readiness_probes holds rows)" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert query_postgres(target, "SELECT count(*) FROM accounts", ()) == [(0,)]


async def test_a_source_at_an_older_schema_is_refused(
    postgres_databases: PostgresDatabases, tmp_path: Path
) -> None:
    source = database_at(tmp_path / "data", OLDER)
    target = postgres_databases.empty()

    refused = migrate_data(source, target)

    assert refused.returncode == 1
    said = " ".join(refused.stderr.split())
    assert f"the source is at schema {OLDER}" in said
    assert "`townhall migrate`" in said
    assert query_postgres(target, "SELECT to_regclass('accounts')", ()) == [(None,)]


def test_a_missing_source_is_refused_and_not_made(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "townhall.db"

    refused = migrate_data(missing, "postgresql://postgres@127.0.0.1/never_touched")

    assert refused.returncode == 1
    assert f"there is no SQLite database at {missing}" in refused.stderr
    assert not missing.exists()


async def test_a_copy_beside_a_running_server_is_one_snapshot(
    servers: ServerPool, postgres_databases: PostgresDatabases, tmp_path: Path, make_user: MakeUser
) -> None:
    """Senders go on while the copy runs: the target holds every message acknowledged before it
    began, none never acknowledged, each with its seq in an unbroken run and with every one of
    its stream rows: one moment of the source, not tables read at different times."""
    old = sqlite_server(servers, tmp_path)
    senders = [await make_user(f"sender{n}", on=old) for n in range(4)]
    group = (await group_of(senders[0], "读书会", *senders[1:]))["id"]
    acknowledged: set[int] = set()
    stop = asyncio.Event()

    async def keep_sending(sender: User) -> None:
        while not stop.is_set():
            acknowledged.add((await sent(sender, group, tagged("在路上")))["id"])

    sending = [asyncio.create_task(keep_sending(sender)) for sender in senders]
    try:
        await asyncio.sleep(2)
        before = set(acknowledged)
        target = postgres_databases.empty()
        copied = await asyncio.to_thread(migrate_data, old.data_dir / "townhall.db", target)
        during = len(acknowledged) - len(before)
    finally:
        stop.set()
        await asyncio.gather(*sending)
    old.stop()

    assert copied.returncode == 0, copied.stdout + copied.stderr
    assert during > 0, "the server took no message while the copy ran"
    in_target = {id_ for (id_,) in query_postgres(target, "SELECT id FROM messages", ())}
    assert before <= in_target <= acknowledged
    seqs = query_postgres(target, "SELECT seq FROM messages ORDER BY seq", ())
    assert [seq for (seq,) in seqs] == list(range(1, len(in_target) + 1))
    stream_rows = "SELECT message_id, count(*) FROM inbox WHERE message_id IS NOT NULL GROUP BY 1"
    in_source = dict(query_db(old.data_dir, stream_rows))
    assert dict(query_postgres(target, stream_rows, ())) == {m: in_source[m] for m in in_target}
