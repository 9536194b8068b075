"""The audit trail: every staff action appended to the hash-chained log in the same transaction
as the action itself, so an action and its record commit or fail together; and the log as a
whole: verification, signed checkpoints, and the auditor's read-only view with Merkle proofs."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from townhall.domain.audit import (
    GENESIS,
    Checkpoint,
    CheckpointError,
    Entry,
    LogVerifier,
    Problem,
    chain_hash,
    check_against,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    parse_checkpoint,
    sign_checkpoint,
)
from townhall.domain.errors import Conflict, ErrorCode, InvalidInput, NotFound
from townhall.domain.note import public_bytes, verifier_key
from townhall.domain.permissions import Permission
from townhall.domain.purge import PURGE_ACTION, PurgeCheck, names_rows
from townhall.services.principal import Principal, require
from townhall.store import audit as audit_store
from townhall.store.audit import EVERY_ROW, LogFilter, StoredAuditEntry
from townhall.store.database import Database, DbConnection, Transaction
from townhall.store.keys import audit_signing_seed

security_log = logging.getLogger("townhall.security")

OPERATOR = "operator"  # an action taken at the command line, by whoever runs the server
SYSTEM = "system"  # an action the server takes by rule on its own (a reach escalation)
LOG_NAME_PREFIX = "townhall/audit-log/"
CHECKPOINT_FOLDER = "audit-checkpoints"  # in the data dir; keep copies elsewhere too
PAGE_DEFAULT = 100
PAGE_MAX = 500
YIELD_EVERY = 256  # rows: a walk in the server lets other requests run this often
T = TypeVar("T")


class AuditTrail:
    def __init__(self, *, clock: Callable[[], float]) -> None:
        self._clock = clock

    async def record(
        self,
        conn: Transaction,
        actor: Principal | None,
        action: str,
        *,
        subject: tuple[str, int] | None = None,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> int:
        """Append one row in the caller's write transaction; returns its seq. A staff member's
        action also goes to the security log once it commits."""
        if actor is not None:
            conn.after_commit(
                lambda: security_log.info(
                    "staff action: %s by account=%s role=%s on %s",
                    action,
                    actor.account_id,
                    actor.role,
                    f"{subject[0]}:{subject[1]}" if subject else "-",
                )
            )
        return await self._append(
            conn,
            None if actor is None else actor.account_id,
            OPERATOR if actor is None else actor.role,
            action,
            subject=subject,
            reason=reason,
            details=details,
        )

    async def record_automatic(
        self,
        conn: DbConnection,
        action: str,
        *,
        subject: tuple[str, int] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> int:
        """An action the server took by rule, with no one behind it (a reach escalation): no
        actor, role `system`. Appended like `record`; returns its seq."""
        return await self._append(conn, None, SYSTEM, action, subject=subject, details=details)

    async def _append(
        self,
        conn: DbConnection,
        actor_id: int | None,
        actor_role: str,
        action: str,
        *,
        subject: tuple[str, int] | None,
        reason: str | None = None,
        details: Mapping[str, Any] | None,
    ) -> int:
        """The write transaction holds the database's one write lock, so the head read here is
        still the head when the row is inserted, whichever process writes."""
        last = await audit_store.head(conn)
        entry = Entry(
            seq=1 if last is None else last.seq + 1,
            at_ms=int(self._clock() * 1000),
            actor_id=actor_id,
            actor_role=actor_role,
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

    async def record_read(
        self, conn: Transaction, actor: Principal, subject_type: str, ids: Sequence[int]
    ) -> None:
        """A staff look at private content or personal data, recorded like any action: one
        `<subject_type>.read` row naming the reader and every record shown (none: no row)."""
        if ids:
            subject = (subject_type, ids[0]) if len(ids) == 1 else None
            await self.record(
                conn, actor, f"{subject_type}.read", subject=subject, details={"ids": list(ids)}
            )


def entry_of(row: StoredAuditEntry) -> Entry:
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


def _unhex(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:  # not hex: matches no hash, so the row reads as edited where it is
        return b""


def stored_leaf(row: StoredAuditEntry) -> bytes | None:
    """A purged row's leaf hash, kept in place of its content; None for a row not purged."""
    return None if row.leaf_hash is None else _unhex(row.leaf_hash)


