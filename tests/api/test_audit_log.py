"""The audit log: every staff action writes exactly one chained row in the action's own
transaction, and `townhall audit verify` names the first row anyone edited, deleted, inserted
or reordered."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    CLI,
    PASSWORD,
    MakeStaff,
    MakeUser,
    Server,
    ServerPool,
    User,
    fresh_identity,
)
from tests.support import (
    DATABASE_URLS,
    add_terms,
    group_of,
    public_account,
    query_db,
    rewrite_audit_row,
    tamper,
)


def audit_rows(server: Server) -> list[tuple[Any, ...]]:
    return query_db(
        server.data_dir,
        "SELECT seq, actor_id, actor_role, action, subject_type, subject_id, reason "
        "FROM audit_log ORDER BY seq",
    )


async def test_every_staff_action_writes_exactly_one_audit_row(
    servers: ServerPool, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    server = servers.shared(policy_pack=servers.pack(verification_mode="review"))
    reviewer = await make_staff("reviewer", on=server, new=True)
    admin = await make_staff("admin", on=server, new=True)
    pending = await make_user("pending", on=server, identity=fresh_identity())
    operator = await make_user("operator", on=server)
    await reviewer.request(
        "POST", f"/api/v1/admin/identities/{operator.id}/decision", json={"decision": "approve"}
    )
    account = await public_account(operator)
    cases: list[int] = []

    async def flagged_case() -> int:
        group = (await group_of(operator, "茶话会", pending))["id"]
        sent = await operator.send(group, f"今晚百家乐走起 {len(cases)}")
        found = await reviewer.request(
            "GET", "/api/v1/admin/review/cases", params={"source": "flag", "limit": 500}
        )
        (case,) = [
            c for c in found["cases"] if c["target"] == {"type": "message", "id": sent["id"]}
        ]
        cases.append(case["id"])
        return case["id"]

    suspension: dict[str, Any] = {}

    async def suspend_account() -> None:
        suspension.update(
            await reviewer.request(
                "POST",
                "/api/v1/admin/sanctions",
                json={
                    "subject_type": "public_account",
                    "subject_id": account["id"],
                    "kind": "suspend_updates",
                    "reason": "rumours",
                    "days": 7,
                },
            )
        )

    actions: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        (
            "identity.claim",
            lambda: reviewer.request("POST", f"/api/v1/admin/identities/{pending.id}/claim"),
        ),
        (
            "identity.reject",
            lambda: reviewer.request(
                "POST",
                f"/api/v1/admin/identities/{pending.id}/decision",
                json={"decision": "reject", "reason": "the photo is blurred"},
            ),
        ),
        (
            "identity.reveal",
            lambda: reviewer.request(
                "POST",
                f"/api/v1/admin/identities/{pending.id}/reveal",
                json={"reason": "case 118", "reference": "request:TEST-118"},
            ),
        ),
        (
            "public_account.approve",
            lambda: reviewer.request(
                "POST",
                f"/api/v1/admin/public-accounts/{account['id']}/decision",
                json={"decision": "approve"},
            ),
        ),
        ("sanction.apply", suspend_account),
        (
            "sanction.lift",
            lambda: reviewer.request(
                "POST",
                f"/api/v1/admin/sanctions/{suspension['id']}/lift",
                json={"reason": "the appeal was upheld"},
            ),
        ),
        (
            "lexicon.add",
            lambda: admin.request(
                "POST",
                "/api/v1/admin/lexicon/terms",
                json={"text": f"代开发票{operator.id}", "category": "fraud", "severity": "high"},
            ),
        ),
        (
            "lexicon.remove",
            lambda: admin.raw(
                "DELETE", "/api/v1/admin/lexicon/terms", params={"text": f"代开发票{operator.id}"}
            ),
        ),
        (
            "identity.blacklist",
            lambda: admin.request(
                "POST",
                "/api/v1/admin/blacklist",
                json={"user_id": pending.id, "reason": "a fraud ring"},
            ),
        ),
    ]
    for action, act in actions:
        before = audit_rows(server)
        await act()
        after = audit_rows(server)
        assert [row[3] for row in after[len(before) :]] == [action]

    first, second = await flagged_case(), await flagged_case()
    for action, act in [
        (
            "case.claim",
            lambda: reviewer.request("PUT", f"/api/v1/admin/review/cases/{first}/claim"),
        ),
        (
            "case.approve",
            lambda: reviewer.request(
                "POST",
                "/api/v1/admin/review/decisions",
                json={"case_ids": [first, second], "decision": "approve", "reason": "a card game"},
            ),
        ),
    ]:
        before = audit_rows(server)
        await act()
        new = audit_rows(server)[len(before) :]
        assert [row[3] for row in new] == [action]  # a bulk decision is one action, one row
    (last,) = new
    assert last[1:3] == (reviewer.id, "reviewer") and last[6] == "a card game"

    # A refused action leaves no row.
    before = audit_rows(server)
    refused = await reviewer.raw(
        "POST",
        f"/api/v1/admin/review/cases/{first}/decision",
        json={"decision": "remove", "reason": "x"},
    )
    assert refused.status_code == 409
    assert audit_rows(server) == before
    assert server.cli("audit", "verify").returncode == 0


@pytest.mark.parametrize(
    ("statements", "named"),
    [
        (["UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 3"], "row 3"),
        (["DELETE FROM audit_log WHERE seq = 3"], "row 3"),
        (
            [
                "UPDATE audit_log SET seq = -3 WHERE seq = 3",
                "UPDATE audit_log SET seq = 3 WHERE seq = 4",
                "UPDATE audit_log SET seq = 4 WHERE seq = -3",
            ],
            "row 3",
        ),
        (
            [
                "UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 3",
                "UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1003",
                "INSERT INTO audit_log (seq, at, actor_id, actor_role, action, details, chain_hash)"
                " SELECT 3, at, actor_id, actor_role, 'identity.reveal', details, chain_hash"
                " FROM audit_log WHERE seq = 2",
            ],
            "row 3",
        ),
        (["UPDATE audit_log SET details = '{not json' WHERE seq = 3"], "row 3's details"),
    ],
    ids=["edited", "deleted", "reordered", "inserted", "details-not-json"],
)
def test_verify_names_the_first_row_that_is_not_as_written(
    servers: ServerPool, six_rows: Server, tmp_path: Path, statements: list[str], named: str
) -> None:
    copy = tmp_path / "data"
    env = copy_data_dir(servers, six_rows, copy)
    tamper(copy, *statements)
    broken = CLI.run(["audit", "verify", "--data-dir", str(copy)], env=env, timeout=60)
    assert broken.returncode == 1
    assert named in broken.stderr, broken.stderr
    assert "Traceback" not in broken.stderr


@pytest.fixture(scope="module")
def six_rows(servers: ServerPool) -> Iterator[Server]:
    """A server of this module's own whose audit log holds six rows (an admin made, five terms
    added), found intact by `townhall audit verify`: each tampering is done to a copy of its
    data dir, so that one server serves them all."""
    server = servers.start()
    login = server.create_staff("admin")

    async def add() -> None:
        async with User(
            server.base_url, user_id=login.user_id, handle=login.handle, password=PASSWORD
        ) as admin:
            admin.token = login.token
            await add_terms(admin, 0, 5)

    asyncio.run(add())
    intact = server.cli("audit", "verify")
    assert intact.returncode == 0, intact.stderr
    assert "row(s)" in intact.stdout
    yield server
    server.stop()


def copy_data_dir(servers: ServerPool, server: Server, to: Path) -> dict[str, str]:
    """Copy the server's data dir as it is now, with its database (SQLite's by its backup:
    whole transactions, the WAL included; PostgreSQL's by pg_dump); returns the settings of a
    command on the copy."""
    shutil.copytree(server.data_dir, to, ignore=shutil.ignore_patterns("townhall.db*"))
    if server.data_dir in DATABASE_URLS:
        DATABASE_URLS[to] = servers.postgres.copy_of(DATABASE_URLS[server.data_dir])
        return {**server.env, "TOWNHALL_DATABASE_URL": DATABASE_URLS[to]}
    live_db, copy_db = server.data_dir / "townhall.db", to / "townhall.db"
    with closing(sqlite3.connect(live_db)) as live, closing(sqlite3.connect(copy_db)) as copy:
        live.backup(copy)
    return server.env


def restore_database(servers: ServerPool, server: Server, copy: Path) -> None:
    """The stopped server's database rolled back to the one copied to `copy`."""
    if server.data_dir in DATABASE_URLS:
        servers.postgres.replace(DATABASE_URLS[server.data_dir], DATABASE_URLS[copy])
        return
    (server.data_dir / "townhall.db").write_bytes((copy / "townhall.db").read_bytes())
    for suffix in ("-wal", "-shm"):
        (server.data_dir / f"townhall.db{suffix}").unlink(missing_ok=True)


