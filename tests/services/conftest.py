"""The services built as app.py builds them, on a real SQLite file, with no HTTP in between."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.store.conftest import open_migrated
from townhall.bus.memory import MemoryBus
from townhall.domain.limits import Limits
from townhall.services.accounts import AccountService
from townhall.services.messaging import MessagingService
from townhall.services.principal import Principal
from townhall.services.sync import SyncService
from townhall.store import keys
from townhall.store.database import Database
from townhall.store.message_log import MessageLog
from townhall.store.vault import IdentityVault

LIMITS = Limits(max_group_members=4)


@dataclass
class World:
    database: Database
    bus: MemoryBus
    accounts: AccountService
    messaging: MessagingService
    sync: SyncService

    async def person(self, handle: str) -> Principal:
        await self.accounts.register(
            handle=handle,
            password="a long password",
            display_name=handle.title(),
            identity=None,
            agreement_version=None,
            ip=None,
        )
        token = (await self.accounts.log_in(handle, "a long password")).token
        return await self.accounts.authenticate(token)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    database = await open_migrated(tmp_path / "townhall.db")
    bus = MemoryBus()
    log = MessageLog(database, batch_max=1024, clock=time.time)
    accounts = AccountService(
        database,
        IdentityVault(keys.load_or_create(tmp_path / "keys")),
        limits=LIMITS,
        password_profile="cheapest",
        session_ttl_seconds=3600,
        clock=time.time,
    )
    world = World(
        database=database,
        bus=bus,
        accounts=accounts,
        messaging=MessagingService(database, log, bus, limits=LIMITS, clock=time.time),
        sync=SyncService(database, bus, limits=LIMITS),
    )
    log.start()
    yield world
    await log.stop()
    await database.dispose()
