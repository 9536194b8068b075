"""What `townhall bench messaging --url` counts as the cost of a message: the servers with the
processes under them, and only the PostgreSQL backends of the bench's own database."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import psutil
import pytest

from tests.databases import PostgresDatabases, plain_url, url_of
from tests.support import unavailable_here
from townhall.bench.server import CpuSource, ServerUsage, postgresql_backends

# A worker: says it is ready, burns 0.4 s of CPU when told to, says so, then idles (a worker that
# ended would take its CPU time with it).
WORKER = (
    "import sys, time\n"
    "print('ready', flush=True); sys.stdin.readline()\n"
    "end = time.process_time() + 0.4\n"
    "while time.process_time() < end: pass\n"
    "print('burnt', flush=True); time.sleep(60)"
)


@pytest.fixture
def supervisor() -> Iterator[subprocess.Popen[str]]:
    """A parent that only waits, as `townhall serve --workers` does, over one worker."""
    script = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {WORKER!r}])"
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None and parent.stdout.readline() == "ready\n"
    yield parent
    for process in psutil.Process(parent.pid).children():
        process.kill()
    parent.kill()
    parent.wait()


def test_cpu_per_message_counts_the_workers_under_a_server_and_each_source(
    supervisor: subprocess.Popen[str],
) -> None:
    assert len(psutil.Process(supervisor.pid).children()) == 1  # the worker under the server
    idle = psutil.Process()  # this test's own process stands for an idle Redis
    usage = ServerUsage([psutil.Process(supervisor.pid)], [CpuSource("redis", lambda: [idle])])
    usage.begin()
    assert supervisor.stdin is not None and supervisor.stdout is not None
    supervisor.stdin.write("go\n")
    supervisor.stdin.flush()
    # Told by the worker, not polled from /proc: its CPU times there are in 10 ms ticks, split
    # between user and system, so a 0.4 s burn may read as 0.38 s.
    assert supervisor.stdout.readline() == "burnt\n"
    figures = usage.report(messages=500)

    spent = figures["cpu_seconds"]
    assert 0.37 <= spent["server"] <= 0.6  # the worker's burn; the waiting parent adds ~nothing
    assert spent["redis"] < 0.1
    assert spent["total"] == pytest.approx(spent["server"] + spent["redis"], abs=0.011)
    per_thousand = figures["cpu_seconds_per_1000_messages"]
    assert per_thousand["server"] == pytest.approx(2 * spent["server"], abs=0.01)
    assert per_thousand["total"] == pytest.approx(2 * spent["total"], abs=0.01)
    assert figures["server_rss_mb"] > 0


def test_postgresql_cpu_counts_the_backends_of_the_bench_database_only() -> None:
    import psycopg

    databases = PostgresDatabases()
    name = databases.empty().rsplit("/", 1)[1]
    plain = plain_url(url_of(name))
    try:
        ours = [psycopg.connect(plain) for _ in range(2)]
        other = psycopg.connect(plain.rsplit("/", 1)[0] + "/postgres")
        if not any(p.info["name"] == "postgres" for p in psutil.process_iter(["name"])):
            unavailable_here("PostgreSQL's processes are not on this machine")
        found = {process.pid for process in postgresql_backends(name)}
        assert found == {conn.info.backend_pid for conn in ours}
        assert other.info.backend_pid not in found
        for conn in (*ours, other):
            conn.close()
    finally:
        databases.drop_all()
