"""Effects after commit: they run once the transaction commits, in order, when readers see what
it wrote; a rollback drops them; one that fails is logged and the rest still run."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from townhall.store import accounts as account_store
from townhall.store import stream as stream_store
from townhall.store.database import Database, Transaction
from townhall.store.schema import accounts

from .conftest import add_account


class Refused(Exception):
    pass


async def handles(database: Database) -> list[str]:
    async with database.reading() as conn:
        return list((await conn.execute(select(accounts.c.handle))).scalars())


async def add_bob(conn: Transaction) -> None:
    await account_store.insert_account(
        conn,
        handle="bob",
        display_name="Bob",
        password_hash="not-a-real-hash",
        status="active",
        now_ms=0,
    )


async def test_effects_run_after_the_commit_in_order_when_readers_see_it(
    database: Database,
) -> None:
    alice = await add_account(database, "alice")
    ran: list[tuple[str, int]] = []
    taken: list[int] = []

    def effect(name: str) -> None:
        ran.append((name, database.positions.persisted_upto()))

    def render(position: int) -> dict[str, object]:
        taken.append(position)
        return {"type": "notice", "position": position}

    async with database.writing() as conn:
        await stream_store.append_new_event(
            conn,
            database.positions,
            event_type="notice",
            render=render,
            recipients=(alice,),
        )
        (position,) = taken
        conn.after_commit(lambda: effect("first"))
        conn.after_commit(lambda: effect("second"))
        assert ran == []  # nothing runs before the commit
    # A reader woken by the effect, reading up to the committed position, finds the event.
    assert ran == [("first", position), ("second", position)]


async def test_a_rolled_back_transaction_drops_its_effects(database: Database) -> None:
    ran: list[str] = []

    with pytest.raises(Refused):
        async with database.writing() as conn:
            await add_bob(conn)
            conn.after_commit(lambda: ran.append("told bob"))
            raise Refused
    assert ran == []
    assert "bob" not in await handles(database)


async def test_a_failing_effect_is_logged_and_the_others_still_run(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("the bus is down")

    async with database.writing() as conn:
        await add_bob(conn)
        conn.after_commit(lambda: ran.append("before"))
        conn.after_commit(broken)
        conn.after_commit(lambda: ran.append("after"))
    assert ran == ["before", "after"]
    assert "bob" in await handles(database)  # committed is committed
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        "an effect after commit failed"
    ]
