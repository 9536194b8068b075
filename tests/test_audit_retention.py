"""Retention purges old audit rows' content once a checkpoint covers them, and decided cases'
content, and `townhall audit verify` still proves the log whole afterwards. The services run on
a clock the tests move, so nothing waits for days to pass."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.conftest import CLI
from tests.databases import PostgresDatabases, on_postgresql
from tests.support import DATABASE_URLS, query_db, rewrite_audit_row, tamper, write_db
from townhall.app import running_services
from townhall.config import Settings
from townhall.domain.audit import Entry, chain_hash, leaf_hash
from townhall.domain.errors import Conflict
from townhall.domain.purge import PurgeClaim, PurgedRows
from townhall.services.audit import signing_key
from townhall.services.container import Services
from townhall.services.principal import Principal

DAY = 86_400.0
DAY_MS = 86_400_000
# Old enough that the command line, on the real clock, finds the first rows past retention.
START = time.time() - 400 * DAY
PASSWORD = "a long password"
ROWS = (
    "SELECT seq, at, actor_id, actor_role, action, subject_type, subject_id, reason, details,"
    " chain_hash, leaf_hash FROM audit_log ORDER BY seq"
)
CASE = (
    "INSERT INTO review_cases (target_type, target_id, content, sources, categories, priority,"
    " state, opened_at, due_at, decided_at) VALUES ('message', ?, ?, 'flag', 'gambling', 1, ?,"
    " ?, ?, ?)"
)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    services: Services
    clock: Clock
    settings: Settings
    admin: Principal
    elsewhere: Path

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    async def add_terms(self, count: int) -> None:
        for _ in range(count):
            number = len(audit_rows(self.data_dir))
            await self.services.moderation.add_term(
                self.admin, text=f"代开发票{number}", category="fraud", severity="high"
            )

    async def checkpoint(self) -> int:
        signed, _ = await self.services.audit_log.checkpoint([self.elsewhere])
        return signed.tree_size


@pytest.fixture
async def world(tmp_path: Path, postgres_databases: PostgresDatabases) -> AsyncIterator[World]:
    data_dir = tmp_path / "data"
    if on_postgresql():
        DATABASE_URLS[data_dir] = postgres_databases.fresh()
    settings = Settings(
        data_dir=data_dir,
        database_url=DATABASE_URLS.get(data_dir),
        password_hash_profile="cheapest",
        classifiers=False,
    )
    clock = Clock(START)
    async with running_services(settings, clock=clock) as services:
        await services.accounts.create_staff(handle="admin", password=PASSWORD, role="admin")
        token = (await services.accounts.log_in("admin", PASSWORD, address=None)).token
        admin = await services.accounts.authenticate(token)
        yield World(services, clock, settings, admin, tmp_path / "elsewhere")


def audit_rows(data_dir: Path) -> list[tuple[Any, ...]]:
    return query_db(data_dir, ROWS)


def entry(row: tuple[Any, ...]) -> Entry:
    return Entry(*row[:8], details=orjson.loads(row[8]))


def townhall(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`townhall audit ARGS`, forked as Server.cli runs commands (tests/cli_fork.py)."""
    env = dict(os.environ)
    if data_dir in DATABASE_URLS:
        env["TOWNHALL_DATABASE_URL"] = DATABASE_URLS[data_dir]
    return CLI.run(["audit", *args, "--data-dir", str(data_dir)], env=env, timeout=120)


async def covered_and_purged(world: World) -> list[tuple[Any, ...]]:
    """Rows 1-5 at START, a checkpoint of them a day later, rows 6-7 after it; then, 200 days
    on, a purge. Returns the rows as they were before the purge."""
    await world.add_terms(4)
    world.clock.now += DAY
    assert await world.checkpoint() == 5
    world.clock.now += DAY
    await world.add_terms(2)
    before = audit_rows(world.data_dir)
    world.clock.now = START + 200 * DAY
    report = await world.services.retention.purge()
    assert (report.audit_rows, report.cases, report.through_seq) == (5, 0, 5)
    return before


