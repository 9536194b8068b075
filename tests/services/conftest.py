"""The services exactly as the server builds them (townhall.app.running_services), on a real
SQLite file in tmp_path, with no HTTP in between."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import AGREEMENT_VERSION, BASE_PACK_TEXT, fresh_identity
from tests.databases import PostgresDatabases, on_postgresql
from tests.identity_provider import StandInProvider
from tests.support import latest_sms_code
from townhall.app import running_services
from townhall.bus.base import Bus
from townhall.config import LimitsSettings, Settings
from townhall.domain.accounts import IdentityClaim
from townhall.services.accounts import AccountService
from townhall.services.container import Services
from townhall.services.identity import IdentityService
from townhall.services.messaging import MessagingService
from townhall.services.principal import Principal
from townhall.services.rendering import ConversationView
from townhall.services.sync import SyncService

PASSWORD = "a long password"


@dataclass
class World:
    services: Services
    data_dir: Path

    @property
    def accounts(self) -> AccountService:
        return self.services.accounts

    @property
    def identity(self) -> IdentityService:
        return self.services.identity

    @property
    def messaging(self) -> MessagingService:
        return self.services.messaging

    @property
    def sync(self) -> SyncService:
        return self.services.sync

    @property
    def bus(self) -> Bus:
        return self.services.bus

    async def group(self, owner: Principal, title: str, *members: Principal) -> ConversationView:
        """A group of `owner` that each of `members` joined by accepting its invitation."""
        groups = self.services.groups
        new = await groups.create(
            owner, title=title, description="", member_ids=[m.account_id for m in members]
        )
        group = new.group
        for member in members:
            group = await groups.accept(member, group.id)
        return group

    async def person(self, handle: str) -> Principal:
        """A registered, logged-in user whose identity the stand-in provider verified and whose
        phone is confirmed: by the default pack, one who may do everything."""
        await self.accounts.register(
            handle=handle,
            password=PASSWORD,
            display_name=handle.title(),
            identity=IdentityClaim(**fresh_identity()),
            agreement_version=AGREEMENT_VERSION,
            ip=None,
        )
        token = (await self.accounts.log_in(handle, PASSWORD, address=None)).token
        principal = await self.accounts.authenticate(token)
        await self.identity.send_phone_code(principal)
        await self.identity.verify_phone(
            principal, latest_sms_code(self.data_dir, principal.account_id)
        )
        return principal


def pack_written_in(directory: Path) -> str:
    """The path of the tests' pack (tests/conftest.py, BASE_PACK_TEXT), written in `directory`."""
    pack = directory / "pack.toml"
    pack.write_text(BASE_PACK_TEXT, encoding="utf-8")
    return str(pack)


@pytest.fixture
def database_url(postgres_databases: PostgresDatabases) -> str | None:
    """A fresh PostgreSQL database when the tests run on it; None: the data dir's SQLite file."""
    return postgres_databases.fresh() if on_postgresql() else None


@pytest.fixture
async def world(
    tmp_path: Path, identity_provider: StandInProvider, database_url: str | None
) -> AsyncIterator[World]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        policy_pack=pack_written_in(tmp_path),
        password_hash_profile="cheapest",
        # Three test processes share PostgreSQL's 100 connections (tests/conftest.py): a world
        # keeps 4 and opens up to 4 more for a burst, which then waits for one.
        database_pool_size=4,
        database_pool_overflow=4,
        # Tests send bursts far past a person's rate; tests/api/test_caps.py tests that rate.
        limits=LimitsSettings(max_group_members=4, sends_per_user="100000/second"),
        **identity_provider.settings(),
    )
    async with running_services(settings) as services:
        yield World(services, settings.data_dir)