def leaf_of(row: StoredAuditEntry) -> bytes:
    """The row's leaf in the Merkle tree: hashed from its content, or stored once purged."""
    purged = stored_leaf(row)
    if purged is not None:
        return purged
    try:
        return leaf_hash(entry_of(row))
    except ValueError as error:  # details that are not JSON, or not JSON the log wrote
        raise Conflict(
            f"row {row.seq} cannot be hashed: the log is broken", code=ErrorCode.AUDIT_LOG_BROKEN
        ) from error


async def _purge_check(conn: DbConnection, key_file: Path) -> PurgeCheck:
    """Every purge record, read before the walk (a record follows the rows it names), and the
    key that signs them (read only when there is a signature to check)."""
    records: list[Entry] = []
    for row in await audit_store.rows_of_action(conn, PURGE_ACTION):
        try:
            records.append(entry_of(row))
        except ValueError:  # the walk names the row whose details are not JSON
            continue
    signed = any(names_rows(record.details) for record in records)
    public_key = signing_key(key_file).public_key() if signed else None
    return PurgeCheck(records, public_key)


async def _walk(
    database: Database,
    checkpoints: Iterable[Checkpoint],
    key_file: Path,
    *,
    signed_before_ms: int | None = None,
) -> LogVerifier:
    """The whole log fed to a verifier, and each row the chain vouches for to the check of the
    purges, finished: its `problem` is the first one, or None."""
    verifier = LogVerifier(checkpoints, signed_before_ms=signed_before_ms)
    async with database.reading() as conn:
        purges = await _purge_check(conn, key_file)
        async for row in audit_store.every_row(conn):
            try:
                entry = entry_of(row)
            except ValueError:
                seq = row.seq
                verifier.reject(Problem(seq, f"row {seq}'s details are not JSON: edited"))
                break
            leaf = stored_leaf(row)
            if verifier.feed(entry, _unhex(row.chain_hash), leaf) is not None:
                break
            # Only a row the chain took (not one held back after a gap) is checked for purges.
            if verifier.size == entry.seq and (problem := purges.feed(entry, leaf)) is not None:
                verifier.reject(problem)
                break
            if row.seq % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # reads run on the loop's thread: let requests through
    verifier.finish()
    return verifier


async def _verified_walk(
    database: Database, checkpoints: Iterable[Checkpoint], key_file: Path
) -> LogVerifier:
    """As `_walk`, but a log that does not verify raises Conflict."""
    verifier = await _walk(database, checkpoints, key_file)
    if verifier.problem is not None:
        raise Conflict(
            f"the log is broken: {verifier.problem.what}", code=ErrorCode.AUDIT_LOG_BROKEN
        )
    return verifier


async def verify_log(
    database: Database,
    checkpoints: Iterable[Checkpoint],
    key_file: Path,
    *,
    signed_before_ms: int | None = None,
) -> tuple[int, Problem | None]:
    """Walk the whole log against the checkpoints and the purge records (signed by the key of
    `key_file`): the rows it holds, and the first one that is not as written (or the checkpoint
    it falls short of, or a purge nobody recorded, or, given `signed_before_ms`, the first row
    written before then that no checkpoint covers)."""
    verifier = await _walk(database, checkpoints, key_file, signed_before_ms=signed_before_ms)
    return verifier.size, verifier.problem


def signing_key(key_file: Path) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(audit_signing_seed(key_file))


def log_name(public_key: Ed25519PublicKey) -> str:
    """The log's origin line and its key's name, one string as tlog-checkpoint recommends. It
    is unique to the signing key, so a witness following several Townhall logs tells them apart."""
    return LOG_NAME_PREFIX + hashlib.sha256(public_bytes(public_key)).hexdigest()[:16]


