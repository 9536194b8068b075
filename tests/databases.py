"""The database the tests run on: SQLite files (the default), or PostgreSQL databases made from a
template migrated once per test process (TOWNHALL_TEST_DATABASE=postgresql).

`make test` runs the suite both ways. Each PostgreSQL database is named after the test process
(`th_<pid>_…`) and dropped when it ends; what a killed run leaves behind is dropped by the next.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.support import unavailable_here, without_townhall_settings

BACKEND = os.environ.get("TOWNHALL_TEST_DATABASE", "sqlite")
if BACKEND not in ("sqlite", "postgresql"):
    raise ValueError(f"TOWNHALL_TEST_DATABASE={BACKEND!r}: say sqlite or postgresql")
POSTGRES_SERVER = os.environ.get("TOWNHALL_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
TOWNHALL = Path(sys.executable).parent / "townhall"
OUR_NAMES = re.compile(r"^th_(\d+)_")
INSTANCES = itertools.count()  # several in one test process name their databases apart


def on_postgresql() -> bool:
    return BACKEND == "postgresql"


postgresql_only = pytest.mark.skipif(
    BACKEND != "postgresql", reason="several writing processes: PostgreSQL's (the second run)"
)
sqlite_only = pytest.mark.skipif(
    BACKEND != "sqlite", reason="SQLite's own behaviour (its file, its pragmas, its locks)"
)


class PostgresDatabases:
    """Fresh databases on the PostgreSQL server, each a copy of one migrated template."""

    def __init__(self) -> None:
        self._prefix = f"th_{os.getpid()}_{next(INSTANCES)}_"
        self._numbers = itertools.count()
        self._template: str | None = None
        self._made: list[str] = []

    def fresh(self) -> str:
        """The SQLAlchemy URL of a new database at the newest schema."""
        name = f"{self._prefix}{next(self._numbers)}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self._migrated_template()}"')
        self._made.append(name)
        return url_of(name)

    def empty(self) -> str:
        """The SQLAlchemy URL of a new database with no schema at all."""
        name = f"{self._prefix}{next(self._numbers)}"
        self._admin(f'CREATE DATABASE "{name}"')
        self._made.append(name)
        return url_of(name)

    def copy_of(self, url: str) -> str:
        """The URL of a new database holding what `url`'s holds now, copied by pg_dump (one
        consistent snapshot) while a server goes on using it."""
        copy = self.empty()
        if shutil.which("pg_dump") is None or shutil.which("psql") is None:
            unavailable_here("pg_dump and psql (Debian's postgresql-client) are not installed")
        dump = subprocess.run(
            ["pg_dump", "--no-owner", "--no-privileges", plain_url(url)],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            ["psql", "--quiet", "--set", "ON_ERROR_STOP=1", plain_url(copy)],
            input=dump.stdout,
            check=True,
            capture_output=True,
        )
        return copy

    def replace(self, url: str, with_copy_of: str) -> None:
        """`url`'s database becomes a copy of `with_copy_of`'s, as a restored backup would
        (nothing may be connected to the second)."""
        name, source = url.rsplit("/", 1)[1], with_copy_of.rsplit("/", 1)[1]
        self._admin(f'DROP DATABASE "{name}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')

    def drop_all(self) -> None:
        for name in self._made:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._made.clear()

    def _migrated_template(self) -> str:
        if self._template is None:
            self._drop_leftovers()
            url = self.empty()
            with tempfile.TemporaryDirectory() as data_dir:
                subprocess.run(
                    [str(TOWNHALL), "migrate", "--data-dir", data_dir],
                    check=True,
                    capture_output=True,
                    env={**without_townhall_settings(), "TOWNHALL_DATABASE_URL": url},
                )
            self._template = self._made[-1]
        return self._template

    def _drop_leftovers(self) -> None:
        """Databases of test processes that are gone (a run killed before it cleaned up)."""
        for (name,) in self._admin("SELECT datname FROM pg_database"):
            found = OUR_NAMES.match(name)
            if found and not _running(int(found.group(1))):
                self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @staticmethod
    def _admin(sql: str) -> list[tuple[Any, ...]]:
        import psycopg

        try:
            with psycopg.connect(POSTGRES_SERVER + "/postgres", autocommit=True) as conn:
                cursor = conn.execute(sql.encode())
                return cursor.fetchall() if cursor.description else []
        except psycopg.OperationalError as error:
            unavailable_here(f"PostgreSQL at {POSTGRES_SERVER} is not reachable: {error}")


def url_of(name: str) -> str:
    return f"{POSTGRES_SERVER.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{name}"


def plain_url(url: str) -> str:
    """A SQLAlchemy URL as libpq (psycopg, pg_dump) takes it."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def query_postgres(url: str, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
    """`sql` (with SQLite's `?` placeholders, as the tests write it) on a PostgreSQL database."""
    import psycopg

    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        # psycopg's placeholder is %s, so a literal % (as in LIKE '%x') is written %%.
        cursor = conn.execute(sql.replace("%", "%%").replace("?", "%s").encode(), params)
        return cursor.fetchall() if cursor.description else []


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
