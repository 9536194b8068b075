"""`townhall backup` while the server takes messages, and `townhall restore` into an empty data
dir: every acknowledged message is in the backup, the keys go apart when asked, a restored server
serves the same people and history, and a restore never overwrites or takes a damaged backup."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path

from tests.conftest import MakeStaff, MakeUser, Server, ServerPool, User
from tests.support import full_history, group_of, sent
from tests.test_startup import finished, townhall


def messages_in(database: Path) -> set[int]:
    with sqlite3.connect(database) as db:
        return {row[0] for row in db.execute("SELECT id FROM messages")}


async def test_a_backup_under_load_holds_every_acknowledged_message_and_restores(
    servers: ServerPool, make_user: MakeUser, make_staff: MakeStaff, tmp_path: Path
) -> None:
    server: Server = servers.start()
    alice: User = await make_user("alice", on=server)
    bob: User = await make_user("bob", on=server)
    await make_staff("reviewer", on=server)  # an audit row, signed into a checkpoint to copy
    assert server.cli("audit", "checkpoint").returncode == 0
    group = (await group_of(alice, "读书会", bob))["id"]
    acknowledged: list[int] = []
    stop = asyncio.Event()

    async def keep_sending() -> None:
        while not stop.is_set():
            acknowledged.append((await sent(alice, group, uuid.uuid4().hex))["id"])

    sender = asyncio.create_task(keep_sending())
    await asyncio.sleep(0.5)
    before = list(acknowledged)
    backup, keys = tmp_path / "backup", tmp_path / "keys-elsewhere"
    made = await asyncio.to_thread(
        server.cli, "backup", "--to", str(backup), "--keys-to", str(keys)
    )
    during = len(acknowledged) - len(before)
    stop.set()
    await sender
    assert made.returncode == 0, made.stderr
    assert "backup complete" in made.stdout
    assert during > 0, "the server took no message while the backup ran"
    copied = messages_in(backup / "townhall.db")
    assert set(before) <= copied
    assert not list(backup.rglob("*.key")), "the keys were to go apart"
    assert {p.name for p in keys.glob("*.key")} >= {"blind-index.key", "identity-1.key"}
    assert list((backup / "audit-checkpoints").iterdir())

    restored = tmp_path / "restored"
    code, said = finished(
        townhall(restored, "restore", "--from", str(backup), "--keys-from", str(keys))
    )
    assert code == 0, said
    code, said = finished(townhall(restored, "audit", "verify"))
    assert code == 0, said
    again = servers.start(data_dir=restored)
    alice_again = User(
        again.base_url, user_id=alice.id, handle=alice.handle, password=alice.password
    )
    await alice_again.log_in(alice.handle, alice.password)
    history = {m["id"] for m in await full_history(alice_again, group)}
    assert history == copied
    assert (await alice_again.request("GET", "/api/v1/me"))["identity"]["status"]
    again.stop()
    server.stop()


async def test_a_restore_overwrites_nothing_and_takes_no_damaged_backup(
    fresh_server: Server, tmp_path: Path
) -> None:
    backup = tmp_path / "backup"
    made = fresh_server.cli("backup", "--to", str(backup))
    assert made.returncode == 0, made.stderr
    assert "WARNING: the" in made.stderr and "--keys-to" in made.stderr
    assert list((backup / "keys").glob("*.key"))
    again = fresh_server.cli("backup", "--to", str(backup))
    assert again.returncode == 1 and "is not empty" in again.stderr

    code, said = finished(townhall(fresh_server.data_dir, "restore", "--from", str(backup)))
    assert code == 1 and "is not empty" in said

    (backup / "keys" / "blind-index.key").write_text("0" * 64)
    code, said = finished(townhall(tmp_path / "fresh", "restore", "--from", str(backup)))
    assert code == 1 and "keys/blind-index.key is missing or changed" in said
    assert not (tmp_path / "fresh" / "townhall.db").exists()