def read_checkpoint(text: str | bytes, public_key: Ed25519PublicKey) -> Checkpoint:
    """A checkpoint file of this log: signed by its key under any name (its origin was another
    before it was named after the key), files from before the signed-note format included."""
    return parse_checkpoint(text, public_key, accept_without_key_id=True)


def read_checkpoints(paths: Iterable[Path], key_file: Path) -> list[Checkpoint]:
    """Each file parsed and its signature checked; a bad one raises CheckpointError."""
    paths = list(paths)
    if not paths:
        return []  # no need for the key (and no key made just to read nothing)
    public_key = signing_key(key_file).public_key()
    return [read_checkpoint(path.read_bytes(), public_key) for path in paths]


@dataclass(frozen=True, slots=True)
class AuditRow:
    """A row of the log as an auditor reads it: its details read back, and its leaf hash,
    computed from its content or, once purged, as stored."""

    seq: int
    at: int
    actor_id: int | None
    actor_role: str
    action: str
    subject_type: str | None
    subject_id: int | None
    reason: str | None
    details: dict[str, Any]
    chain_hash: str
    leaf_hash: str
    purged: bool


def _audit_row(row: StoredAuditEntry) -> AuditRow:
    leaf = leaf_of(row)  # first: a row that cannot be hashed is a 409, never a 500
    return AuditRow(
        seq=row.seq,
        at=row.at,
        actor_id=row.actor_id,
        actor_role=row.actor_role,
        action=row.action,
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        reason=row.reason,
        details=orjson.loads(row.details),
        chain_hash=row.chain_hash,
        leaf_hash=leaf.hex(),
        purged=row.leaf_hash is not None,
    )


@dataclass(frozen=True, slots=True)
class PublishedCheckpoint:
    """The newest checkpoint as signed, its fields, and the key to check it with offline."""

    text: str
    origin: str
    tree_size: int
    root: str
    chain_head: str
    at: int
    key_name: str
    public_key: str
    verifier_key: str


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """RFC 9162: row `seq` is leaf `leaf_index` of the tree of `tree_size` rows."""

    seq: int
    tree_size: int
    leaf_index: int
    leaf_hash: str
    audit_path: list[str]
    root: str


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """RFC 9162: the tree of `first` rows is a prefix of the tree of `second`."""

    first: int
    second: int
    first_root: str
    second_root: str
    proof: list[str]


