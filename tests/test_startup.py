"""Start-up waits for another process's writes instead of dying on them: a CLI command or
`townhall migrate` on the same fresh data dir. A second server on a data dir is refused, and so
is any other command than `serve` and `migrate` on a data dir that does not exist."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import pytest

from tests.conftest import CLI, PASSWORD, TOWNHALL, ServerPool, unique_handle
from tests.support import query_db, without_townhall_settings
from townhall.cli.settings import DATA_DIR_IN_USE, NO_DATA_DIR

pytestmark = pytest.mark.long  # among the longest modules: scheduled first (conftest.py)

# Longer than the server's import time plus SQLite's busy timeout (5 s) on an idle machine:
# start-up must wait out a writer beyond that timeout too.
HELD_SECONDS = 8.0


def command_env() -> dict[str, str]:
    env = without_townhall_settings()
    env.update(TOWNHALL_PASSWORD_HASH_PROFILE="cheapest", TOWNHALL_CLASSIFIERS="false")
    return env


def townhall(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.Popen[str]:
    """The console script itself, as a process of its own: these tests race them."""
    process = subprocess.Popen(
        [str(TOWNHALL), *args, "--data-dir", str(data_dir)],
        env=command_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    process.stdin.write(stdin or "")
    process.stdin.close()
    return process


def finished(process: subprocess.Popen[str]) -> tuple[int, str]:
    assert process.stderr is not None
    process.wait(120)
    return process.returncode, process.stderr.read()


def create_staff(data_dir: Path, handle: str) -> subprocess.Popen[str]:
    return townhall(
        data_dir,
        "admin", "create-staff", "--handle", handle, "--role", "reviewer", "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip


def test_the_first_start_waits_for_a_write_another_process_holds(
    servers: ServerPool, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    with closing(
        sqlite3.connect(data_dir / "townhall.db", isolation_level=None, check_same_thread=False)
    ) as writer:
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("BEGIN IMMEDIATE")  # what a CLI command's write transaction holds
        committed = threading.Event()

        def commit() -> None:
            writer.execute("COMMIT")
            committed.set()

        done = threading.Timer(HELD_SECONDS, commit)
        done.start()
        try:
            server = servers.start(data_dir=data_dir)  # fails the test if the server exits
            ready_after_the_commit = committed.is_set()
        finally:
            done.join()
    try:
        assert ready_after_the_commit
        assert "Application startup failed" not in server.log()
        server.create_staff("reviewer")
    finally:
        server.stop()


def test_a_create_staff_during_the_servers_first_migration_leaves_both_running(
    servers: ServerPool, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)  # a fresh install's, as `townhall migrate` or `serve` makes it
    handle = unique_handle("rita")
    with ThreadPoolExecutor(1) as pool:
        made = pool.submit(lambda: finished(create_staff(data_dir, handle)))
        server = servers.start(data_dir=data_dir)
        returncode, stderr = made.result()
    try:
        assert returncode == 0, stderr
        assert server.is_healthy()
        assert query_db(data_dir, "SELECT role FROM accounts WHERE handle = ?", handle) == [
            ("reviewer",)
        ]
    finally:
        server.stop()


def test_migrations_and_commands_racing_on_a_fresh_data_dir_all_succeed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    handles = [unique_handle("rita"), unique_handle("sam")]
    racing = [
        townhall(data_dir, "migrate"),
        townhall(data_dir, "migrate"),
        *(create_staff(data_dir, handle) for handle in handles),
    ]
    for process in racing:
        returncode, stderr = finished(process)
        assert returncode == 0, stderr
    assert query_db(data_dir, "SELECT version_num FROM alembic_version") != []
    made = query_db(data_dir, "SELECT handle FROM accounts ORDER BY id")
    assert sorted(handle for (handle,) in made) == sorted(handles)


def test_a_second_server_on_a_data_dir_is_refused_and_the_first_serves_on(
    servers: ServerPool, tmp_path: Path
) -> None:
    first = servers.start(data_dir=tmp_path / "data")
    try:
        returncode, stderr = finished(townhall(first.data_dir, "serve", "--port", "0"))
        assert returncode == DATA_DIR_IN_USE
        assert f"another townhall server (pid {first.process.pid}) is running on" in stderr
        assert first.is_healthy()
    finally:
        first.process.kill()  # a crash: the lock goes with the process
        first.process.wait(10)
    restarted = servers.start(data_dir=first.data_dir)
    try:
        assert restarted.is_healthy()
    finally:
        restarted.stop()


def test_commands_refuse_a_data_dir_that_does_not_exist_and_make_nothing(tmp_path: Path) -> None:
    nowhere = tmp_path / "wrong-folder"

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        # One after another, with nothing to race: forked, as Server.cli runs them.
        return CLI.run(
            [*args, "--data-dir", str(nowhere)], env=command_env(), stdin=stdin, timeout=120
        )

    for command in (["audit", "verify"], ["export", "filings"], ["lexicon", "export"]):
        refused = run(*command)
        assert refused.returncode == NO_DATA_DIR, command
        assert f"there is no data dir at {nowhere}" in refused.stderr
    staff = ["admin", "create-staff", "--handle", unique_handle("rita"), "--role", "reviewer"]
    assert run(*staff, "--password-stdin", stdin=PASSWORD + "\n").returncode == NO_DATA_DIR
    assert not nowhere.exists()
    # A fresh install starts with `townhall migrate` (or `serve`), which makes it.
    assert run("migrate").returncode == 0
    verified = run("audit", "verify")
    assert verified.returncode == 0, verified.stderr


def test_a_data_dir_made_open_to_others_is_closed_at_start(
    servers: ServerPool, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)  # whatever the umask: as an operator's `mkdir` leaves it
    server = servers.start(data_dir=data_dir)
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    for name in ("townhall.db", "townhall.db-wal"):
        assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600
    assert "was open to others (mode 755); now 700" in server.log()
