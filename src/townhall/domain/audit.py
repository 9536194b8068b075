"""The tamper-evident audit log: entries, their hash chain, Merkle trees and signed checkpoints.

Every row carries `chain_hash(previous row's chain hash, entry)`, so editing, deleting,
reordering or inserting a row breaks the chain at that row. A hash chain has no secret, though:
someone who rewrites rows and recomputes every later hash, or who cuts off the tail, or who
restores an older copy, leaves a consistent chain. Those are caught by checkpoints: the Merkle
root (RFC 9162 §2.1) and the chain head at a tree size, signed with an Ed25519 key that lives
outside the database and written out as files.

Retention may purge an old row's content: the row then keeps its leaf hash instead, so the chain
and the checkpoint that covers it still verify, and its seq, time, action, role and subject type
stay readable (the stored leaf stands for the whole row as it was; the purge record that names
the row covers them again, `domain/purge.py`). A purged row that no matching checkpoint covers
cannot be vouched for.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from townhall.domain.note import NoteError, open_note, sign_note
from townhall.domain.time import iso_utc

HASH_SIZE = 32
GENESIS = bytes(HASH_SIZE)  # the "previous chain hash" of row 1
EMPTY_ROOT = hashlib.sha256(b"").digest()  # RFC 9162: the root of a tree with no leaves
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"


# --- entries and the chain ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One staff action as it is appended. `details` must be JSON: str keys, ints within ±2^53."""

    seq: int
    at_ms: int
    actor_id: int | None
    actor_role: str
    action: str
    subject_type: str | None
    subject_id: int | None
    reason: str | None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Problem:
    """The first thing found wrong with the log: the row it concerns and what happened to it."""

    seq: int
    what: str


def _plain_json(value: Any) -> Any:
    # rfc8785 serializes dict/list/tuple only; details may hold any Mapping or Sequence.
    if isinstance(value, Mapping):
        return {key: _plain_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_json(item) for item in value]
    return value


def canonical(entry: Entry) -> bytes:
    """RFC 8785 canonical JSON of every field. Raises ValueError for what JSON cannot hold."""
    return rfc8785.dumps(
        {
            "seq": entry.seq,
            "at_ms": entry.at_ms,
            "actor_id": entry.actor_id,
            "actor_role": entry.actor_role,
            "action": entry.action,
            "subject_type": entry.subject_type,
            "subject_id": entry.subject_id,
            "reason": entry.reason,
            "details": _plain_json(entry.details),
        }
    )


def leaf_hash(entry: Entry) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + canonical(entry)).digest()


def cleared(entry: Entry) -> Entry:
    """What retention keeps of a row: when, what, by which role, to which kind of subject. Who,
    to whom, why and the details go; the row's stored leaf hash stands in for them."""
    return dataclasses.replace(entry, actor_id=None, subject_id=None, reason=None, details={})


def _chain_step(prev: bytes, leaf: bytes) -> bytes:
    return hashlib.sha256(prev + leaf).digest()


def chain_hash(prev: bytes, entry: Entry) -> bytes:
    """The hash stored with `entry`; `prev` is the previous row's (GENESIS for row 1)."""
    return _chain_step(prev, leaf_hash(entry))


# --- Merkle trees (RFC 9162 §2.1) ---------------------------------------------------------------


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2): where RFC 9162 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleAccumulator:
    """Builds a root leaf by leaf in O(log n) memory: a stack of perfect subtrees, one per set bit
    of the size, largest first. Appending merges equal-sized subtrees like a binary carry."""

    __slots__ = ("_peaks", "_size")

    def __init__(self) -> None:
        self._peaks: list[bytes] = []
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    def append(self, leaf: bytes) -> None:
        merged, carry = leaf, self._size
        while carry & 1:
            merged = node_hash(self._peaks.pop(), merged)
            carry >>= 1
        self._peaks.append(merged)
        self._size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        # Folding the peaks right to left is exactly RFC 9162's split at the largest power of two.
        if not self._peaks:
            return EMPTY_ROOT
        acc = self._peaks[-1]
        for peak in reversed(self._peaks[:-1]):
            acc = node_hash(peak, acc)
        return acc