class AuditLog:
    """The log as a whole: its checkpoints (files in `folder`, copies in `also`), verification,
    and the read-only view of auditors and administrators, with RFC 9162 proofs."""

    def __init__(
        self,
        database: Database,
        key_file: Path,
        folder: Path,
        *,
        also: Sequence[Path] = (),
        clock: Callable[[], float],
    ) -> None:
        self._db = database
        self._key_file = key_file
        self._folder = folder
        self._also = tuple(also)
        self._clock = clock

    # Checkpoints --------------------------------------------------------------------------

    def checkpoint_files(self) -> list[Path]:
        return audit_store.checkpoint_files(self._folder)

    def stored_checkpoints(self) -> list[Checkpoint]:
        """Every checkpoint in the folder, signature checked; a bad one raises CheckpointError."""
        return read_checkpoints(self.checkpoint_files(), self._key_file)

    def newest_checkpoint(self) -> tuple[Checkpoint, str] | None:
        """The checkpoint of the largest size in the folder, and its text; None when there is
        none. Raises CheckpointError when that file does not verify."""
        files = self.checkpoint_files()
        return None if not files else self._read_checkpoint(files[-1])

    def _read_checkpoint(self, path: Path) -> tuple[Checkpoint, str]:
        """A checkpoint file, its signature checked, and its text. Raises CheckpointError when it
        does not verify or covers another size than its name says."""
        text = path.read_text(encoding="utf-8", errors="replace")
        public_key = signing_key(self._key_file).public_key()
        cp = read_checkpoint(text, public_key)
        if cp.tree_size != audit_store.size_named(path):
            raise CheckpointError(f"{path.name} holds a checkpoint of {cp.tree_size} rows")
        return cp, text

    async def size(self) -> int:
        """The seq of the newest row: the log's size when it is intact."""
        async with self._db.reading() as conn:
            last = await audit_store.head(conn)
        return 0 if last is None else last.seq

    async def checkpoint(self, also: Sequence[Path] = ()) -> tuple[Checkpoint, list[Path]]:
        """Sign what the log holds now (its Merkle root and chain head) into the folder, the
        configured copies and `also`; a log that does not verify, against itself and the earlier
        checkpoints, is not signed."""
        earlier = await asyncio.to_thread(self.stored_checkpoints)
        now_ms = int(self._clock() * 1000)
        verifier = await _verified_walk(self._db, earlier, self._key_file)
        key = signing_key(self._key_file)
        name = log_name(key.public_key())
        signed = Checkpoint(name, verifier.size, verifier.root(), verifier.head, now_ms)
        text = sign_checkpoint(signed, key, name)
        with self._db.storage.guarding():
            paths = [
                audit_store.write_checkpoint_file(folder, signed.tree_size, text)
                for folder in (self._folder, *self._also, *also)
            ]
        return signed, paths

    async def checkpoint_if_grown(self) -> Checkpoint | None:
        """A checkpoint, unless the newest one already covers every row (then None)."""
        newest = self.newest_checkpoint()
        if await self.size() <= (0 if newest is None else newest[0].tree_size):
            return None
        signed, _ = await self.checkpoint()
        return signed

    def purge_signing_key(self) -> Ed25519PrivateKey:
        """The audit key, which signs what each purge claims as it signs checkpoints."""
        return signing_key(self._key_file)

    async def covered_size(self) -> int:
        """Verify the whole log against every stored checkpoint and return how many rows the
        newest covers. Raises Conflict when the log or a checkpoint does not verify."""
        try:
            checkpoints = await asyncio.to_thread(self.stored_checkpoints)
        except (CheckpointError, OSError) as error:
            raise Conflict(
                f"a checkpoint cannot be trusted: {error}", code=ErrorCode.CHECKPOINT_UNTRUSTED
            ) from error
        await _verified_walk(self._db, checkpoints, self._key_file)
        return max((cp.tree_size for cp in checkpoints), default=0)

    # The auditor's view ---------------------------------------------------------------------

    async def rows(
        self,
        actor: Principal,
        *,
        after: int = 0,
        limit: int = PAGE_DEFAULT,
        only: LogFilter = EVERY_ROW,
    ) -> list[AuditRow]:
        """Up to `limit` rows after seq `after` (of one action, actor or subject), in order."""
        require(actor, Permission.READ_AUDIT)
        if not 1 <= limit <= PAGE_MAX:
            raise InvalidInput(f"limit must be within 1..{PAGE_MAX}", code=ErrorCode.LIMIT_INVALID)
        async with self._db.reading() as conn:
            rows = await audit_store.page(conn, after=after, limit=limit, only=only)
        return [_audit_row(row) for row in rows]

    def checkpoint_view(self, actor: Principal) -> PublishedCheckpoint:
        """The newest checkpoint as signed, its fields, and the key to check it with offline."""
        require(actor, Permission.READ_AUDIT)
        cp, text = self._trusted_newest()
        public_key = signing_key(self._key_file).public_key()
        name = log_name(public_key)
        return PublishedCheckpoint(
            text=text,
            origin=cp.origin,
            tree_size=cp.tree_size,
            root=cp.root.hex(),
            chain_head=cp.chain_head.hex(),
            at=cp.at_ms,
            key_name=name,
            public_key=public_bytes(public_key).hex(),
            verifier_key=verifier_key(name, public_key),
        )

    async def inclusion(
        self, actor: Principal, *, seq: int, tree_size: int | None
    ) -> InclusionProof:
        """RFC 9162 inclusion proof of row `seq` in the tree of `tree_size` rows (by default
        the newest checkpoint's)."""
        require(actor, Permission.READ_AUDIT)
        size = await self._tree_size(tree_size)
        if not 1 <= seq <= size:
            raise InvalidInput(f"seq must be within 1..{size}", code=ErrorCode.SEQ_OUT_OF_RANGE)
        leaves = await self._leaves(size)
        self._hold_to_signed(leaves, size)
        return InclusionProof(
            seq=seq,
            tree_size=size,
            leaf_index=seq - 1,
            leaf_hash=leaves[seq - 1].hex(),
            audit_path=[node.hex() for node in inclusion_proof(leaves, seq - 1)],
            root=merkle_root(leaves).hex(),
        )

    async def consistency(
        self, actor: Principal, *, first: int, second: int | None
    ) -> ConsistencyProof:
        """RFC 9162 consistency proof that the tree of `first` rows is a prefix of the tree of
        `second` (by default the newest checkpoint's)."""
        require(actor, Permission.READ_AUDIT)
        size = await self._tree_size(second)
        if not 1 <= first <= size:
            raise InvalidInput(
                f"first must be within 1..{size} (the second size)",
                code=ErrorCode.SIZES_OUT_OF_ORDER,
            )
        leaves = await self._leaves(size)
        self._hold_to_signed(leaves, first, size)
        return ConsistencyProof(
            first=first,
            second=size,
            first_root=merkle_root(leaves[:first]).hex(),
            second_root=merkle_root(leaves).hex(),
            proof=[node.hex() for node in consistency_proof(leaves, first)],
        )

    def _hold_to_signed(self, leaves: Sequence[bytes], *tree_sizes: int) -> None:
        """A proof over the trees of `tree_sizes` rows is only served from leaves that still hash
        to the root of the largest checkpoint within each tree: rows rewritten since they were
        signed would give a proof against a root nobody signed. Raises Conflict otherwise."""
        checked: set[Path] = set()
        for tree_size in tree_sizes:
            path = audit_store.newest_checkpoint_file(self._folder, at_most=tree_size)
            if path is None or path in checked:
                continue
            checked.add(path)
            cp, _ = self._trusted(partial(self._read_checkpoint, path))
            problem = check_against(cp, merkle_root(leaves[: cp.tree_size]), len(leaves), None)
            if problem is not None:
                raise Conflict(
                    f"the log is broken: {problem.what}", code=ErrorCode.AUDIT_LOG_BROKEN
                )

    @staticmethod
    def _trusted(read: Callable[[], T]) -> T:
        try:
            return read()
        except (CheckpointError, OSError) as error:
            raise Conflict(
                f"a checkpoint cannot be trusted: {error}", code=ErrorCode.CHECKPOINT_UNTRUSTED
            ) from error

    def _trusted_newest(self) -> tuple[Checkpoint, str]:
        newest = self._trusted(self.newest_checkpoint)
        if newest is None:
            raise NotFound("no checkpoint has been written yet", code=ErrorCode.NO_CHECKPOINT)
        return newest

    async def _tree_size(self, requested: int | None) -> int:
        size = self._trusted_newest()[0].tree_size if requested is None else requested
        rows = await self.size()
        if size < 1:
            raise InvalidInput("a tree size must be at least 1", code=ErrorCode.TREE_SIZE_INVALID)
        if size > rows and requested is None:
            raise Conflict(
                f"the log has {rows} rows but the newest checkpoint covers {size}: "
                "truncated or rolled back",
                code=ErrorCode.AUDIT_LOG_BROKEN,
            )
        if size > rows:
            raise InvalidInput(f"the log has only {rows} rows", code=ErrorCode.TREE_SIZE_TOO_LARGE)
        return size

    async def _leaves(self, tree_size: int) -> list[bytes]:
        """The leaf hashes of rows 1..tree_size, read a page at a time."""
        leaves: list[bytes] = []
        async with self._db.reading() as conn:
            async for row in audit_store.every_row(conn, through=tree_size):
                if row.seq != len(leaves) + 1:
                    break
                leaves.append(leaf_of(row))
                if row.seq % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
        if len(leaves) != tree_size:
            missing = len(leaves) + 1
            raise Conflict(
                f"row {missing} is missing: the log is broken", code=ErrorCode.AUDIT_LOG_BROKEN
            )
        return leaves
