"""A full disk: each write answers 507 `storage_full` and writes nothing, the server says so once
in its log and at /readyz, and once space is freed it takes writes again by itself, with no
acknowledged message lost or doubled. The data dir lives on a small tmpfs of the test's own."""

from __future__ import annotations

import asyncio
import errno
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import MakeUser, Server, ServerPool, User, fresh_identity, post_registration
from tests.support import assert_error, drill_scale, full_history, report, unavailable_here

DISK_MEGABYTES = 16
STORAGE_LOG = "townhall.store.storage"
IN_FLIGHT = 64  # requests at once in the drill, from all its senders together


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of DISK_MEGABYTES mounted for the test (mounting needs root), unmounted after."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if shutil.which("mount") is None:
        unavailable_here("no mount command here to make a small disk with")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_MEGABYTES}m,mode=0700", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        unavailable_here(f"cannot mount a small tmpfs here (root is needed): {mounted.stderr}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True, check=True)


@pytest.fixture
def disk_server(servers: ServerPool, small_disk: Path) -> Iterator[Server]:
    """A server whose data dir (database, keys, outbox, checkpoints) is on the small disk."""
    data_dir = small_disk / "data"
    data_dir.mkdir(mode=0o700)
    shutil.copyfile(servers._migrated_database(), data_dir / "townhall.db")
    server = servers.start(data_dir=data_dir)
    yield server
    server.stop()  # before the disk is unmounted


def fill(disk: Path) -> Path:
    """A file that takes every byte left on the disk."""
    filler = disk / "filler"
    chunk = bytes(64 * 1024)
    with filler.open("wb", buffering=0) as file:
        try:
            while True:
                file.write(chunk)
        except OSError as full:
            assert full.errno == errno.ENOSPC
    assert shutil.disk_usage(disk).free == 0
    return filler


async def post_message(user: User, chat: int, text: str, client_id: str) -> httpx.Response:
    return await user.raw(
        "POST",
        f"/api/v1/conversations/{chat}/messages",
        json={"text": text, "client_id": client_id},
    )


async def readiness(server: Server) -> tuple[int, dict[str, str]]:
    """/readyz's status and the detail of each check by name."""
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        answer = await anonymous.get("/readyz")
    return answer.status_code, {c["name"]: c["detail"] for c in answer.json()["checks"]}


def writes_of_each_kind(server: Server, alice: User, bob: User) -> dict[str, Callable[[], Any]]:
    """A logout, a registration, a profile edit, a report and a group creation, each to run."""
    group = {"kind": "group", "title": "读书会", "description": "", "member_ids": [alice.id]}
    return {
        "log out": lambda: alice.raw("DELETE", "/api/v1/sessions/current"),
        "register": lambda: post_registration(server, fresh_identity()),
        "edit a profile": lambda: bob.raw("PATCH", "/api/v1/me", json={"bio": "读书、喝茶"}),
        "report": lambda: report(bob, "user", alice.id),
        "create a group": lambda: bob.raw("POST", "/api/v1/conversations", json=group),
    }


async def test_a_full_disk_refuses_each_write_with_507_and_writes_resume_when_space_returns(
    disk_server: Server, small_disk: Path, make_user: MakeUser
) -> None:
    server = disk_server
    alice = await make_user("alice", on=server)
    bob = await make_user("bob", on=server)
    chat = (await alice.open_direct(bob.id))["id"]
    assert (await post_message(alice, chat, "before", "before-1")).status_code == 201

    filler = fill(small_disk)
    assert_error(await post_message(alice, chat, "resent later", "later-1"), 507, "storage_full")
    assert_error(await post_message(alice, chat, "never resent", "never-1"), 507, "storage_full")
    async with alice.websocket() as live:
        await live.send_message(chat, "over the socket", "socket-1")
        frame = await live.receive_until("error")
        assert (frame["client_id"], frame["error"]["code"]) == ("socket-1", "storage_full")
    writes = writes_of_each_kind(server, alice, bob)
    for what, write in writes.items():
        answer = await write()
        assert answer.status_code == 507, what
        assert_error(answer, 507, "storage_full")
    # The logout wrote nothing: the session still holds, and logging out again will work.
    assert (await alice.raw("GET", "/api/v1/me")).status_code == 200
    status, checks = await readiness(server)
    assert (status, checks["database"]) == (
        503,
        "the disk is full: writes are refused until space is freed",
    )

    filler.unlink()
    status, checks = await readiness(server)
    assert (status, checks["database"]) == (200, "writable")
    assert (await post_message(alice, chat, "resent later", "later-1")).status_code == 201
    history = await full_history(alice, chat)
    assert [(m["seq"], m["text"]) for m in history] == [(1, "before"), (2, "resent later")]
    for what, write in writes.items():
        answer = await write()
        assert answer.status_code < 300, (what, answer.text)
    assert_error(await alice.raw("GET", "/api/v1/me"), 401, "token_revoked")
    assert [level for level, _ in server.logged(STORAGE_LOG)] == ["warning", "info"]
    assert "Traceback" not in server.log()


@pytest.mark.drill
async def test_many_senders_while_the_disk_is_full_and_after_lose_and_double_nothing(
    disk_server: Server, small_disk: Path, make_user: MakeUser
) -> None:
    """Several senders at once before, during and after a full disk: what was acknowledged is
    stored once, what was refused is not there until resent, and seqs have no gap."""
    server = disk_server
    senders = drill_scale(2, 8)
    each = drill_scale(5, 150)
    bob = await make_user("bob", on=server)
    chats: dict[User, int] = {}
    for number in range(senders):
        sender = await make_user(f"sender{number}", on=server)
        chats[sender] = (await sender.open_direct(bob.id))["id"]

    in_flight = asyncio.Semaphore(IN_FLIGHT)

    async def post(user: User, text: str) -> httpx.Response:
        async with in_flight:
            return await post_message(user, chats[user], text, text)

    async def round_of(phase: str) -> dict[tuple[User, str], int]:
        """Every sender sends `each` messages at once; the status of each, by sender and text."""
        sends = [
            (user, f"{phase}-{i}-{uuid.uuid4().hex[:8]}") for user in chats for i in range(each)
        ]
        answers = await asyncio.gather(*(post(user, text) for user, text in sends))
        return {send: answer.status_code for send, answer in zip(sends, answers, strict=True)}

    before = await round_of("before")
    filler = fill(small_disk)
    during = await round_of("during")
    filler.unlink()
    after = await round_of("after")
    # Half of the refused sends again, with the same client_id: each is stored now, once.
    refused_then_resent = [send for send, status in during.items() if status == 507][::2]
    answers = await asyncio.gather(*(post(user, text) for user, text in refused_then_resent))
    resent = {
        send: answer.status_code for send, answer in zip(refused_then_resent, answers, strict=True)
    }

    assert set(before.values()) == set(after.values()) == set(resent.values()) == {201}
    # A write may still fit into room SQLite already holds (its write-ahead log, after a
    # checkpoint): then it is acknowledged as any other. In the long drill about a third do.
    assert set(during.values()) <= {201, 507}
    assert 507 in during.values()
    for user, chat in chats.items():
        history = await full_history(user, chat)
        assert [m["seq"] for m in history] == list(range(1, len(history) + 1))
        stored = sorted(m["text"] for m in history)
        acknowledged = [
            text
            for statuses in (before, during, after, resent)
            for (sender, text), status in statuses.items()
            if sender is user and status == 201
        ]
        assert stored == sorted(acknowledged)
    assert [level for level, _ in server.logged(STORAGE_LOG)] == ["warning", "info"]
    assert "Traceback" not in server.log()