async def test_checkpoints_catch_a_cut_tail_a_rollback_and_a_recomputed_rewrite(
    servers: ServerPool, fresh_server: Server, make_staff: MakeStaff, tmp_path: Path
) -> None:
    admin = await make_staff("admin", on=fresh_server)
    await add_terms(admin, 0, 5)
    elsewhere = tmp_path / "elsewhere"
    signed = fresh_server.cli("audit", "checkpoint", "--also", str(elsewhere))
    assert signed.returncode == 0, signed.stderr
    assert "checkpoint of 6 row(s)" in signed.stdout
    (kept,) = sorted(elsewhere.glob("checkpoint-*.txt"))
    key = fresh_server.data_dir / "keys" / "audit-signing.key"
    assert key.stat().st_mode & 0o777 == 0o600
    old_copy = tmp_path / "old-copy"  # an old copy of the database, 6 rows
    copy_data_dir(servers, fresh_server, old_copy)
    server = fresh_server
    await add_terms(admin, 5, 3)  # 9 rows
    assert server.cli("audit", "checkpoint").returncode == 0
    assert server.cli("audit", "verify").returncode == 0

    # Cut the tail: the chain alone still holds, the newest checkpoint does not.
    tamper(server.data_dir, "DELETE FROM audit_log WHERE seq > 7")
    cut = server.cli("audit", "verify")
    assert cut.returncode == 1
    assert "the log has 7 rows" in cut.stderr and "truncated or rolled back" in cut.stderr
    assert server.cli("audit", "checkpoint").returncode == 1  # a broken log is not signed

    # Roll the whole database back to the older copy.
    server.stop()
    restore_database(servers, server, old_copy)
    rolled_back = server.cli("audit", "verify")
    assert rolled_back.returncode == 1
    assert "covers 9" in rolled_back.stderr

    # Without the newer checkpoints, a rewrite that recomputed every hash still shows against
    # the copy kept elsewhere.
    for stored in (server.data_dir / "audit-checkpoints").glob("*.txt"):
        stored.unlink()
    rewrite_audit_row(server.data_dir, 3, "nothing happened")
    rewritten = server.cli("audit", "verify", "--checkpoint", str(kept))
    assert rewritten.returncode == 1
    assert "rewritten" in rewritten.stderr
    assert server.cli("audit", "verify").returncode == 0  # which is why copies live elsewhere

    # A checkpoint file that was tampered with is not trusted.
    forged = tmp_path / "forged.txt"
    forged.write_text(kept.read_text().replace("\n6\n", "\n5\n", 1))
    refused = server.cli("audit", "verify", "--checkpoint", str(forged))
    assert refused.returncode == 1
    assert "cannot be trusted" in refused.stderr