async def test_covered_old_rows_lose_their_content_and_the_log_still_verifies(
    world: World,
) -> None:
    before = await covered_and_purged(world)
    after = audit_rows(world.data_dir)
    for old, new in zip(before[:5], after[:5], strict=True):
        # seq, at, role, action, subject type and chain hash stay; who, whom, why, details go.
        assert new[:2] == old[:2] and new[3:6] == old[3:6] and new[9] == old[9]
        assert (new[2], new[6], new[7], new[8]) == (None, None, None, "{}")
        assert new[10] == leaf_hash(entry(old)).hex()
    assert before[1][2] == world.admin.account_id and before[1][8] != "{}"  # there was content
    assert after[5:7] == before[5:7]  # old enough, but no checkpoint covers them yet
    (record,) = after[7:]
    assert record[2:5] == (None, "operator", "retention.purge")
    assert record[1] == int(world.clock.now * 1000)
    claim = json.loads(record[8])
    assert {name: claim[name] for name in ("audit_rows", "cases", "from_seq", "through_seq")} == {
        "audit_rows": 5,
        "cases": 0,
        "from_seq": 1,
        "through_seq": 5,
    }
    assert claim["retention_days"] == 183 and claim["before_ms"] == record[1] - 183 * DAY_MS

    # The purged rows verify by their stored leaves; rows 6-8, long past a checkpoint round
    # (no server ran in this test to sign them), are named as in no checkpoint.
    unsigned = townhall(world.data_dir, "verify")
    assert unsigned.returncode == 1
    assert "row 6, written" in unsigned.stderr and "is in no checkpoint" in unsigned.stderr
    (kept,) = world.elsewhere.glob("checkpoint-*.txt")
    with_copy = townhall(world.data_dir, "verify", "--checkpoint", str(kept))
    assert "row 6, written" in with_copy.stderr

    # Nothing more is due: no change, and no second record.
    again = await world.services.retention.purge()
    assert not again.changed and audit_rows(world.data_dir) == after

    # Once a checkpoint covers rows 6-7 they go too; the recent record stays, a new one follows.
    assert await world.checkpoint() == 8
    more = await world.services.retention.purge()
    assert (more.audit_rows, more.through_seq) == (2, 7)
    latest = audit_rows(world.data_dir)
    assert [row[10] is not None for row in latest] == [True] * 7 + [False, False]
    claim = json.loads(latest[8][8])
    assert (claim["audit_rows"], claim["from_seq"], claim["through_seq"]) == (2, 6, 7)
    assert await world.checkpoint() == 9
    verified = townhall(world.data_dir, "verify")
    assert verified.returncode == 0, verified.stderr


async def test_a_dry_run_counts_and_changes_nothing(world: World) -> None:
    await world.add_terms(2)
    await world.checkpoint()
    before = audit_rows(world.data_dir)
    world.clock.now += 200 * DAY
    report = await world.services.retention.purge(dry_run=True)
    assert (report.audit_rows, report.through_seq, report.dry_run) == (3, 3, True)
    assert not report.changed
    assert audit_rows(world.data_dir) == before


async def test_nothing_is_purged_before_its_retention_or_without_a_checkpoint(
    world: World,
) -> None:
    await world.add_terms(3)
    world.clock.now += 200 * DAY
    uncovered = await world.services.retention.purge()
    assert (uncovered.audit_rows, uncovered.changed) == (0, False)
    world.clock.now = START + 100 * DAY
    await world.checkpoint()
    young = await world.services.retention.purge()  # 100 days: within the pack's 183
    assert (young.audit_rows, young.changed) == (0, False)
    assert all(row[10] is None for row in audit_rows(world.data_dir))


async def test_a_log_that_does_not_verify_is_not_purged(world: World) -> None:
    await world.add_terms(3)
    await world.checkpoint()
    tamper(world.data_dir, "UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 2")
    before = audit_rows(world.data_dir)
    world.clock.now += 200 * DAY
    with pytest.raises(Conflict) as refused:
        await world.services.retention.purge()
    assert refused.value.code == "audit_log_broken" and "row 2" in refused.value.message
    assert audit_rows(world.data_dir) == before
    by_hand = townhall(world.data_dir, "purge")
    assert by_hand.returncode == 1 and "audit_log_broken" in by_hand.stderr
    assert audit_rows(world.data_dir) == before


