"""`townhall serve --workers N`: N processes on one port on PostgreSQL, kept running by a
supervisor; refused on SQLite, which serves one process."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import TOWNHALL, ServerPool, _free_port
from tests.databases import PostgresDatabases, on_postgresql, sqlite_only
from tests.redis_here import redis_url, unique_prefix
from tests.support import without_townhall_settings

WORKERS = 2
START_SECONDS = 90.0


def settings_env(**settings: str) -> dict[str, str]:
    env = without_townhall_settings()
    env["TOWNHALL_PASSWORD_HASH_PROFILE"] = "cheapest"
    env["TOWNHALL_CLASSIFIERS"] = "false"
    env.update({f"TOWNHALL_{name.upper()}": value for name, value in settings.items()})
    return env


def wait_for(condition: object, seconds: float = START_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.1)


def healthy(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def supervisor(
    tmp_path: Path, servers: ServerPool, postgres_databases: PostgresDatabases
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    if not on_postgresql():
        pytest.skip("several processes share PostgreSQL: the PostgreSQL run has this test")
    port = _free_port()
    env = settings_env(
        database_url=postgres_databases.fresh(),
        bus_url=redis_url(),
        bus_prefix=unique_prefix(),
        **servers.provider.settings(),
    )
    process = subprocess.Popen(
        [str(TOWNHALL), "serve", "--workers", str(WORKERS), "--port", str(port),
         "--data-dir", str(tmp_path / "data")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "serve.log").open("wb"),
    )  # fmt: skip
    yield process, f"http://127.0.0.1:{port}"
    if process.poll() is None:
        process.kill()
        for child in psutil.Process(process.pid).children():
            child.kill()
        process.wait()


def workers_of(process: subprocess.Popen[bytes]) -> list[psutil.Process]:
    return psutil.Process(process.pid).children()


def test_workers_share_the_port_and_one_that_dies_is_started_again(
    supervisor: tuple[subprocess.Popen[bytes], str],
) -> None:
    process, base_url = supervisor
    wait_for(lambda: healthy(base_url) and len(workers_of(process)) == WORKERS)
    first, second = workers_of(process)
    wait_for(lambda: listening(first) and listening(second))  # both accept on the port

    first.kill()
    first.wait(10)
    assert healthy(base_url)  # the other serves meanwhile
    wait_for(lambda: len(workers_of(process)) == WORKERS and first.pid not in pids(process))
    wait_for(lambda: healthy(base_url))

    running = workers_of(process)
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    assert psutil.wait_procs(running, timeout=5)[1] == []  # every worker ended with it


def listening(worker: psutil.Process) -> bool:
    return any(c.status == psutil.CONN_LISTEN for c in worker.net_connections())


def pids(process: subprocess.Popen[bytes]) -> set[int]:
    return {worker.pid for worker in workers_of(process)}


@sqlite_only
def test_workers_are_refused_on_sqlite(tmp_path: Path) -> None:
    refused = subprocess.run(
        [str(TOWNHALL), "serve", "--workers", "2", "--data-dir", str(tmp_path / "data")],
        env=settings_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 5
    assert "--workers needs a database several processes share" in refused.stderr