async def test_staff_reads_of_private_content_are_recorded_with_the_reader_and_what_was_read(
    fresh_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    server = fresh_server
    reviewer = await make_staff("reviewer", on=server)
    auditor = await make_staff("auditor", on=server)
    alice, bob = await make_user("alice", on=server), await make_user("bob", on=server)
    operator = await make_user("operator", on=server)
    chat = (await alice.open_direct(bob.id))["id"]
    message = await alice.send(chat, "今晚百家乐走起")
    account = await public_account(operator, reviewer)
    post = await operator.publish(account["id"], "春茶上市", "春茶上市。正文。")
    forward = await alice.request(
        "POST", f"/api/v1/posts/{post['id']}/forwards", json={"conversation_id": chat}
    )
    warning = await reviewer.request(
        "POST",
        "/api/v1/admin/sanctions",
        json={
            "subject_type": "user",
            "subject_id": bob.id,
            "kind": "warning",
            "reason": "spam messages",
        },
    )
    appeal = await bob.request(
        "POST", "/api/v1/appeals", json={"sanction_id": warning["id"], "statement": "误会"}
    )
    before = len(audit_rows(server))

    queue = await reviewer.request("GET", "/api/v1/admin/review/cases")
    (case,) = [c for c in queue["cases"] if c["target"] == {"type": "message", "id": message["id"]}]
    await reviewer.request("GET", f"/api/v1/admin/review/cases/{case['id']}")
    await reviewer.request("GET", "/api/v1/admin/appeals")
    statements = await reviewer.request("GET", "/api/v1/admin/moderation/statements")
    await reviewer.request(
        "GET", f"/api/v1/admin/reach/forwards/{forward['forward']['id']}/lineage"
    )
    await reviewer.request(
        "GET", "/api/v1/admin/identities", params={"status": "provider_verified"}
    )
    # Counts and the auditor's own views show no one's content: not recorded.
    await reviewer.request("GET", "/api/v1/admin/review/summary")
    await auditor.request("GET", "/api/v1/audit/cases")

    recorded = query_db(
        server.data_dir,
        "SELECT actor_id, actor_role, action, subject_type, subject_id, details FROM audit_log "
        "WHERE seq > ? ORDER BY seq",
        before,
    )
    assert [(r[0], r[1], r[2]) for r in recorded] == [
        (reviewer.id, "reviewer", action)
        for action in (
            "case.read",
            "case.read",
            "appeal.read",
            "statement.read",
            "forward.read",
            "identity.read",
        )
    ]
    shown = [json.loads(r[5])["ids"] for r in recorded]
    assert shown[0] == [c["id"] for c in queue["cases"]]
    assert recorded[1][3:5] == ("case", case["id"]) and shown[1] == [case["id"]]
    assert appeal["id"] in shown[2]
    assert shown[3] == [s["id"] for s in statements["statements"]]
    assert shown[4] == [forward["forward"]["id"]]
    assert {alice.id, bob.id, operator.id} <= set(shown[5])
    assert server.cli("audit", "verify").returncode == 0


def test_the_server_says_at_start_that_the_signing_key_is_in_the_data_dir(server: Server) -> None:
    said = server.logged("townhall.app")
    key = server.data_dir / "keys" / "audit-signing.key"
    warnings = [event for level, event in said if level == "warning"]
    assert any(
        w.startswith(f"the audit signing key {key} is inside the data dir") for w in warnings
    )
    assert any("audit checkpoints are kept only in the data dir" in w for w in warnings)


async def test_a_signing_key_kept_elsewhere_signs_and_the_server_signs_once_more_at_stop(
    servers: ServerPool, make_staff: MakeStaff, tmp_path: Path
) -> None:
    key = tmp_path / "offline" / "audit.key"
    copies = tmp_path / "copies"
    server = servers.start(audit_signing_key=key, audit_checkpoint_also=json.dumps([str(copies)]))
    try:
        assert "audit signing key" not in server.log()
        assert "kept only in the data dir" not in server.log()
        admin = await make_staff("admin", on=server, new=True)
        await add_terms(admin, 0, 2)
        rows = len(audit_rows(server))
    finally:
        server.stop()
    # No round came in the hour; the rows written since start were signed as the server stopped.
    (signed,) = sorted((server.data_dir / "audit-checkpoints").glob("checkpoint-*.txt"))
    assert signed.name == f"checkpoint-{rows:012d}.txt"
    assert (copies / signed.name).read_bytes() == signed.read_bytes()
    assert key.stat().st_mode & 0o777 == 0o600
    assert not (server.data_dir / "keys" / "audit-signing.key").exists()
    verified = server.cli("audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "1 checkpoint(s) hold" in verified.stdout
    elsewhere_key = server.cli("audit", "verify", "--checkpoint", str(copies / signed.name))
    assert elsewhere_key.returncode == 0
