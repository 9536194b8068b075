"""The readiness checks that the HTTP tests cannot reach from outside: the message writer."""

from __future__ import annotations

import time
from pathlib import Path

from tests.store.conftest import open_migrated
from townhall.domain.classifiers import Flag
from townhall.domain.moderation import ModerationRules
from townhall.packs import load_pack
from townhall.services.classifiers import ClassifierStage, Subject
from townhall.services.readiness import Readiness
from townhall.store.keys import load_or_create
from townhall.store.message_log import MessageLog


async def no_flags(subject: Subject, flags: list[Flag]) -> None:
    raise AssertionError("nothing is scored here")


async def test_the_writer_check_follows_the_message_writer(tmp_path: Path) -> None:
    database = await open_migrated(tmp_path / "townhall.db")
    load_or_create(tmp_path / "keys")
    writer = MessageLog(database, batch_max=16, clock=time.time)
    rules: ModerationRules = load_pack("cn-2014").moderation
    readiness = Readiness(
        database,
        writer,
        ClassifierStage(rules, [], on_flag=no_flags),
        keys_dir=tmp_path / "keys",
        audit_signing_key=tmp_path / "keys" / "audit-signing.key",
        classifiers_enabled=False,
        clock=time.time,
    )

    async def writer_ok() -> bool:
        (check,) = [c for c in await readiness.checks() if c.name == "writer"]
        return check.ok

    try:
        assert not await writer_ok()  # not started
        writer.start()
        assert await writer_ok()
        await writer.stop()
        assert not await writer_ok()
        assert all(c.ok for c in await readiness.checks() if c.name != "writer")
    finally:
        await database.dispose()
