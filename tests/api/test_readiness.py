"""`/healthz` answers while the process runs; `/readyz` checks, each time, what this node needs to
serve, and names what failed with 503 — and is ready again once it is put right."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import psutil

from tests.api.test_classifiers import WAIT, workers_of
from tests.conftest import Server, ServerPool
from tests.databases import on_postgresql, plain_url
from tests.support import DATABASE_URLS, query_db, write_db
from townhall.store.database import WRITE_LOCK_KEY


async def readiness(server: Server) -> tuple[int, dict[str, tuple[bool, str]]]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        answer = await http.get("/readyz")
    body = answer.json()
    assert body["status"] == ("ready" if answer.status_code == 200 else "unready")
    return answer.status_code, {c["name"]: (c["ok"], c["detail"]) for c in body["checks"]}


async def test_a_fresh_server_is_live_and_ready(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        live = await http.get("/healthz")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    status, checks = await readiness(server)
    assert status == 200
    assert {name: ok for name, (ok, _) in checks.items()} == {
        "database": True,
        "writer": True,
        "migrations": True,
        "keys": True,
        "classifiers": True,
    }
    assert checks["classifiers"][1] == "turned off in the settings"


async def test_a_database_that_takes_no_write_makes_the_node_unready(
    fresh_server: Server,
) -> None:
    with another_process_holds_the_write_lock(fresh_server):
        status, checks = await readiness(fresh_server)
        assert status == 503
        assert checks["database"][0] is False
    assert (await readiness(fresh_server))[0] == 200


@contextmanager
def another_process_holds_the_write_lock(server: Server) -> Iterator[None]:
    """SQLite's file lock, or the cluster's write lock on PostgreSQL (store/database.py)."""
    if on_postgresql():
        import psycopg

        url = plain_url(DATABASE_URLS[server.data_dir])
        with psycopg.connect(url, autocommit=True) as locker:
            locker.execute(f"SELECT pg_advisory_lock({WRITE_LOCK_KEY})".encode())
            yield
        return
    locker = sqlite3.connect(server.data_dir / "townhall.db", timeout=10)  # past its own writes
    locker.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        locker.rollback()
        locker.close()


async def test_a_schema_behind_the_release_makes_the_node_unready(fresh_server: Server) -> None:
    data_dir = fresh_server.data_dir
    ((head,),) = query_db(data_dir, "SELECT version_num FROM alembic_version")
    write_db(data_dir, "UPDATE alembic_version SET version_num = '0001'")
    status, checks = await readiness(fresh_server)
    assert status == 503
    assert checks["migrations"] == (False, f"schema at 0001, this release needs {head}")
    write_db(data_dir, "UPDATE alembic_version SET version_num = ?", head)
    assert (await readiness(fresh_server))[0] == 200


async def test_a_missing_key_file_makes_the_node_unready(fresh_server: Server) -> None:
    key = fresh_server.data_dir / "keys" / "blind-index.key"
    kept = key.read_bytes()
    key.unlink()
    try:
        status, checks = await readiness(fresh_server)
        assert status == 503
        assert checks["keys"] == (False, "a key file cannot be read: FileNotFoundError")
    finally:
        key.write_bytes(kept)
    assert (await readiness(fresh_server))[0] == 200


async def test_a_dead_classifier_worker_makes_the_node_unready(servers: ServerPool) -> None:
    server = servers.start(classifiers=True)
    deadline = time.monotonic() + WAIT
    while (await readiness(server))[0] != 200:  # loading its models: not ready yet
        assert time.monotonic() < deadline, "the classifier worker never came up"
        await asyncio.sleep(0.2)
    assert (await readiness(server))[1]["classifiers"] == (True, "the worker process answers")
    (worker,) = workers_of(server.process.pid, deadline)
    worker.kill()
    psutil.wait_procs([worker], timeout=10)
    status, checks = await readiness(server)
    assert status == 503
    assert checks["classifiers"] == (False, "the worker process does not answer")
    server.stop()
