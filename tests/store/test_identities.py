"""store.identities on a real SQLite file: the cap count, the blacklist, access records, the
retention purge and the pages key rotation walks."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from townhall.store import identities as identity_store
from townhall.store.database import Database

from .conftest import add_account


async def add_identity(
    database: Database, account_id: int, blind_index: str, status: str = "provider_verified"
) -> None:
    async with database.writing() as conn:
        await identity_store.insert_identity(
            conn,
            account_id=account_id,
            key_id="identity-1",
            sealed=b"sealed-" + str(account_id).encode(),
            blind_index=blind_index,
            phone_index=f"phone-{account_id}",
            status=status,
            provider_result=None,
            now_ms=1_000,
        )


async def test_an_identity_is_stored_with_its_status(database: Database) -> None:
    alice = await add_account(database, "alice")
    await add_identity(database, alice, "index-a", status="pending_review")
    async with database.reading() as conn:
        row = await identity_store.get(conn, alice)
        missing = await identity_store.get(conn, alice + 1)
    assert row is not None
    assert (row.status, row.blind_index, row.created_at) == ("pending_review", "index-a", 1_000)
    assert (row.claimed_by, row.decided_by, row.phone_verified_at, row.purge_after) == (
        None,
        None,
        None,
        None,
    )
    assert missing is None


async def test_only_active_accounts_count_against_the_cap(database: Database) -> None:
    holders = [await add_account(database, name) for name in ("alice", "bob", "carol")]
    for account_id in holders:
        await add_identity(database, account_id, "same-document")
    await add_identity(database, await add_account(database, "dave"), "other-document")
    async with database.writing() as conn:
        await conn.execute(
            text("UPDATE accounts SET status = 'deregistered' WHERE id = :id"), {"id": holders[0]}
        )
    async with database.reading() as conn:
        assert await holders_of(conn, "same-document") == 2
        assert await holders_of(conn, "other-document") == 1
        assert await holders_of(conn, "never-seen") == 0


async def holders_of(conn: AsyncConnection, blind_index: str) -> int:
    return await identity_store.count_active_holders(
        conn, blind_index, active="active", rejected="rejected"
    )


async def test_a_rejected_identity_does_not_hold_its_document(database: Database) -> None:
    impostor, holder = await add_account(database, "impostor"), await add_account(database, "real")
    await add_identity(database, impostor, "contested-document")
    async with database.writing() as conn:
        await identity_store.decide(
            conn,
            impostor,
            status="rejected",
            reason="not the holder",
            reviewer_id=holder,
            now_ms=1,
        )
    async with database.reading() as conn:
        assert await holders_of(conn, "contested-document") == 0


async def test_the_blacklist_holds_an_index_once(database: Database) -> None:
    admin = await add_account(database, "admin")
    async with database.writing() as conn:
        first = await identity_store.add_to_blacklist(
            conn, blind_index="listed", reason="fraud", added_by=admin, now_ms=5
        )
        second = await identity_store.add_to_blacklist(
            conn, blind_index="listed", reason="again", added_by=admin, now_ms=6
        )
    async with database.reading() as conn:
        assert await identity_store.is_blacklisted(conn, "listed")
        assert not await identity_store.is_blacklisted(conn, "not-listed")
    assert (first, second) == (True, False)


async def test_access_records_are_filtered_by_subject_newest_first(database: Database) -> None:
    reviewer, alice, bob = [await add_account(database, n) for n in ("reviewer", "alice", "bob")]
    async with database.writing() as conn:
        ids = [
            await identity_store.record_access(
                conn,
                actor_id=reviewer,
                subject_id=subject,
                reason=f"reason {i}",
                reference="request:TEST-118",
                now_ms=i,
            )
            for i, subject in enumerate([alice, bob, alice])
        ]
    async with database.reading() as conn:
        of_alice = await identity_store.access_records(conn, subject_id=alice, limit=10)
        newest = await identity_store.access_records(conn, subject_id=None, limit=2)
    assert ids == sorted(ids)
    assert [(r.id, r.reason) for r in of_alice] == [(ids[2], "reason 2"), (ids[0], "reason 0")]
    assert [r.id for r in newest] == [ids[2], ids[1]]


async def test_the_purge_deletes_only_identities_past_their_retention(database: Database) -> None:
    due, later, never = [await add_account(database, n) for n in ("due", "later", "never")]
    for account_id in (due, later, never):
        await add_identity(database, account_id, f"index-{account_id}")
    async with database.writing() as conn:
        await identity_store.schedule_purge(conn, due, 100)
        await identity_store.schedule_purge(conn, later, 10_000)
        await identity_store.save_phone_code(
            conn,
            due,
            code_hash="h",
            expires_at=1,
            attempts=0,
            window_started_at=0,
            sent_in_window=1,
        )
    async with database.reading() as conn:
        assert await identity_store.count_purge_due(conn, 99) == 0
        assert await identity_store.count_purge_due(conn, 100) == 1
    async with database.writing() as conn:
        assert await identity_store.purge_due(conn, 100) == 1
    async with database.reading() as conn:
        left = [await identity_store.get(conn, a) for a in (due, later, never)]
        assert await identity_store.phone_code(conn, due) is None
        assert await identity_store.count_not_under(conn, "no-such-key") == 2
    assert [row is not None for row in left] == [False, True, True]


async def test_rotation_pages_walk_every_identity_once(database: Database) -> None:
    accounts = [await add_account(database, f"user{i}") for i in range(5)]
    for account_id in accounts:
        await add_identity(database, account_id, f"index-{account_id}")
    seen: list[int] = []
    after = 0
    while True:
        async with database.writing() as conn:
            page = await identity_store.sealed_page(
                conn, not_key_id="identity-2", after_account_id=after, limit=2
            )
            for row in page:
                await identity_store.reseal(conn, row.account_id, "identity-2", b"new")
        if not page:
            break
        seen.extend(row.account_id for row in page)
        after = page[-1].account_id
    assert seen == accounts
    async with database.reading() as conn:
        rows = [await identity_store.get(conn, a) for a in accounts]
        assert await identity_store.count_not_under(conn, "identity-2") == 0
    assert {(row.key_id, row.sealed) for row in rows if row} == {("identity-2", b"new")}
