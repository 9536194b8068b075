"""Files holding personal data or live codes are private to the server's user."""

from __future__ import annotations

import stat
from pathlib import Path

from townhall.app import running_services
from townhall.bench.identities import synthetic_identity
from townhall.config import Settings
from townhall.domain.accounts import IdentityClaim


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_data_dir_database_and_outbox_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, password_hash_profile="cheapest")
    async with running_services(settings) as services:
        await services.accounts.register(
            handle="alice",
            password="a long password",
            display_name="Alice",
            identity=IdentityClaim(**synthetic_identity(1)),
            agreement_version=services.pack.agreement.version,
            ip=None,
        )
        token = (await services.accounts.log_in("alice", "a long password", address=None)).token
        await services.identity.send_phone_code(await services.accounts.authenticate(token))
        files = {p.name: mode(p) for p in data_dir.iterdir() if p.is_file()}
    assert mode(data_dir) == 0o700
    assert files["townhall.db"] == 0o600
    assert files["sms-outbox.jsonl"] == 0o600
    assert all(m == 0o600 for name, m in files.items() if name.startswith("townhall.db"))