@pytest.mark.parametrize(
    ("statements", "named"),
    [
        (
            ["UPDATE audit_log SET leaf_hash = chain_hash WHERE seq = 3"],
            "row 3 was edited or a row was inserted before it",
        ),
        (
            ["UPDATE audit_log SET chain_hash = leaf_hash WHERE seq = 3"],
            "row 3 was edited or a row was inserted before it",
        ),
        (
            ["UPDATE audit_log SET leaf_hash = 'not hex' WHERE seq = 4"],
            "row 4 was edited or a row was inserted before it",
        ),
        (
            ["UPDATE audit_log SET reason = 'made up' WHERE seq = 2"],
            "row 2 was purged but holds content again: edited",
        ),
        (
            ["UPDATE audit_log SET leaf_hash = NULL WHERE seq = 5"],
            "row 5 was edited or a row was inserted before it",
        ),
    ],
    ids=["leaf_hash", "chain_hash", "leaf_not_hex", "content_back", "leaf_removed"],
)
async def test_an_edit_of_a_purged_row_is_named(
    world: World, statements: list[str], named: str
) -> None:
    await covered_and_purged(world)
    tamper(world.data_dir, *statements)
    broken = townhall(world.data_dir, "verify")
    assert broken.returncode == 1
    assert named in broken.stderr, broken.stderr


async def test_purged_rows_need_a_checkpoint_that_covers_them(world: World) -> None:
    await covered_and_purged(world)
    (kept,) = world.elsewhere.glob("checkpoint-*.txt")
    for stored in (world.data_dir / "audit-checkpoints").glob("*.txt"):
        stored.unlink()
    uncovered = townhall(world.data_dir, "verify")
    assert uncovered.returncode == 1
    assert "row 1 was purged but no checkpoint covers it" in uncovered.stderr
    # The copy vouches for the purged rows; what is left is the tail no server signed.
    with_copy = townhall(world.data_dir, "verify", "--checkpoint", str(kept))
    assert with_copy.returncode == 1 and "row 6, written" in with_copy.stderr


async def test_a_rewrite_behind_deleted_checkpoints_fails_verify(world: World) -> None:
    await world.add_terms(4)
    assert await world.checkpoint() == 5  # written 400 days ago, like the rows
    assert townhall(world.data_dir, "verify").returncode == 0
    # With the database and the data dir: a row rewritten, every later hash recomputed, and the
    # checkpoints that would show it deleted.
    rewrite_audit_row(world.data_dir, 3, "nothing happened")
    shutil.rmtree(world.data_dir / "audit-checkpoints")
    caught = townhall(world.data_dir, "verify")
    assert caught.returncode == 1, caught.stdout
    assert caught.stderr.startswith("TAMPERED: row 1, written ")
    assert "is in no checkpoint" in caught.stderr and "were removed" in caught.stderr
    # The copy kept elsewhere names the rewrite itself.
    (kept,) = world.elsewhere.glob("checkpoint-*.txt")
    rewritten = townhall(world.data_dir, "verify", "--checkpoint", str(kept))
    assert rewritten.returncode == 1 and "rows 1\u20135 no longer hash" in rewritten.stderr


def insert_case(data_dir: Path, target_id: int, state: str, decided_at: float | None) -> None:
    opened = int(START * 1000)
    decided = None if decided_at is None else int(decided_at * 1000)
    content = json.dumps({"text": "百家乐"})
    write_db(data_dir, CASE, target_id, content, state, opened, opened, decided)


async def test_decided_cases_lose_their_content_after_the_pack_s_days(world: World) -> None:
    insert_case(world.data_dir, 1, "removed", START)
    insert_case(world.data_dir, 2, "approved", START + 100 * DAY)
    insert_case(world.data_dir, 3, "open", None)
    world.clock.now = START + 400 * DAY  # the pack keeps case content 365 days
    dry = await world.services.retention.purge(dry_run=True)
    assert (dry.audit_rows, dry.cases) == (0, 1)
    report = await world.services.retention.purge()
    assert (report.audit_rows, report.cases, report.through_seq) == (0, 1, 0)
    contents = query_db(world.data_dir, "SELECT target_id, content FROM review_cases")
    assert {target: json.loads(content) for target, content in contents} == {
        1: {"purged": True},
        2: {"text": "百家乐"},
        3: {"text": "百家乐"},
    }
    record = audit_rows(world.data_dir)[-1]
    assert record[4] == "retention.purge"
    assert json.loads(record[8]) == {"audit_rows": 0, "cases": 1, "through_seq": 0}
    assert not (await world.services.retention.purge()).changed  # purged once, not again


async def test_the_command_line_purges_on_the_real_clock(world: World) -> None:
    await world.add_terms(2)
    await world.checkpoint()
    before = audit_rows(world.data_dir)
    dry = townhall(world.data_dir, "purge", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout) == {
        "audit_rows": 3,
        "cases": 0,
        "through_seq": 3,
        "dry_run": True,
    }
    assert audit_rows(world.data_dir) == before
    done = townhall(world.data_dir, "purge")
    assert done.returncode == 0, done.stderr
    assert "purged 3 audit row(s) (through seq 3)" in done.stdout
    assert [row[4] for row in audit_rows(world.data_dir)][-1] == "retention.purge"
    assert townhall(world.data_dir, "verify").returncode == 0


