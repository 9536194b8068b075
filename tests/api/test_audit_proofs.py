"""The audit log through the API: auditors and administrators read its rows, its newest signed
checkpoint and RFC 9162 proofs, and check them offline against that checkpoint; the server
signs a checkpoint on a timer whenever the log grew."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tests.conftest import MakeStaff, MakeUser, Server, ServerPool, User
from tests.support import add_terms, assert_error, every_item, query_db, write_db
from townhall.domain.audit import (
    Checkpoint,
    Entry,
    leaf_hash,
    merkle_root,
    parse_checkpoint,
    verify_consistency,
    verify_inclusion,
)
from townhall.domain.time import EPOCH

LOG = "/api/v1/audit/log"
ROUTES = [
    (LOG, {}),
    (f"{LOG}/checkpoint", {}),
    (f"{LOG}/proofs/inclusion", {"seq": 1}),
    (f"{LOG}/proofs/consistency", {"first": 1}),
]


def trusted(view: dict[str, Any]) -> Checkpoint:
    """What an auditor does offline: check the signature with the published key, then the
    fields the API stated beside it."""
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(view["public_key"]))
    cp = parse_checkpoint(view["text"], key, view["key_name"])
    assert (cp.tree_size, cp.root.hex(), cp.chain_head.hex()) == (
        view["tree_size"],
        view["root"],
        view["chain_head"],
    )
    return cp


def at_ms(iso: str) -> int:
    return (datetime.fromisoformat(iso) - EPOCH) // timedelta(milliseconds=1)


def recomputed_leaf(row: dict[str, Any]) -> bytes:
    """A row's leaf as the auditor computes it from the row's own fields (a purged row has only
    its stored leaf hash left)."""
    if row["purged"]:
        return bytes.fromhex(row["leaf_hash"])
    fields = ("actor_id", "actor_role", "action", "subject_type", "subject_id", "reason")
    entry = Entry(
        row["seq"], at_ms(row["at"]), *(row[name] for name in fields), details=row["details"]
    )
    return leaf_hash(entry)


async def every_row(auditor: User, limit: int = 500) -> list[dict[str, Any]]:
    return await every_item(auditor, LOG, "rows", limit=limit)


def after_seq(seq: int) -> str:
    """The cursor of the log's page that starts after row `seq`: the log's cursor is a seq."""
    return str(seq)


def hexes(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(value) for value in values]


def purge_by_hand(server: Server, seq: int) -> None:
    """What retention does to a row (its leaf hash kept, its content cleared), done by hand: no
    purge record names it."""
    (row,) = query_db(
        server.data_dir,
        "SELECT seq, at, actor_id, actor_role, action, subject_type, subject_id, reason,"
        " details FROM audit_log WHERE seq = ?",
        seq,
    )
    leaf = leaf_hash(Entry(*row[:8], details=json.loads(row[8]))).hex()
    write_db(
        server.data_dir,
        "UPDATE audit_log SET actor_id = NULL, subject_id = NULL, reason = NULL,"
        " details = '{}', leaf_hash = ? WHERE seq = ?",
        leaf,
        seq,
    )


async def test_proofs_from_the_api_verify_against_the_signed_checkpoint(
    fresh_server: Server, make_staff: MakeStaff
) -> None:
    admin = await make_staff("admin", on=fresh_server, new=True)
    auditor = await make_staff("auditor", on=fresh_server, new=True)
    await add_terms(admin, 0, 5)
    none_yet = await auditor.raw("GET", f"{LOG}/checkpoint")
    assert_error(none_yet, 404, "no_checkpoint")
    assert_error(
        await auditor.raw("GET", f"{LOG}/proofs/inclusion", params={"seq": 1}), 404, "no_checkpoint"
    )
    assert fresh_server.cli("audit", "checkpoint").returncode == 0
    first = trusted(await auditor.request("GET", f"{LOG}/checkpoint"))
    assert first.tree_size == 7  # two staff.create rows and five lexicon.add rows

    rows = await every_row(auditor, limit=3)
    assert [row["seq"] for row in rows] == list(range(1, 8))
    assert [recomputed_leaf(row).hex() for row in rows] == [row["leaf_hash"] for row in rows]
    assert merkle_root([recomputed_leaf(row) for row in rows]) == first.root
    for seq in range(1, first.tree_size + 1):
        proof = await auditor.request("GET", f"{LOG}/proofs/inclusion", params={"seq": seq})
        assert (proof["tree_size"], proof["root"]) == (first.tree_size, first.root.hex())
        assert proof["leaf_hash"] == rows[seq - 1]["leaf_hash"]
        assert verify_inclusion(
            bytes.fromhex(proof["leaf_hash"]),
            seq - 1,
            first.tree_size,
            hexes(proof["audit_path"]),
            first.root,
        )

    # The log grows; a second checkpoint; the first tree is a prefix of the second.
    await add_terms(admin, 5, 6)
    assert fresh_server.cli("audit", "checkpoint").returncode == 0
    second = trusted(await admin.request("GET", f"{LOG}/checkpoint"))
    assert second.tree_size == 13
    consistency = await auditor.request(
        "GET", f"{LOG}/proofs/consistency", params={"first": first.tree_size}
    )
    assert (consistency["first"], consistency["second"]) == (first.tree_size, second.tree_size)
    assert (consistency["first_root"], consistency["second_root"]) == (
        first.root.hex(),
        second.root.hex(),
    )
    assert verify_consistency(
        first.tree_size, second.tree_size, first.root, second.root, hexes(consistency["proof"])
    )
    assert not verify_consistency(
        first.tree_size, second.tree_size, second.root, second.root, hexes(consistency["proof"])
    )

    # A purged row keeps its leaf: its proof still holds against the older checkpoint (the
    # proof routes check the tree, not who purged it).
    purge_by_hand(fresh_server, 3)
    page = await auditor.request("GET", LOG, params={"cursor": after_seq(2), "limit": 1})
    (purged,) = page["rows"]
    assert purged["purged"] is True and purged["leaf_hash"] == rows[2]["leaf_hash"]
    assert (purged["actor_id"], purged["subject_id"], purged["details"]) == (None, None, {})
    old = await auditor.request(
        "GET", f"{LOG}/proofs/inclusion", params={"seq": 3, "tree_size": first.tree_size}
    )
    assert verify_inclusion(
        bytes.fromhex(old["leaf_hash"]), 2, first.tree_size, hexes(old["audit_path"]), first.root
    )
    # Cleared by hand, not by retention: verify names it (tests/test_audit_retention.py).
    forged = fresh_server.cli("audit", "verify")
    assert forged.returncode == 1
    assert "row 3 looks purged, but no purge record names it" in forged.stderr


@pytest.mark.parametrize("role", ["user", "reviewer"])
async def test_only_auditors_and_administrators_read_the_log(
    server: Server, make_user: MakeUser, make_staff: MakeStaff, role: str
) -> None:
    caller = await make_user("someone") if role == "user" else await make_staff(role)
    for path, params in ROUTES:
        assert_error(await caller.raw("GET", path, params=params), 403, "role_required")
        anonymous = await caller.http.get(path, params=params)
        assert_error(anonymous, 401)
    auditor = await make_staff("auditor")
    page = await auditor.raw("GET", LOG, params={"limit": 1})
    assert page.status_code == 200, page.text
    (row,) = page.json()["rows"]
    assert set(row) == {
        "seq",
        "at",
        "actor_id",
        "actor_role",
        "action",
        "subject_type",
        "subject_id",
        "reason",
        "details",
        "chain_hash",
        "leaf_hash",
        "purged",
    }


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        (LOG, {"limit": 0}, 400, "limit_invalid"),
        (LOG, {"limit": 501}, 400, "limit_invalid"),
        (LOG, {"limit": "ten"}, 400, "invalid_request"),
        (LOG, {"cursor": "-1"}, 400, "cursor_invalid"),
        (LOG, {"cursor": str(2**70)}, 400, "cursor_invalid"),
        (LOG, {"cursor": "x" * 65}, 400, "invalid_request"),
        (f"{LOG}/proofs/inclusion", {}, 400, "invalid_request"),
        (f"{LOG}/proofs/inclusion", {"seq": 0, "tree_size": 1}, 400, "seq_out_of_range"),
        (f"{LOG}/proofs/inclusion", {"seq": 2, "tree_size": 1}, 400, "seq_out_of_range"),
        (f"{LOG}/proofs/inclusion", {"seq": 1, "tree_size": 0}, 400, "tree_size_invalid"),
        (f"{LOG}/proofs/inclusion", {"seq": 1, "tree_size": 10**9}, 400, "tree_size_too_large"),
        (f"{LOG}/proofs/inclusion", {"seq": 2**63, "tree_size": 1}, 400, "invalid_request"),
        (f"{LOG}/proofs/consistency", {"first": 0, "second": 1}, 400, "sizes_out_of_order"),
        (f"{LOG}/proofs/consistency", {"first": 2, "second": 1}, 400, "sizes_out_of_order"),
        (
            f"{LOG}/proofs/consistency",
            {"first": 1, "second": 10**9},
            400,
            "tree_size_too_large",
        ),
    ],
)
async def test_bad_sizes_are_refused_with_their_own_codes(
    server: Server,
    make_staff: MakeStaff,
    path: str,
    params: dict[str, Any],
    status: int,
    code: str,
) -> None:
    auditor = await make_staff("auditor")
    assert_error(await auditor.raw("GET", path, params=params), status, code)


def checkpoint_sizes(folder: Path) -> list[int]:
    return sorted(int(path.stem.rpartition("-")[2]) for path in folder.glob("checkpoint-*.txt"))


def log_size(server: Server) -> int:
    return query_db(server.data_dir, "SELECT count(*) FROM audit_log")[0][0]


async def eventually(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition did not hold in time")


async def test_the_server_signs_a_checkpoint_when_the_log_grew(
    servers: ServerPool, make_staff: MakeStaff, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    server = servers.start(
        audit_checkpoint_interval_seconds=1, audit_checkpoint_also=json.dumps([str(elsewhere)])
    )
    try:
        folder = server.data_dir / "audit-checkpoints"
        admin = await make_staff("admin", on=server, new=True)
        await eventually(lambda: checkpoint_sizes(folder)[-1:] == [log_size(server)])
        await add_terms(admin, 0, 3)
        await eventually(lambda: checkpoint_sizes(folder)[-1:] == [log_size(server)])
        assert checkpoint_sizes(folder)[-1] == 4
        assert checkpoint_sizes(elsewhere) == checkpoint_sizes(folder)
        written = checkpoint_sizes(folder)
        await asyncio.sleep(1.5)  # more than a round: the log did not grow, nothing new
        assert checkpoint_sizes(folder) == written
        verified = server.cli("audit", "verify")
        assert verified.returncode == 0, verified.stderr
        assert f"{len(written)} checkpoint(s) hold" in verified.stdout
    finally:
        server.stop()


async def test_no_proof_is_served_from_rows_that_no_longer_hash_to_the_signed_root(
    fresh_server: Server, make_staff: MakeStaff
) -> None:
    admin = await make_staff("admin", on=fresh_server, new=True)
    auditor = await make_staff("auditor", on=fresh_server, new=True)
    await add_terms(admin, 0, 4)
    assert fresh_server.cli("audit", "checkpoint").returncode == 0  # 6 rows
    signed = trusted(await auditor.request("GET", f"{LOG}/checkpoint"))
    await add_terms(admin, 4, 2)  # 8 rows, the last two in no checkpoint yet
    inclusion, consistency = f"{LOG}/proofs/inclusion", f"{LOG}/proofs/consistency"
    asked: list[tuple[str, dict[str, int]]] = [
        (inclusion, {"seq": 2}),
        (inclusion, {"seq": 2, "tree_size": signed.tree_size}),
        (inclusion, {"seq": 7, "tree_size": 8}),  # a larger tree whose prefix was signed
        (consistency, {"first": 3}),
        (consistency, {"first": signed.tree_size, "second": 8}),
    ]
    for path, params in asked:
        intact = await auditor.raw("GET", path, params=params)
        assert intact.status_code == 200, intact.text

    # Someone with the database but not the key edits row 4; the chain hashes stay as they were.
    write_db(fresh_server.data_dir, "UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 4")
    for path, params in asked:
        answer = await auditor.raw("GET", path, params=params)
        assert_error(answer, 409, "audit_log_broken")
        assert "no longer hash to the root" in answer.json()["error"]["message"]
    rows = await auditor.request("GET", LOG, params={"cursor": after_seq(3), "limit": 1})
    assert rows["rows"][0]["reason"] == "nothing to see"  # the rows themselves stay readable
