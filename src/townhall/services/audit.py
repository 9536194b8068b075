"""The audit trail: every staff action appended to the hash-chained log in the same transaction
as the action itself, so an action and its record commit or fail together."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Row

from townhall.domain.audit import (
    GENESIS,
    Checkpoint,
    Entry,
    LogVerifier,
    Problem,
    chain_hash,
    parse_checkpoint,
    sign_checkpoint,
)
from townhall.domain.errors import Conflict
from townhall.services.principal import Principal
from townhall.store import audit as audit_store
from townhall.store.database import Database, DbConnection
from townhall.store.keys import audit_signing_seed

OPERATOR = "operator"  # an action taken at the command line, by whoever runs the server
ORIGIN = "townhall audit log"
KEY_NAME = "townhall-audit"


class AuditTrail:
    def __init__(self, *, clock: Callable[[], float]) -> None:
        self._clock = clock

    async def record(
        self,
        conn: DbConnection,
        actor: Principal | None,
        action: str,
        *,
        subject: tuple[str, int] | None = None,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> int:
        """Append one row in the caller's write transaction; returns its seq.

        The write transaction holds the database's one write lock, so the head read here is
        still the head when the row is inserted, whichever process writes."""
        last = await audit_store.head(conn)
        entry = Entry(
            seq=1 if last is None else last.seq + 1,
            at_ms=int(self._clock() * 1000),
            actor_id=None if actor is None else actor.account_id,
            actor_role=OPERATOR if actor is None else actor.role,
            action=action,
            subject_type=None if subject is None else subject[0],
            subject_id=None if subject is None else subject[1],
            reason=reason,
            details=dict(details or {}),
        )
        previous = GENESIS if last is None else bytes.fromhex(last.chain_hash)
        await audit_store.append(
            conn,
            seq=entry.seq,
            at=entry.at_ms,
            actor_id=entry.actor_id,
            actor_role=entry.actor_role,
            action=entry.action,
            subject_type=entry.subject_type,
            subject_id=entry.subject_id,
            reason=entry.reason,
            details=orjson.dumps(entry.details, option=orjson.OPT_SORT_KEYS).decode(),
            chain_hash=chain_hash(previous, entry).hex(),
        )
        return entry.seq


def entry_of(row: Row) -> Entry:
    return Entry(
        seq=row.seq,
        at_ms=row.at,
        actor_id=row.actor_id,
        actor_role=row.actor_role,
        action=row.action,
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        reason=row.reason,
        details=orjson.loads(row.details),
    )


async def _walk(database: Database, checkpoints: Iterable[Checkpoint]) -> LogVerifier:
    verifier = LogVerifier(checkpoints)
    async with database.reading() as conn:
        async for row in audit_store.every_row(conn):
            if verifier.feed(entry_of(row), bytes.fromhex(row.chain_hash)) is not None:
                break
    return verifier


async def verify_log(
    database: Database, checkpoints: Iterable[Checkpoint] = ()
) -> tuple[int, Problem | None]:
    """Walk the whole log against the checkpoints: the rows it holds, and the first one that is
    not as written (or the checkpoint it falls short of)."""
    verifier = await _walk(database, checkpoints)
    return verifier.size, verifier.problem or verifier.finish()


def signing_key(keys_dir: Path) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(audit_signing_seed(keys_dir))


def read_checkpoints(paths: Iterable[Path], keys_dir: Path) -> list[Checkpoint]:
    """Each file parsed and its signature checked; a bad one raises CheckpointError."""
    public_key = signing_key(keys_dir).public_key()
    return [parse_checkpoint(path.read_bytes(), public_key, KEY_NAME) for path in paths]


async def write_checkpoint(
    database: Database,
    keys_dir: Path,
    folders: Sequence[Path],
    earlier: Iterable[Checkpoint],
    *,
    now_ms: int,
) -> tuple[Checkpoint, list[Path]]:
    """Sign what the log holds now (its Merkle root and chain head) into each folder; a log
    that does not verify, against itself and the earlier checkpoints, is not signed."""
    verifier = await _walk(database, earlier)
    problem = verifier.problem or verifier.finish()
    if problem is not None:
        raise Conflict(f"the log is broken: {problem.what}", code="audit_log_broken")
    checkpoint = Checkpoint(ORIGIN, verifier.size, verifier.root(), verifier.head, now_ms)
    text = sign_checkpoint(checkpoint, signing_key(keys_dir), KEY_NAME)
    paths = [
        audit_store.write_checkpoint_file(folder, checkpoint.tree_size, text) for folder in folders
    ]
    return checkpoint, paths
