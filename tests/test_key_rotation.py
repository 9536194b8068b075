"""`townhall admin rotate-keys`: every identity sealed again under a new key, still readable,
old key files kept, duplicates still found."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import (
    MakeStaff,
    MakeUser,
    Server,
    ServerPool,
    User,
    fresh_identity,
    moved,
    post_registration,
)
from tests.support import assert_error, identity_secrets, leaks, query_db


def sealed_rows(server: Server) -> dict[int, tuple[str, bytes]]:
    rows = query_db(server.data_dir, "SELECT account_id, key_id, sealed FROM identities")
    return {account_id: (key_id, bytes(sealed)) for account_id, key_id, sealed in rows}


def rotate(server: Server) -> tuple[str, int]:
    done = server.admin("rotate-keys", "--for-real")
    assert done.returncode == 0, done.stderr
    found = re.search(r"sealed with (identity-\d+): (\d+) re-encrypted", done.stdout)
    assert found, done.stdout
    return found[1], int(found[2])


async def reveal(reviewer: User, user_id: int) -> dict[str, Any]:
    answer = await reviewer.raw(
        "POST",
        f"/api/v1/admin/identities/{user_id}/reveal",
        json={"reason": "key rotation check", "reference": "request:TEST-118"},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["identity"]


async def test_rotating_a_stopped_servers_keys_reseals_every_identity(
    servers: ServerPool, fresh_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    identities = [fresh_identity(legal_name=name) for name in ("张三", "欧阳娜娜", "李四")]
    users = [await make_user("holder", on=fresh_server, identity=i) for i in identities]
    shown_before = [(await user.me())["identity"] for user in users]
    reviewer_login = await make_staff("reviewer", on=fresh_server)
    fresh_server.stop()
    before = sealed_rows(fresh_server)
    keys_dir = fresh_server.data_dir / "keys"
    old_key = (keys_dir / "identity-1.key").read_bytes()
    assert {key_id for key_id, _ in before.values()} == {"identity-1"}

    dry_run = fresh_server.admin("rotate-keys")
    assert dry_run.returncode == 0, dry_run.stderr
    assert f"{len(before)} identities would be sealed under a new key" in dry_run.stdout
    assert sealed_rows(fresh_server) == before
    assert sorted(path.name for path in keys_dir.iterdir()) == [
        "audit-signing.key",  # made when the server signed its last checkpoint, as it stopped
        "blind-index.key",
        "identity-1.key",
        "phone-code.key",
    ]

    key_id, resealed = rotate(fresh_server)

    after = sealed_rows(fresh_server)
    assert key_id == "identity-2"
    assert resealed == len(before) == len(users)
    assert set(after) == set(before)
    for account_id, (new_key_id, new_sealed) in after.items():
        assert new_key_id == key_id
        assert new_sealed != before[account_id][1]
    assert sorted(path.name for path in keys_dir.iterdir()) == [
        "audit-signing.key",
        "blind-index.key",
        "identity-1.key",
        "identity-2.key",
        "phone-code.key",
    ]
    assert (keys_dir / "identity-1.key").read_bytes() == old_key  # kept, for old backups

    restarted = servers.start(data_dir=fresh_server.data_dir)
    try:
        async with moved(reviewer_login, restarted) as reviewer:
            for user, identity, shown in zip(users, identities, shown_before, strict=True):
                assert await reveal(reviewer, user.id) == identity
                async with moved(user, restarted) as again:
                    assert (await again.me())["identity"] == shown
        # The blind index is not the sealing key: duplicates are still found.
        refused = await post_registration(restarted, identities[0])
        assert_error(refused, 409, "identity_limit")
        # New identities are sealed with the new key.
        newcomer = await make_user("newcomer", on=restarted)
        assert sealed_rows(restarted)[newcomer.id][0] == key_id
    finally:
        restarted.stop()

    # A second rotation moves everything on again, the newcomer included.
    key_id, resealed = rotate(restarted)
    assert (key_id, resealed) == ("identity-3", len(users) + 1)
    assert {k for k, _ in sealed_rows(restarted).values()} == {"identity-3"}
    # The CLI said nothing personal, and the data dir still holds nothing in clear.
    for identity in identities:
        secrets = identity_secrets(identity)
        for path in restarted.data_dir.rglob("*"):
            if path.is_file():
                assert leaks(path.read_bytes(), secrets) == [], path


async def test_rotating_under_a_running_server_keeps_identities_readable(
    fresh_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    identity = fresh_identity()
    user = await make_user("holder", on=fresh_server, identity=identity)
    reviewer = await make_staff("reviewer", on=fresh_server)
    shown = (await user.me())["identity"]

    key_id, _ = rotate(fresh_server)

    assert {k for k, _ in sealed_rows(fresh_server).values()} == {key_id}
    # The running server meets a key id it has not loaded and reads the key folder again.
    assert (await user.me())["identity"] == shown
    assert await reveal(reviewer, user.id) == identity
    assert_error(await post_registration(fresh_server, identity), 409, "identity_limit")


async def test_after_rotating_under_a_running_server_new_identities_use_the_new_key(
    fresh_server: Server, make_user: MakeUser
) -> None:
    await make_user("before", on=fresh_server)
    key_id, _ = rotate(fresh_server)
    newcomer = await make_user("after", on=fresh_server)
    assert sealed_rows(fresh_server)[newcomer.id][0] == key_id
