"""An upgrade never changes a database behind the operator's back: a new database is made at
the newest schema, one that holds data at an older schema is migrated only when they say so
(`townhall migrate`, `serve --migrate`), `migrate --plan` shows what would run, and a database
from a newer release is refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine

from tests.test_startup import finished, townhall
from townhall.cli.settings import SCHEMA_BEHIND
from townhall.store.database import prepare_storage
from townhall.store.migrate import alembic_config, head_revision

pytestmark = pytest.mark.long  # among the longest modules: scheduled first (conftest.py)

OLDER = "0011"


def database_at(data_dir: Path, revision: str) -> Path:
    prepare_storage(data_dir, f"sqlite:///{data_dir / 'townhall.db'}")
    engine = create_engine(f"sqlite:///{data_dir / 'townhall.db'}")
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)
    engine.dispose()
    return data_dir / "townhall.db"


def schema_of(database: Path) -> str:
    with sqlite3.connect(database) as db:
        return db.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def test_an_older_database_is_migrated_only_when_asked(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    database = database_at(data_dir, OLDER)

    code, said = finished(townhall(data_dir, "serve", "--port", "0"))
    assert code == SCHEMA_BEHIND
    assert f"the database is at schema {OLDER} and this release needs {head_revision()}" in said
    assert "Traceback" not in said
    code, said = finished(townhall(data_dir, "audit", "verify"))
    assert (code, "Traceback" in said) == (SCHEMA_BEHIND, False)
    assert schema_of(database) == OLDER

    planned = townhall(data_dir, "migrate", "--plan")
    assert planned.stdout is not None
    code, _ = finished(planned)
    shown = planned.stdout.read()
    assert code == 0
    assert f"the database is at schema {OLDER}" in shown
    assert "0012  readiness probes" in shown
    assert "0013  identity reveals name what they are for" in shown
    assert f"{head_revision()}  " in shown
    assert "nothing was changed" in shown
    assert schema_of(database) == OLDER

    migrated = townhall(data_dir, "migrate")
    assert finished(migrated)[0] == 0
    assert schema_of(database) == head_revision()


def test_serve_migrates_an_older_database_when_told(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    database = database_at(data_dir, OLDER)
    server = townhall(data_dir, "serve", "--port", "0", "--migrate")
    said = []
    try:
        assert server.stderr is not None
        for line in server.stderr:
            said.append(line)
            if "ready, data in" in line:
                break
    finally:
        server.terminate()
        server.wait(30)
    assert schema_of(database) == head_revision(), "".join(said)


def test_a_database_of_a_newer_release_is_refused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    database = database_at(data_dir, head_revision())
    with sqlite3.connect(database) as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    code, said = finished(townhall(data_dir, "serve", "--port", "0"))
    assert code == SCHEMA_BEHIND
    assert "migrated by a newer release" in said


def test_an_invitation_its_invitee_joined_the_group_without_is_used_up(tmp_path: Path) -> None:
    """0024: before it, joining by a link, a request or being added left the invitation waiting,
    for a member removed later to come back by."""
    database = database_at(tmp_path / "data", "0023")
    invitations = [  # group, invitee, state, invited at
        (1, 10, "pending", 100),  # joined by a link at 150, since removed: used up
        (1, 11, "pending", 300),  # invited again after leaving at 200: still waiting
        (1, 12, "accepted", 100),  # answered already
        (2, 10, "pending", 100),  # never joined group 2
    ]
    history = [(1, 10, "joined", 150), (1, 10, "removed", 180), (1, 11, "joined", 50)]
    history += [(1, 11, "left", 200), (1, 12, "joined", 120)]
    with sqlite3.connect(database) as db:
        db.executemany(
            "INSERT INTO invitations (conversation_id, invitee_id, inviter_id, state, created_at)"
            " VALUES (?, ?, 1, ?, ?)",
            invitations,
        )
        db.executemany(
            "INSERT INTO member_history (conversation_id, account_id, change, at)"
            " VALUES (?, ?, ?, ?)",
            history,
        )
    engine = create_engine(f"sqlite:///{database}")
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0024")
    engine.dispose()
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT conversation_id, invitee_id, state, answered_at FROM invitations"
            " ORDER BY conversation_id, invitee_id"
        ).fetchall()
    assert rows == [
        (1, 10, "superseded", 150),
        (1, 11, "pending", None),
        (1, 12, "accepted", None),
        (2, 10, "pending", None),
    ]
