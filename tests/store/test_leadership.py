"""The cluster's once-only work runs on one process at a time, and moves to another when that
one goes away (store/leadership.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from tests.databases import on_postgresql, postgresql_only
from townhall.store.database import Database, open_database
from townhall.store.leadership import Leadership

TAKE_OVER_SECONDS = 5.0


async def counting(runs: list[str], name: str) -> None:
    while True:
        runs.append(name)
        await asyncio.sleep(0.05)


async def until(condition: object, seconds: float = TAKE_OVER_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.05)


@pytest.fixture
async def second(database: Database, database_url: str) -> AsyncIterator[Database]:
    other = open_database(database_url)
    yield other
    await other.dispose()


@postgresql_only
async def test_one_process_leads_and_another_takes_over_when_it_goes(
    database: Database, second: Database
) -> None:
    first_lead, second_lead = Leadership(database), Leadership(second)
    runs: list[str] = []
    trying = [asyncio.create_task(lead.keep_trying()) for lead in (first_lead, second_lead)]
    working = [
        asyncio.create_task(lead.while_leading(lambda name=name: counting(runs, name)))
        for lead, name in ((first_lead, "first"), (second_lead, "second"))
    ]
    try:
        await until(lambda: first_lead.leading or second_lead.leading)
        leader, follower = (
            (first_lead, second_lead) if first_lead.leading else (second_lead, first_lead)
        )
        leader_name = "first" if leader is first_lead else "second"
        await asyncio.sleep(0.5)
        assert not follower.leading
        assert set(runs) == {leader_name}

        trying[0 if leader is first_lead else 1].cancel()  # the leader's process ends
        await until(lambda: follower.leading)
        assert not leader.leading
        runs.clear()
        await asyncio.sleep(0.3)
        assert runs and set(runs) == {"second" if leader_name == "first" else "first"}
    finally:
        for task in trying + working:
            task.cancel()
        await asyncio.gather(*trying, *working, return_exceptions=True)


@pytest.mark.skipif(on_postgresql(), reason="SQLite's one process")
async def test_the_one_sqlite_process_leads_at_once(database: Database) -> None:
    lead = Leadership(database)
    assert lead.leading
    runs: list[str] = []
    work = asyncio.create_task(lead.while_leading(lambda: counting(runs, "only")))
    await until(lambda: runs)
    work.cancel()
