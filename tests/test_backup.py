"""`townhall backup` while the server takes messages, and `townhall restore` into an empty data
dir: every acknowledged message is in the backup, the keys go apart when asked, a restored server
serves the same people, history and media, and a restore never overwrites or takes a damaged
backup."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_media import encoded, get_media, picture, uploaded
from tests.conftest import MakeStaff, MakeUser, Server, ServerPool, User, fresh_identity, moved
from tests.databases import sqlite_only
from tests.support import (
    drill_scale,
    full_history,
    group_of,
    masked_id_number,
    masked_phone,
    sent,
)
from tests.test_startup import finished, townhall

pytestmark = pytest.mark.long  # among the longest modules: scheduled first (conftest.py)


def messages_in(database: Path) -> set[int]:
    with sqlite3.connect(database) as db:
        return {row[0] for row in db.execute("SELECT id FROM messages")}


SENDERS = drill_scale(short=2, long=6)  # clients sending all the while
LOAD_SECONDS = drill_scale(short=1, long=20)  # of sending before the backup begins


@sqlite_only  # reads or rewrites the SQLite file itself
@pytest.mark.drill
async def test_a_backup_under_load_holds_every_acknowledged_message_and_restores(
    servers: ServerPool, make_user: MakeUser, make_staff: MakeStaff, tmp_path: Path
) -> None:
    """Clients send into a group before and while `townhall backup` runs; the backup restored
    into an empty data dir holds every message acknowledged before it began, nothing that was
    never acknowledged, an audit log that verifies, and identities its keys open."""
    server: Server = servers.start()
    identities = [fresh_identity() for _ in range(SENDERS)]
    senders = [
        await make_user(f"sender{n}", on=server, identity=i) for n, i in enumerate(identities)
    ]
    await make_staff("reviewer", on=server)  # an audit row, signed into a checkpoint to copy
    assert server.cli("audit", "checkpoint").returncode == 0
    group = (await group_of(senders[0], "读书会", *senders[1:]))["id"]
    acknowledged: dict[int, dict[str, Any]] = {}
    stop = asyncio.Event()

    async def keep_sending(sender: User) -> None:
        while not stop.is_set():
            message = await sent(sender, group, uuid.uuid4().hex)
            acknowledged[message["id"]] = message

    sending = [asyncio.create_task(keep_sending(sender)) for sender in senders]
    await asyncio.sleep(LOAD_SECONDS)
    before = set(acknowledged)
    backup, keys = tmp_path / "backup", tmp_path / "keys-elsewhere"
    started = time.monotonic()
    made = await asyncio.to_thread(
        server.cli, "backup", "--to", str(backup), "--keys-to", str(keys)
    )
    backup_seconds = time.monotonic() - started
    during = len(acknowledged) - len(before)
    stop.set()
    await asyncio.gather(*sending)
    assert made.returncode == 0, made.stderr
    assert "backup complete" in made.stdout
    assert during > 0, "the server took no message while the backup ran"
    copied = messages_in(backup / "townhall.db")
    assert before <= copied
    assert copied <= set(acknowledged), "the backup holds a message that was never acknowledged"
    assert not list(backup.rglob("*.key")), "the keys were to go apart"
    assert {p.name for p in keys.glob("*.key")} >= {"blind-index.key", "identity-1.key"}
    assert list((backup / "audit-checkpoints").iterdir())

    restored = tmp_path / "restored"
    started = time.monotonic()
    code, said = finished(
        townhall(restored, "restore", "--from", str(backup), "--keys-from", str(keys))
    )
    restore_seconds = time.monotonic() - started
    assert code == 0, said
    verify = townhall(restored, "audit", "verify")
    code, said = finished(verify)
    assert code == 0, said
    assert verify.stdout is not None
    verified = verify.stdout.read().strip()
    again = servers.start(data_dir=restored)
    try:
        first = senders[0]
        async with User(
            again.base_url, user_id=first.id, handle=first.handle, password=first.password
        ) as first_again:
            await first_again.log_in(first.handle, first.password)
            history = await full_history(first_again, group)
        assert {m["id"] for m in history} == copied
        assert all(acknowledged[m["id"]] == m for m in history)
        for sender, identity in zip(senders, identities, strict=True):
            async with moved(sender, again) as sender_again:
                shown = (await sender_again.me())["identity"]
            # The restored keys open each sealed identity: the masked view is read from it.
            assert shown["id_number"] == masked_id_number(identity["id_number"])
            assert shown["phone"] == masked_phone(identity["phone"])
    finally:
        again.stop()
        server.stop()
    size_mb = (backup / "townhall.db").stat().st_size / 1e6
    print(
        f"backup under load: {SENDERS} senders, {len(before)} messages acknowledged before it "
        f"began, {during} while it ran ({backup_seconds:.1f} s, {size_mb:.1f} MB); "
        f"{len(copied)} in the backup, all restored in {restore_seconds:.1f} s; {verified}"
    )


@sqlite_only  # reads or rewrites the SQLite file itself
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


def media_in(folder: Path) -> dict[str, bytes]:
    """The media files under a folder, by their path in it."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


@sqlite_only  # reads or rewrites the SQLite file itself
async def test_the_media_files_are_backed_up_and_restored_byte_for_byte(
    servers: ServerPool, make_user: MakeUser, tmp_path: Path
) -> None:
    """An uploaded image (and its thumbnail) goes into the backup in the store's layout, without
    the uploads still spooling; a server on the restored data dir serves the same bytes; a backup
    whose media file was changed is refused before anything is written."""
    server = servers.start()
    try:
        owner = await make_user("photographer", on=server)
        image = await uploaded(owner, encoded(picture(), "PNG"), "花.png")
        original = await get_media(owner, image["id"])
        assert original.status_code == 200
        store = server.data_dir / "media"
        (store / "incoming" / ("0" * 32)).write_bytes(b"half an upload")
        backup = tmp_path / "backup"
        made = server.cli("backup", "--to", str(backup))
    finally:
        server.stop()
    assert made.returncode == 0, made.stderr
    assert "media: 2 file(s)" in made.stdout  # the image and its thumbnail
    kept = {
        path: data for path, data in media_in(store).items() if not path.startswith("incoming/")
    }
    assert len(kept) == 2
    assert media_in(backup / "media") == kept  # and not the upload still spooling

    restored = tmp_path / "restored"
    restore = townhall(restored, "restore", "--from", str(backup))
    code, said = finished(restore)
    assert code == 0, said
    assert restore.stdout is not None and "media: 2 file(s)" in restore.stdout.read()
    assert media_in(restored / "media") == kept
    again = servers.start(data_dir=restored)
    try:
        async with moved(owner, again) as owner_again:
            served = await get_media(owner_again, image["id"])
    finally:
        again.stop()
    assert served.status_code == 200
    assert served.content == original.content

    name = next(path for path, data in kept.items() if data == original.content)
    damaged = backup / "media" / name
    data = bytearray(damaged.read_bytes())
    data[-1] ^= 1
    damaged.write_bytes(bytes(data))
    code, said = finished(townhall(tmp_path / "fresh", "restore", "--from", str(backup)))
    assert code == 1 and f"media/{name} is missing or changed" in said
    assert not (tmp_path / "fresh" / "townhall.db").exists()
