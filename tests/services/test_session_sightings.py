"""When a session was last seen: written when the known sessions check it against the database
again and the stored moment is minutes old, never on the requests they answer themselves."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import AGREEMENT_VERSION, fresh_identity
from tests.identity_provider import StandInProvider
from tests.services.conftest import PASSWORD
from townhall.app import running_services
from townhall.config import Settings
from townhall.domain.accounts import IdentityClaim
from townhall.services.accounts import LAST_SEEN_EVERY_MS, AccountService
from townhall.services.known_sessions import KNOWN_SESSION_SECONDS
from townhall.services.principal import Principal


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def last_seen(accounts: AccountService, principal: Principal) -> int:
    (session,) = await accounts.own_sessions(principal, before=None, limit=10)
    return session.last_seen_at


async def test_a_session_is_seen_again_only_when_rechecked_minutes_later(
    tmp_path: Path, identity_provider: StandInProvider, database_url: str | None
) -> None:
    clock = Clock()
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        password_hash_profile="cheapest",
        **identity_provider.settings(),
    )
    async with running_services(settings, clock=clock) as services:
        accounts = services.accounts
        await accounts.register(
            handle="alice",
            password=PASSWORD,
            display_name="Alice",
            identity=IdentityClaim(**fresh_identity()),
            agreement_version=AGREEMENT_VERSION,
            ip=None,
        )
        token = (await accounts.log_in("alice", PASSWORD, address=None)).token
        principal = await accounts.authenticate(token)
        opened = await last_seen(accounts, principal)
        assert opened == int(clock.now * 1000)

        # Checked again past the known sessions' half minute, but within the minutes: unwritten.
        clock.now += KNOWN_SESSION_SECONDS + 1
        await accounts.authenticate(token)
        assert await last_seen(accounts, principal) == opened

        clock.now += LAST_SEEN_EVERY_MS / 1000
        await accounts.authenticate(token)
        assert await last_seen(accounts, principal) == int(clock.now * 1000)