async def test_the_server_s_timer_purges_and_survives_a_refusal(world: World) -> None:
    await world.add_terms(1)
    await world.checkpoint()
    world.clock.now += 200 * DAY
    timer = asyncio.create_task(world.services.retention.keep_purging(0.01))
    try:
        for _ in range(500):
            if audit_rows(world.data_dir)[-1][4] == "retention.purge":
                break
            await asyncio.sleep(0.01)
        assert [row[10] is not None for row in audit_rows(world.data_dir)] == [True, True, False]
        tamper(world.data_dir, "UPDATE audit_log SET action = 'x' WHERE seq = 3")
        await asyncio.sleep(0.05)  # a few refused rounds
        assert not timer.done()
    finally:
        timer.cancel()
        await asyncio.gather(timer, return_exceptions=True)


# --- purges that are legitimate by construction -----------------------------------------------


def append_audit_row(data_dir: Path, at_ms: int, action: str, **fields: Any) -> int:
    """A row appended as the trail appends one: the next seq, chained to the row before."""
    ((seq, previous),) = query_db(
        data_dir, "SELECT seq, chain_hash FROM audit_log ORDER BY seq DESC LIMIT 1"
    )
    row = Entry(
        seq=seq + 1,
        at_ms=at_ms,
        actor_id=fields.get("actor_id"),
        actor_role=fields.get("actor_role", "operator"),
        action=action,
        subject_type=fields.get("subject_type"),
        subject_id=fields.get("subject_id"),
        reason=fields.get("reason"),
        details=fields.get("details", {}),
    )
    write_db(
        data_dir,
        "INSERT INTO audit_log (seq, at, actor_id, actor_role, action, subject_type,"
        " subject_id, reason, details, chain_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        *(row.seq, row.at_ms, row.actor_id, row.actor_role, row.action),
        *(row.subject_type, row.subject_id, row.reason, json.dumps(row.details)),
        chain_hash(bytes.fromhex(previous), row).hex(),
    )
    return row.seq


def clear_by_hand(data_dir: Path, seq: int, *, action: str, at: int | None = None) -> None:
    """What someone with write access to the database can do to a row: clear it as retention
    would, keep its leaf hash so the chain and the checkpoints still hold, and change what it
    still shows (its action, its time), which no hash of its own covers any more."""
    (row,) = [row for row in audit_rows(data_dir) if row[0] == seq]
    write_db(
        data_dir,
        "UPDATE audit_log SET actor_id = NULL, subject_id = NULL, reason = NULL,"
        " details = '{}', leaf_hash = ?, action = ?, at = ? WHERE seq = ?",
        leaf_hash(entry(row)).hex(),
        action,
        row[1] if at is None else at,
        seq,
    )


async def a_reveal_today(world: World) -> int:
    """A log of today: three rows, then an identity reveal, signed by a checkpoint."""
    world.clock.now = time.time()
    await world.add_terms(2)
    seq = append_audit_row(
        world.data_dir,
        int(world.clock.now * 1000),
        "identity.reveal",
        actor_id=world.admin.account_id,
        actor_role="reviewer",
        subject_type="user",
        subject_id=7,
        reason="case 118",
        details={"access_record_id": 1, "reference": "request:TEST-118"},
    )
    assert await world.checkpoint() == seq
    assert townhall(world.data_dir, "verify").returncode == 0
    return seq


async def test_a_recent_row_cleared_and_relabelled_by_hand_fails_verify(world: World) -> None:
    """The security review's forged purge: a recent `identity.reveal` row cleared, its leaf
    hash kept and its action relabelled `lexicon.add`. The chain and the checkpoint hold (the
    stored leaf stands for the row), so verify used to say ok; no purge record names the row."""
    seq = await a_reveal_today(world)
    clear_by_hand(world.data_dir, seq, action="lexicon.add")
    caught = townhall(world.data_dir, "verify")
    assert caught.returncode == 1, caught.stdout
    assert caught.stderr.startswith(f"TAMPERED: row {seq} looks purged, but no purge record")
    assert "its content was deleted" in caught.stderr
    # Nothing signs or purges a log in that state.
    with pytest.raises(Conflict) as refused:
        await world.services.audit_log.checkpoint()
    assert refused.value.code == "audit_log_broken" and f"row {seq} looks purged" in str(
        refused.value.message
    )