def _range_root(leaves: Sequence[bytes], start: int, end: int) -> bytes:
    acc = MerkleAccumulator()
    acc.extend(leaves[start:end])
    return acc.root()


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes (already `leaf_hash`ed, so no prefix is added here)."""
    return _range_root(leaves, 0, len(leaves))


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(index, leaves), leaf-level sibling first. O(n) hashing."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf {index} is not in a tree of {len(leaves)}")
    proof: list[bytes] = []
    start, end = 0, len(leaves)
    # Walk down from the root, collecting the sibling at each level; reversed, it is the path up.
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            proof.append(_range_root(leaves, start + k, end))
            end = start + k
        else:
            proof.append(_range_root(leaves, start, start + k))
            start += k
    proof.reverse()
    return proof


def _shift_while_even(fn: int, sn: int) -> tuple[int, int]:
    while fn and not fn & 1:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def verify_inclusion(
    leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does `leaf` sit at `index` of the tree of `tree_size` with `root`?"""
    if not 0 <= index < tree_size:
        return False
    fn, sn, r = index, tree_size - 1, leaf
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(sibling, r)
            fn, sn = _shift_while_even(fn, sn)
        else:
            r = node_hash(r, sibling)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(old_size, leaves): the tree of `old_size` is a prefix of this one."""
    new_size = len(leaves)
    if not 0 <= old_size <= new_size:
        raise ValueError(f"old size {old_size} is not within a tree of {new_size}")
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    start, end, m = 0, new_size, old_size
    old_is_whole_subtree = True  # the b flag of SUBPROOF: is the old tree's root known already?
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            proof.append(_range_root(leaves, start + k, end))
            end = start + k
        else:
            proof.append(_range_root(leaves, start, start + k))
            start, m, old_is_whole_subtree = start + k, m - k, False
    if not old_is_whole_subtree:
        proof.append(_range_root(leaves, start, end))
    proof.reverse()
    return proof


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree of `old_size` with `old_root` a prefix of the new one?"""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # the old tree is a perfect subtree: its root starts it
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            fn, sn = _shift_while_even(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


# --- checkpoints --------------------------------------------------------------------------------


class CheckpointError(ValueError):
    """A checkpoint file that is malformed or whose signature does not verify."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """What the log looked like at `tree_size` rows: its Merkle root and its chain head."""

    origin: str
    tree_size: int
    root: bytes
    chain_head: bytes
    at_ms: int


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CheckpointError(f"checkpoint {what} is not valid base64") from exc


def _body(cp: Checkpoint) -> str:
    # A C2SP tlog-checkpoint: origin, tree size, base64 root; then two extension lines of
    # Townhall's own, which the signature covers like the rest: the chain head and the time.
    return (
        f"{cp.origin}\n{cp.tree_size}\n{_b64(cp.root)}\n"
        f"chain {_b64(cp.chain_head)}\nat {cp.at_ms}\n"
    )


def _check_fields(cp: Checkpoint) -> None:
    if not cp.origin or "\n" in cp.origin or cp.origin != cp.origin.strip():
        raise CheckpointError("checkpoint origin must be one non-empty line without edge spaces")
    if cp.tree_size < 0 or cp.at_ms < 0:
        raise CheckpointError("checkpoint tree size and time must not be negative")
    if len(cp.root) != HASH_SIZE or len(cp.chain_head) != HASH_SIZE:
        raise CheckpointError(f"checkpoint root and chain head must be {HASH_SIZE} bytes")


def sign_checkpoint(cp: Checkpoint, private_key: Ed25519PrivateKey, key_name: str) -> str:
    """The checkpoint as a C2SP signed note: the body, a blank line, and
    `— <key name> <base64(key ID || Ed25519 signature)>`."""
    _check_fields(cp)
    try:
        return sign_note(_body(cp), private_key, key_name)
    except NoteError as error:
        raise CheckpointError(str(error)) from error


def _parse_decimal(text: str, what: str) -> int:
    # Only canonical decimals: a "+5" or "05" would sign the same number twice over.
    if not text.isascii() or not text.isdigit() or (len(text) > 1 and text[0] == "0"):
        raise CheckpointError(f"checkpoint {what} is not a decimal number: {text!r}")
    return int(text)


def _parse_prefixed(line: str, prefix: str) -> str:
    if not line.startswith(prefix):
        raise CheckpointError(f"checkpoint line {line!r} should start with {prefix!r}")
    return line[len(prefix) :]


def _parse_body(body: str) -> Checkpoint:
    lines = body.split("\n")
    if len(lines) != 6 or lines[-1] != "":
        raise CheckpointError("checkpoint body must be exactly five lines")
    origin, size, root, chain, at = lines[:5]
    cp = Checkpoint(
        origin=origin,
        tree_size=_parse_decimal(size, "tree size"),
        root=_unb64(root, "root"),
        chain_head=_unb64(_parse_prefixed(chain, "chain "), "chain head"),
        at_ms=_parse_decimal(_parse_prefixed(at, "at "), "time"),
    )
    _check_fields(cp)
    return cp


def parse_checkpoint(
    text: str | bytes,
    public_key: Ed25519PublicKey,
    key_name: str | None = None,
    *,
    accept_without_key_id: bool = False,
) -> Checkpoint:
    """Parses a checkpoint signed by `public_key` (under `key_name`, or any name when None).
    Raises CheckpointError for anything malformed or unsigned. `accept_without_key_id` also
    reads the files Townhall wrote before it followed the signed-note format."""
    try:
        body = open_note(text, public_key, key_name, accept_without_key_id=accept_without_key_id)
    except NoteError as error:
        raise CheckpointError(f"checkpoint: {error}") from error
    return _parse_body(body)


def _describe(cp: Checkpoint) -> str:
    return f"checkpoint {iso_utc(cp.at_ms)}"


def check_against(
    cp: Checkpoint,
    leaves_prefix_root: bytes,
    tree_size_now: int,
    chain_hash_at_size: bytes | None,
    *,
    since_seq: int = 1,
) -> Problem | None:
    """Compares the log as it is now with a verified checkpoint. `leaves_prefix_root` is the root
    over the first `cp.tree_size` leaves and `chain_hash_at_size` the stored chain hash of row
    `cp.tree_size` (None to skip that check). `since_seq` is the first row not already vouched for
    by an earlier checkpoint: a rewrite is known to lie in since_seq..tree_size, no closer."""
    if tree_size_now < cp.tree_size:
        return Problem(
            tree_size_now + 1,
            f"the log has {tree_size_now} rows but {_describe(cp)} covers {cp.tree_size}: "
            "truncated or rolled back",
        )
    rows = f"rows {since_seq}\u2013{cp.tree_size}"
    if leaves_prefix_root != cp.root:
        return Problem(
            since_seq, f"{rows} no longer hash to the root of {_describe(cp)}: rewritten"
        )
    if chain_hash_at_size is not None and chain_hash_at_size != cp.chain_head:
        return Problem(
            since_seq, f"{rows} no longer chain to the head of {_describe(cp)}: rewritten"
        )
    return None


# --- verifying a stored log ---------------------------------------------------------------------


# A stored row: its entry, its stored chain hash and, for a purged row, its stored leaf hash.
StoredRow = tuple[Entry, bytes] | tuple[Entry, bytes, bytes | None]


class LogVerifier:
    """Checks stored rows one at a time, in one pass and O(log n) memory: the chain as it goes, and
    each checkpoint when the walk reaches its size. Feed rows in the order the store returns them
    (ORDER BY seq), then call `finish()`; both return the first Problem found, then keep it.

    A purged row is fed with its stored leaf hash (`purged_leaf`), which stands in for its content
    in the chain and the tree; it must be covered by a checkpoint that matches, or it is reported.

    With `signed_before_ms`, a row written before that time must be covered by one of the
    checkpoints: checkpoints are signed on a timer, so an older row beyond the newest one means
    the checkpoints that covered it are gone (and the rows after them may have been rewritten).
    """

    def __init__(
        self, checkpoints: Iterable[Checkpoint] = (), *, signed_before_ms: int | None = None
    ) -> None:
        self._pending = sorted(checkpoints, key=lambda cp: cp.tree_size)
        self._covered = self._pending[-1].tree_size if self._pending else 0
        self._signed_before_ms = signed_before_ms
        self._overdue: Problem | None = None  # reported last: a break in the log says more
        self._tree = MerkleAccumulator()
        self._head = GENESIS
        self._vouched = 0  # rows covered by checkpoints already matched
        self._gap: tuple[int, int] | None = None  # (the seq expected, the larger seq seen)
        self._uncovered_purge: int | None = None  # the first purged row no checkpoint covers yet
        self.problem: Problem | None = None
        self._check_due_checkpoints()  # a checkpoint of size 0 is due before any row

    @property
    def size(self) -> int:
        return self._tree.size

    @property
    def head(self) -> bytes:
        return self._head

    def root(self) -> bytes:
        return self._tree.root()

    def feed(
        self, entry: Entry, stored_chain_hash: bytes, purged_leaf: bytes | None = None
    ) -> Problem | None:
        if self.problem is not None:
            return self.problem
        if self._gap is not None:
            self.problem = self._resolve_gap(self._gap, entry.seq)
        elif entry.seq > self.size + 1:
            # Deleted, or moved later? The next row tells: hold the verdict for one row.
            self._gap = (self.size + 1, entry.seq)
        else:
            self.problem = self._check_row(entry, stored_chain_hash, purged_leaf)
            self._check_due_checkpoints()
        return self.problem

    def reject(self, problem: Problem) -> Problem:
        """A row found wrong before it could be fed (its details do not even parse)."""
        if self.problem is None:
            self.problem = problem
        return self.problem

    def finish(self) -> Problem | None:
        if self.problem is None and self._gap is not None:
            self.problem = self._resolve_gap(self._gap, None)
        if self.problem is None and self._pending:
            # Report the newest: it best shows how much is gone.
            latest = self._pending[-1]
            self.problem = check_against(latest, b"", self.size, None)
        if self.problem is None and self._uncovered_purge is not None:
            seq = self._uncovered_purge
            self.problem = Problem(seq, f"row {seq} was purged but no checkpoint covers it")
        if self.problem is None:
            self.problem = self._overdue
        return self.problem

    @staticmethod
    def _resolve_gap(gap: tuple[int, int], next_seq: int | None) -> Problem:
        missing, seen = gap
        if next_seq == missing:
            return Problem(missing, f"row {missing} appears after row {seen}: reordered")
        return Problem(missing, f"row {missing} is missing: deleted")

    def _check_row(self, entry: Entry, stored: bytes, purged_leaf: bytes | None) -> Problem | None:
        seq, last = entry.seq, self.size
        if seq < last:
            return Problem(seq, f"row {seq} appears after row {last}: reordered")
        if seq == last:
            return Problem(seq, f"row {seq} appears twice: inserted or duplicated")
        if purged_leaf is None:
            leaf = _leaf_or_none(entry)
        elif entry == cleared(entry):
            leaf = purged_leaf
        else:  # the stored leaf vouches for the row as it was, not for content put back since
            return Problem(seq, f"row {seq} was purged but holds content again: edited")
        if leaf is None or (head := _chain_step(self._head, leaf)) != stored:
            return Problem(seq, f"row {seq} was edited or a row was inserted before it")
        self._tree.append(leaf)
        self._head = head
        if purged_leaf is not None and self._uncovered_purge is None:
            self._uncovered_purge = seq
        if seq == self._covered + 1:
            self._overdue = self._unsigned_too_long(entry)
        return None

    def _unsigned_too_long(self, entry: Entry) -> Problem | None:
        """The first row beyond the newest checkpoint, if it was written before every row
        should have been signed."""
        due = self._signed_before_ms
        if due is None or entry.at_ms >= due:
            return None
        return Problem(
            entry.seq,
            f"row {entry.seq}, written {iso_utc(entry.at_ms)}, is in no checkpoint, though every "
            f"row written before {iso_utc(due)} should be: the checkpoints that covered it were "
            "removed, or none was signed since",
        )

    def _check_due_checkpoints(self) -> None:
        while self.problem is None and self._pending and self._pending[0].tree_size == self.size:
            cp = self._pending.pop(0)
            self.problem = check_against(
                cp, self.root(), self.size, self._head, since_seq=self._vouched + 1
            )
            self._vouched = cp.tree_size
            if self.problem is None:
                self._uncovered_purge = None  # every purged row so far is within cp.tree_size


def _leaf_or_none(entry: Entry) -> bytes | None:
    try:
        return leaf_hash(entry)
    except ValueError:  # details that JSON cannot hold were not written by the log
        return None


def verify_log(
    rows: Iterable[StoredRow],
    checkpoints: Iterable[Checkpoint] = (),
    *,
    signed_before_ms: int | None = None,
) -> Problem | None:
    """The first problem in the stored rows (entry, stored chain hash[, purged leaf]), in seq
    order, measured against the checkpoints (see LogVerifier); None when the log is intact.
    Streams: rows may be a cursor."""
    verifier = LogVerifier(checkpoints, signed_before_ms=signed_before_ms)
    for row in rows:
        if verifier.feed(*row) is not None:
            return verifier.problem
    return verifier.finish()


def verify_chain(rows: Iterable[StoredRow]) -> Problem | None:
    """The first broken row of the chain alone. A cut-off tail or a fully recomputed rewrite
    passes here: only `verify_log` with checkpoints catches those."""
    return verify_log(rows)