def forged_claim(data_dir: Path, seq: int, key: Ed25519PrivateKey, **claim: Any) -> dict[str, Any]:
    """A purge record naming row `seq`, signed by `key`, that backdates the row past retention."""
    (row,) = [row for row in audit_rows(data_dir) if row[0] == seq]
    rows = PurgedRows()
    rows.add(entry(row), bytes.fromhex(row[10]))
    fields = {
        "from_seq": seq,
        "through_seq": seq,
        "audit_rows": 1,
        "before_ms": row[1] + 1,
        "retention_days": 183,
        "rows_sha256": rows.digest(),
        **claim,
    }
    return PurgeClaim(**fields).details(key, 0)


@pytest.mark.parametrize(
    ("forgery", "named"),
    [
        ("another_key", "is a purge record that is not signed by the log's key: forged"),
        ("short_retention", "keeps rows 1 days, fewer than the 183 the regulation requires"),
        ("within_retention", "is a purge record that purged rows within their retention"),
    ],
)
async def test_a_purge_record_appended_by_hand_fails_verify(
    world: World, forgery: str, named: str
) -> None:
    """Without the audit key nobody can append a purge record that verify accepts; with it, a
    record still cannot purge a row within the retention it states, nor state less than the
    regulation's."""
    seq = await a_reveal_today(world)
    old = int((time.time() - 400 * DAY) * 1000)
    clear_by_hand(world.data_dir, seq, action="lexicon.add", at=old)
    now = int(time.time() * 1000)
    key = signing_key(world.settings.resolved_audit_signing_key)
    details = {
        "another_key": lambda: forged_claim(world.data_dir, seq, Ed25519PrivateKey.generate()),
        "short_retention": lambda: forged_claim(world.data_dir, seq, key, retention_days=1),
        "within_retention": lambda: forged_claim(world.data_dir, seq, key, before_ms=now),
    }[forgery]()
    record = append_audit_row(world.data_dir, now, "retention.purge", details=details)
    caught = townhall(world.data_dir, "verify")
    assert caught.returncode == 1, caught.stdout
    assert f"row {record} " in caught.stderr and named in caught.stderr, caught.stderr


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        (
            "UPDATE audit_log SET action = 'lexicon.add' WHERE seq = 1",
            "rows 1\u20135 are no longer",
        ),
        ("UPDATE audit_log SET at = at - 1 WHERE seq = 4", "rows 1\u20135 are no longer"),
        (
            "UPDATE audit_log SET leaf_hash = '00', details = '{}' WHERE seq = 8",
            "row 1 looks purged, but no purge record names it",
        ),
    ],
    ids=["relabelled", "redated", "record_purged"],
)
async def test_what_a_purge_recorded_holds_its_rows(
    world: World, statement: str, named: str
) -> None:
    """A purged row's action and time are covered by its purge record's digest; a purge record
    cleared in turn leaves its rows unnamed (the chain names the record itself later)."""
    await covered_and_purged(world)
    tamper(world.data_dir, statement)
    caught = townhall(world.data_dir, "verify")
    assert caught.returncode == 1
    assert named in caught.stderr, caught.stderr


async def test_a_purge_stops_at_the_first_row_within_retention(world: World) -> None:
    """Purges clear one range after another: a row written late (a clock set back) holds back
    the rows after it until it is old enough itself, so every range is past retention whole."""
    await world.add_terms(2)  # rows 1-3 at START
    world.clock.now += 30 * DAY
    await world.add_terms(1)  # row 4, thirty days later
    world.clock.now -= 30 * DAY
    await world.add_terms(1)  # row 5, back at START
    await world.checkpoint()
    world.clock.now = START + 200 * DAY
    first = await world.services.retention.purge()
    assert (first.audit_rows, first.through_seq) == (3, 3)
    world.clock.now += 30 * DAY
    second = await world.services.retention.purge()
    assert (second.audit_rows, second.through_seq) == (2, 5)
    claims = [json.loads(row[8]) for row in audit_rows(world.data_dir)[5:]]
    assert [(claim["from_seq"], claim["through_seq"]) for claim in claims] == [(1, 3), (4, 5)]
    await world.checkpoint()
    verified = townhall(world.data_dir, "verify")
    assert verified.returncode == 0, verified.stderr
