"""The audit log's rules: the hash chain, RFC 9162 Merkle trees and proofs, signed checkpoints."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Sequence

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given
from hypothesis import strategies as st

from townhall.domain.audit import (
    EMPTY_ROOT,
    GENESIS,
    Checkpoint,
    CheckpointError,
    Entry,
    LogVerifier,
    MerkleAccumulator,
    Problem,
    StoredRow,
    canonical,
    chain_hash,
    check_against,
    cleared,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    parse_checkpoint,
    sign_checkpoint,
    verify_chain,
    verify_consistency,
    verify_inclusion,
    verify_log,
)
from townhall.domain.note import NoteError, key_id, open_note, public_bytes, verifier_key

Row = tuple[Entry, bytes]
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
AT_MS = 1_780_000_000_000


def _entry(seq: int, **changes: object) -> Entry:
    entry = Entry(
        seq=seq,
        at_ms=AT_MS + seq,
        actor_id=7,
        actor_role="reviewer",
        action="post.remove",
        subject_type="post",
        subject_id=1000 + seq,
        reason=f"illegal content #{seq}",
        details={"strikes": seq % 3, "tags": ["a", "b"]},
    )
    return dataclasses.replace(entry, **changes)


def _rows(n: int) -> list[Row]:
    rows, prev = [], GENESIS
    for seq in range(1, n + 1):
        entry = _entry(seq)
        prev = chain_hash(prev, entry)
        rows.append((entry, prev))
    return rows


def _leaves(rows: Sequence[Row]) -> list[bytes]:
    return [leaf_hash(entry) for entry, _ in rows]


def _checkpoint(rows: Sequence[Row]) -> Checkpoint:
    return Checkpoint(
        origin="townhall.example/audit",
        tree_size=len(rows),
        root=merkle_root(_leaves(rows)),
        chain_head=rows[-1][1] if rows else GENESIS,
        at_ms=AT_MS,
    )


# --- the reference: RFC 9162 §2.1.1 written as literally as possible ----------------------------


def _mth(leaves: Sequence[bytes]) -> bytes:
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def _fake_leaves(n: int) -> list[bytes]:
    return [hashlib.sha256(b"\x00" + i.to_bytes(4, "big")).digest() for i in range(n)]


# --- entries and the chain ----------------------------------------------------------------------


def test_canonical_form_is_rfc8785_sorted_compact_json() -> None:
    entry = _entry(1, details={"z": 1, "a": {"y": None, "b": True}})
    assert canonical(entry) == (
        b'{"action":"post.remove","actor_id":7,"actor_role":"reviewer",'
        b'"at_ms":1780000000001,"details":{"a":{"b":true,"y":null},"z":1},'
        b'"reason":"illegal content #1","seq":1,"subject_id":1001,"subject_type":"post"}'
    )


def test_canonical_form_does_not_depend_on_the_mapping_type_or_key_order() -> None:
    from types import MappingProxyType

    a = _entry(1, details={"x": 1, "y": (1, 2)})
    b = _entry(1, details=MappingProxyType({"y": [1, 2], "x": 1}))
    assert canonical(a) == canonical(b)


def test_leaf_and_chain_hashes_are_domain_separated_sha256() -> None:
    entry = _entry(1)
    leaf = hashlib.sha256(b"\x00" + canonical(entry)).digest()
    assert leaf_hash(entry) == leaf
    assert chain_hash(GENESIS, entry) == hashlib.sha256(bytes(32) + leaf).digest()


def test_an_intact_chain_has_no_problem() -> None:
    assert verify_chain(_rows(50)) is None
    assert verify_chain([]) is None


def test_verification_streams_from_an_iterator() -> None:
    assert verify_chain(iter(_rows(20))) is None


def test_an_edited_row_is_named() -> None:
    rows = _rows(20)
    entry, stored = rows[11]
    rows[11] = (dataclasses.replace(entry, reason="nothing to see"), stored)
    assert verify_chain(rows) == Problem(12, "row 12 was edited or a row was inserted before it")


def test_an_edited_stored_hash_is_named() -> None:
    rows = _rows(20)
    rows[4] = (rows[4][0], bytes(32))
    assert verify_chain(rows) == Problem(5, "row 5 was edited or a row was inserted before it")


def test_a_deleted_row_is_named() -> None:
    rows = _rows(20)
    del rows[6]
    assert verify_chain(rows) == Problem(7, "row 7 is missing: deleted")


def test_a_deleted_first_row_is_named() -> None:
    assert verify_chain(_rows(5)[1:]) == Problem(1, "row 1 is missing: deleted")


def test_a_deleted_and_renumbered_row_breaks_the_chain_there() -> None:
    rows = _rows(20)
    del rows[6]
    renumbered = [(dataclasses.replace(e, seq=i), h) for i, (e, h) in enumerate(rows, start=1)]
    assert verify_chain(renumbered) == Problem(
        7, "row 7 was edited or a row was inserted before it"
    )


def test_rows_read_out_of_order_are_named_as_reordered() -> None:
    rows = _rows(20)
    rows[8], rows[9] = rows[9], rows[8]  # read in insertion order: 10 comes before 9
    assert verify_chain(rows) == Problem(9, "row 9 appears after row 10: reordered")
    rows = _rows(20)
    rows.insert(12, rows[4])  # row 5 again after row 12
    assert verify_chain(rows) == Problem(5, "row 5 appears after row 12: reordered")


def test_swapped_contents_read_in_seq_order_break_the_chain() -> None:
    rows = _rows(20)
    (e9, h9), (e10, h10) = rows[8], rows[9]
    rows[8:10] = [(dataclasses.replace(e10, seq=9), h10), (dataclasses.replace(e9, seq=10), h9)]
    assert verify_chain(rows) == Problem(9, "row 9 was edited or a row was inserted before it")


def test_a_gap_that_is_never_filled_is_a_deletion() -> None:
    rows = _rows(20)
    assert verify_chain([*rows[:8], rows[9], rows[10]]) == Problem(9, "row 9 is missing: deleted")
    assert verify_chain([*rows[:8], rows[9]]) == Problem(9, "row 9 is missing: deleted")


def test_an_inserted_row_is_named() -> None:
    rows = _rows(20)
    forged = _entry(6, reason="made up later")
    rows.insert(5, (forged, chain_hash(rows[4][1], forged)))  # a second row 6, well forged
    assert verify_chain(rows) == Problem(6, "row 6 appears twice: inserted or duplicated")


def test_an_inserted_and_renumbered_row_is_named() -> None:
    rows = _rows(20)
    forged = _entry(6, reason="made up later")
    shifted = [(dataclasses.replace(e, seq=e.seq + 1), h) for e, h in rows[5:]]
    rows = [*rows[:5], (forged, rows[5][1]), *shifted]
    assert verify_chain(rows) == Problem(6, "row 6 was edited or a row was inserted before it")


def test_a_truncated_tail_passes_the_chain_but_not_the_checkpoint() -> None:
    rows = _rows(100)
    cp = _checkpoint(rows)
    assert verify_chain(rows[:90]) is None
    problem = verify_log(rows[:90], [cp])
    assert problem is not None
    assert problem.seq == 91
    assert "the log has 90 rows but checkpoint 2026-" in problem.what
    assert problem.what.endswith("covers 100: truncated or rolled back")


def test_a_recomputed_rewrite_passes_the_chain_but_not_the_checkpoint() -> None:
    rows = _rows(100)
    cps = [_checkpoint(rows[:50]), _checkpoint(rows)]
    # Rewrite row 70 and recompute every later hash: the chain alone cannot tell.
    forged, prev = [], rows[68][1]
    for entry, _ in rows[69:]:
        entry = dataclasses.replace(entry, reason="benign") if entry.seq == 70 else entry
        prev = chain_hash(prev, entry)
        forged.append((entry, prev))
    rewritten = rows[:69] + forged
    assert verify_chain(rewritten) is None
    assert verify_log(rewritten, cps) == Problem(
        51,
        "rows 51\u2013100 no longer hash to the root of checkpoint 2026-05-28T20:26:40.000Z: "
        "rewritten",
    )


def test_an_intact_log_matches_all_its_checkpoints() -> None:
    rows = _rows(40)
    cps = [_checkpoint(rows[:n]) for n in (0, 1, 17, 32, 40)]
    assert verify_log(rows, cps) is None
    assert verify_log(rows + _rows(41)[40:], cps) is None  # rows after the newest are fine


def test_a_rollback_to_an_older_copy_is_caught() -> None:
    rows = _rows(60)
    old_copy = rows[:45]
    cps = [_checkpoint(rows[:30]), _checkpoint(rows[:50]), _checkpoint(rows)]
    problem = verify_log(old_copy, cps)
    assert problem is not None
    assert problem.seq == 46
    assert "has 45 rows" in problem.what and "covers 60" in problem.what


def test_check_against_reports_a_diverged_chain_head() -> None:
    rows = _rows(10)
    cp = _checkpoint(rows)
    assert check_against(cp, cp.root, 12, cp.chain_head) is None
    assert check_against(cp, cp.root, 12, None) is None
    problem = check_against(cp, cp.root, 12, bytes(32), since_seq=4)
    assert problem is not None
    assert problem.seq == 4
    assert problem.what.startswith("rows 4\u201310 no longer chain to the head")


@given(st.integers(1, 30), st.data())
def test_any_single_edit_is_named_at_its_row(n: int, data: st.DataObject) -> None:
    rows = _rows(n)
    i = data.draw(st.integers(0, n - 1))
    entry, stored = rows[i]
    rows[i] = (dataclasses.replace(entry, details={"edited": True}), stored)
    problem = verify_chain(rows)
    assert problem is not None
    assert problem.seq == i + 1


@given(st.integers(2, 30), st.data())
def test_any_single_deletion_but_the_last_is_named_at_its_row(n: int, data: st.DataObject) -> None:
    rows = _rows(n)
    i = data.draw(st.integers(0, n - 2))
    del rows[i]
    assert verify_chain(rows) == Problem(i + 1, f"row {i + 1} is missing: deleted")


# --- Merkle trees -------------------------------------------------------------------------------


@pytest.mark.parametrize("n", range(18))
def test_roots_match_the_rfc_9162_definition(n: int) -> None:
    leaves = _fake_leaves(n)
    assert merkle_root(leaves) == _mth(leaves)


def test_the_empty_root_is_the_hash_of_nothing() -> None:
    assert merkle_root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()


def test_the_accumulator_gives_every_prefix_root() -> None:
    leaves = _fake_leaves(40)
    acc = MerkleAccumulator()
    for n, leaf in enumerate(leaves, start=1):
        acc.append(leaf)
        assert acc.size == n
        assert acc.root() == _mth(leaves[:n])


def test_a_root_over_100000_leaves_builds() -> None:
    leaves = _fake_leaves(100_000)
    root = merkle_root(leaves)
    acc = MerkleAccumulator()
    acc.extend(leaves)
    assert acc.root() == root
    assert len(root) == 32


@pytest.mark.parametrize("n", range(1, 34))
def test_inclusion_proofs_verify_for_every_leaf(n: int) -> None:
    leaves = _fake_leaves(n)
    root = merkle_root(leaves)
    for i in range(n):
        proof = inclusion_proof(leaves, i)
        assert verify_inclusion(leaves[i], i, n, proof, root)


@pytest.mark.parametrize("n", range(2, 34))
def test_inclusion_proofs_fail_for_a_wrong_leaf_index_or_root(n: int) -> None:
    # Not a wrong tree size of the same path shape: the signed checkpoint binds size to root.
    leaves = _fake_leaves(n)
    root = merkle_root(leaves)
    for i in range(n):
        proof = inclusion_proof(leaves, i)
        other = (i + 1) % n
        assert not verify_inclusion(leaves[other], i, n, proof, root)
        assert not verify_inclusion(leaves[i], other, n, proof, root)
        assert not verify_inclusion(leaves[i], i, n, proof, EMPTY_ROOT)
        assert not verify_inclusion(leaves[i], n, n, proof, root)
        if proof:
            assert not verify_inclusion(leaves[i], i, n, proof[:-1], root)
            assert not verify_inclusion(leaves[i], i, n, [*proof, root], root)


def test_the_inclusion_proof_of_a_single_leaf_is_empty() -> None:
    leaf = _fake_leaves(1)[0]
    assert inclusion_proof([leaf], 0) == []
    assert verify_inclusion(leaf, 0, 1, [], leaf)
    with pytest.raises(ValueError):
        inclusion_proof([leaf], 1)


def test_consistency_proofs_verify_for_every_pair_of_sizes() -> None:
    leaves = _fake_leaves(33)
    roots = [merkle_root(leaves[:n]) for n in range(34)]
    for n in range(1, 34):
        for m in range(1, n + 1):
            proof = consistency_proof(leaves[:n], m)
            assert verify_consistency(m, n, roots[m], roots[n], proof), (m, n)


def test_consistency_proofs_fail_when_a_root_or_size_is_wrong() -> None:
    leaves = _fake_leaves(33)
    roots = [merkle_root(leaves[:n]) for n in range(34)]
    altered = hashlib.sha256(b"altered").digest()
    for n in range(2, 34):
        for m in range(1, n):
            proof = consistency_proof(leaves[:n], m)
            assert not verify_consistency(m, n, altered, roots[n], proof), (m, n)
            assert not verify_consistency(m, n, roots[m], altered, proof), (m, n)
            assert not verify_consistency(m, n, roots[m], roots[n], []), (m, n)
            assert not verify_consistency(m, n, roots[m], roots[n], proof[:-1]), (m, n)


def test_consistency_edge_cases() -> None:
    leaves = _fake_leaves(5)
    root = merkle_root(leaves)
    assert consistency_proof(leaves, 0) == [] == consistency_proof(leaves, 5)
    assert verify_consistency(0, 5, EMPTY_ROOT, root, [])
    assert not verify_consistency(0, 5, root, root, [])
    assert verify_consistency(5, 5, root, root, [])
    assert not verify_consistency(5, 5, EMPTY_ROOT, root, [])
    assert not verify_consistency(6, 5, root, root, [])
    with pytest.raises(ValueError):
        consistency_proof(leaves, 6)


@given(st.integers(1, 200), st.data())
def test_proofs_hold_for_random_sizes(n: int, data: st.DataObject) -> None:
    leaves = _fake_leaves(n)
    root = merkle_root(leaves)
    i = data.draw(st.integers(0, n - 1))
    assert verify_inclusion(leaves[i], i, n, inclusion_proof(leaves, i), root)
    m = data.draw(st.integers(1, n))
    proof = consistency_proof(leaves, m)
    assert verify_consistency(m, n, merkle_root(leaves[:m]), root, proof)


@given(st.integers(2, 64), st.data())
def test_a_different_prefix_is_never_consistent(n: int, data: st.DataObject) -> None:
    leaves = _fake_leaves(n)
    m = data.draw(st.integers(1, n - 1))
    j = data.draw(st.integers(0, m - 1))
    other = list(leaves[:m])
    other[j] = hashlib.sha256(b"forged").digest()
    proof = consistency_proof(leaves, m)
    assert not verify_consistency(m, n, merkle_root(other), merkle_root(leaves), proof)


# --- checkpoints --------------------------------------------------------------------------------


def test_a_checkpoint_round_trips() -> None:
    cp = _checkpoint(_rows(12))
    text = sign_checkpoint(cp, KEY, "townhall-audit-1")
    assert parse_checkpoint(text, KEY.public_key()) == cp
    assert parse_checkpoint(text.encode(), KEY.public_key(), "townhall-audit-1") == cp


def test_a_checkpoint_reads_as_a_signed_note() -> None:
    cp = _checkpoint(_rows(3))
    lines = sign_checkpoint(cp, KEY, "k1").split("\n")
    assert lines[:2] == ["townhall.example/audit", "3"]
    assert lines[3].startswith("chain ") and lines[4] == f"at {AT_MS}"
    assert lines[5] == "" and lines[6].startswith("\u2014 k1 ") and lines[7] == ""


def test_an_empty_log_checkpoint_round_trips() -> None:
    cp = _checkpoint([])
    assert parse_checkpoint(sign_checkpoint(cp, KEY, "k"), KEY.public_key()) == cp


def _flip(text: str, index: int) -> str:
    # Change a character to another of the same class so the text stays plausible.
    ch = text[index]
    replacement = "1" if ch == "0" else "0" if ch.isdigit() else "B" if ch == "A" else "A"
    return text[:index] + replacement + text[index + 1 :]


def test_any_flipped_character_is_refused() -> None:
    text = sign_checkpoint(_checkpoint(_rows(12)), KEY, "k")
    for i, ch in enumerate(text):
        if ch in "\n \u2014=":
            continue
        with pytest.raises(CheckpointError):
            parse_checkpoint(_flip(text, i), KEY.public_key(), "k")


def test_a_flipped_signature_byte_is_refused() -> None:
    text = sign_checkpoint(_checkpoint(_rows(12)), KEY, "k")
    body, _, sig_line = text.partition("\n\n")
    sig = bytearray(base64.b64decode(sig_line.split(" ")[2]))
    sig[10] ^= 0x01
    forged = f"{body}\n\n\u2014 k {base64.b64encode(bytes(sig)).decode()}\n"
    with pytest.raises(CheckpointError, match="the signature of k does not verify"):
        parse_checkpoint(forged, KEY.public_key())


def test_the_wrong_key_or_key_name_is_refused() -> None:
    text = sign_checkpoint(_checkpoint(_rows(12)), KEY, "k")
    other = Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key()
    with pytest.raises(CheckpointError, match="no valid signature"):
        parse_checkpoint(text, other)
    with pytest.raises(CheckpointError, match="no valid signature"):
        parse_checkpoint(text, KEY.public_key(), "another-name")


def test_one_of_several_signatures_is_enough() -> None:
    cp = _checkpoint(_rows(4))
    other = Ed25519PrivateKey.from_private_bytes(bytes(32))
    theirs = sign_checkpoint(cp, other, "old").split("\n\n")[1]
    ours = sign_checkpoint(cp, KEY, "new").split("\n\n")[1]
    body = sign_checkpoint(cp, KEY, "new").split("\n\n")[0]
    assert parse_checkpoint(f"{body}\n\n{theirs}{ours}", KEY.public_key(), "new") == cp


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t.replace("\n\n", "\n"),  # no blank line
        lambda t: t.rstrip("\n"),  # no final newline
        lambda t: t.replace("\nchain ", "\nchainz "),
        lambda t: t.replace("\nat ", "\nat 0"),  # a leading zero
        lambda t: t.replace("\n12\n", "\n+12\n"),
        lambda t: t.replace("\u2014 k ", "- k "),
        lambda t: t.replace("\u2014 k ", "\u2014 k x "),
        lambda t: "",
        lambda t: t.split("\n\n")[0] + "\n\n",  # no signature line
        lambda t: "extra\n" + t,
    ],
)
def test_malformed_checkpoints_are_refused(mangle: object) -> None:
    text = sign_checkpoint(_checkpoint(_rows(12)), KEY, "k")
    with pytest.raises(CheckpointError):
        parse_checkpoint(mangle(text), KEY.public_key())  # type: ignore[operator]


def test_invalid_utf8_is_refused() -> None:
    with pytest.raises(CheckpointError, match="UTF-8"):
        parse_checkpoint(b"\xff\xfe", KEY.public_key())


def test_signing_refuses_what_could_not_be_parsed_back() -> None:
    cp = _checkpoint(_rows(2))
    with pytest.raises(CheckpointError):
        sign_checkpoint(dataclasses.replace(cp, origin="two\nlines"), KEY, "k")
    with pytest.raises(CheckpointError):
        sign_checkpoint(dataclasses.replace(cp, root=b"short"), KEY, "k")
    with pytest.raises(CheckpointError):
        sign_checkpoint(cp, KEY, "has space")


def test_the_verifier_can_be_fed_row_by_row_and_exposes_its_state() -> None:
    rows = _rows(10)
    verifier = LogVerifier([_checkpoint(rows[:6])])
    for row in rows:
        assert verifier.feed(*row) is None
    assert verifier.finish() is None
    assert (verifier.size, verifier.head) == (10, rows[-1][1])
    assert verifier.root() == merkle_root(_leaves(rows))


def test_the_verifier_keeps_the_first_problem() -> None:
    rows = _rows(10)
    verifier = LogVerifier()
    verifier.feed(*rows[0])
    first = verifier.feed(rows[1][0], bytes(32))
    assert first == Problem(2, "row 2 was edited or a row was inserted before it")
    assert verifier.feed(*rows[5]) == first
    assert verifier.finish() == first


def test_details_that_json_cannot_hold_are_refused() -> None:
    with pytest.raises(ValueError):
        canonical(_entry(1, details={"big": 2**60}))
    with pytest.raises(ValueError):
        canonical(_entry(1, details={"nan": float("nan")}))


# --- purged rows ---------------------------------------------------------------------------------


def _purge(rows: Sequence[Row], *seqs: int) -> list[StoredRow]:
    """The rows as retention leaves them: content cleared, the leaf hash kept in its place."""
    return [
        (cleared(entry), stored, leaf_hash(entry)) if entry.seq in seqs else (entry, stored)
        for entry, stored in rows
    ]


def test_cleared_keeps_when_what_role_and_subject_type_only() -> None:
    entry = cleared(_entry(3))
    assert (entry.seq, entry.at_ms, entry.actor_role, entry.action, entry.subject_type) == (
        3,
        AT_MS + 3,
        "reviewer",
        "post.remove",
        "post",
    )
    assert (entry.actor_id, entry.subject_id, entry.reason, dict(entry.details)) == (
        None,
        None,
        None,
        {},
    )


def test_purged_rows_covered_by_a_checkpoint_verify_by_their_stored_leaf() -> None:
    rows = _rows(12)
    purged = _purge(rows, 1, 2, 3, 4, 5)
    assert verify_log(purged, [_checkpoint(rows[:8])]) is None
    verifier = LogVerifier([_checkpoint(rows[:5])])
    for row in purged:
        assert verifier.feed(*row) is None
    assert verifier.finish() is None
    assert verifier.root() == merkle_root(_leaves(rows))  # the same tree as before the purge


def test_a_purged_row_no_checkpoint_covers_is_named() -> None:
    rows = _rows(12)
    assert verify_chain(_purge(rows, 2)) == Problem(
        2, "row 2 was purged but no checkpoint covers it"
    )
    # Covered rows are fine; the first purged row beyond the newest checkpoint is named.
    assert verify_log(_purge(rows, 2, 9, 10), [_checkpoint(rows[:6])]) == Problem(
        9, "row 9 was purged but no checkpoint covers it"
    )


def test_a_purged_row_is_not_covered_by_a_checkpoint_that_does_not_match() -> None:
    rows = _rows(12)
    other = _rows(12)[:6]
    wrong = dataclasses.replace(_checkpoint(other), root=bytes(32))
    problem = verify_log(_purge(rows, 2), [wrong])
    assert problem is not None and "rewritten" in problem.what


def test_an_edited_stored_leaf_or_chain_hash_of_a_purged_row_is_named() -> None:
    rows = _rows(12)
    checkpoints = [_checkpoint(rows[:8])]
    leaf_edited = _purge(rows, 2, 3, 4)
    entry, stored, _ = leaf_edited[2]
    leaf_edited[2] = (entry, stored, bytes(32))
    assert verify_log(leaf_edited, checkpoints) == Problem(
        3, "row 3 was edited or a row was inserted before it"
    )
    chain_edited = _purge(rows, 2, 3, 4)
    entry, _, leaf = chain_edited[2]
    chain_edited[2] = (entry, bytes(32), leaf)
    assert verify_log(chain_edited, checkpoints) == Problem(
        3, "row 3 was edited or a row was inserted before it"
    )


def test_content_put_back_on_a_purged_row_is_named() -> None:
    rows = _rows(6)
    purged = _purge(rows, 2)
    entry, stored, leaf = purged[1]
    purged[1] = (dataclasses.replace(entry, reason="made up later"), stored, leaf)
    assert verify_log(purged, [_checkpoint(rows)]) == Problem(
        2, "row 2 was purged but holds content again: edited"
    )


def test_a_recomputed_rewrite_of_a_purged_leaf_is_caught_by_the_checkpoint() -> None:
    rows = _rows(10)
    forged: list[StoredRow] = []
    prev = GENESIS
    for entry, _, *kept in _purge(rows, 1, 2, 3):  # row 2's leaf replaced, every hash redone
        leaf = (bytes(32) if entry.seq == 2 else kept[0]) if kept else leaf_hash(entry)
        prev = hashlib.sha256(prev + leaf).digest()
        forged.append((entry, prev, leaf) if kept else (entry, prev))
    problem = verify_log(forged, [_checkpoint(rows[:4])])
    assert problem is not None and problem.seq == 1
    assert "rows 1\u20134 no longer hash to the root" in problem.what


def test_a_row_whose_details_json_cannot_hold_reads_as_edited() -> None:
    rows = _rows(3)
    entry, stored = rows[1]
    rows[1] = (dataclasses.replace(entry, details={"big": 2**60}), stored)
    assert verify_chain(rows) == Problem(2, "row 2 was edited or a row was inserted before it")


# --- the signed-note format (c2sp.org/signed-note) -------------------------------------------

# The example of the specification itself: a verifier key and a note it verifies.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXp"
    "pzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)


def _spec_key() -> Ed25519PublicKey:
    material = base64.b64decode(SPEC_VKEY.split("+")[2])
    return Ed25519PublicKey.from_public_bytes(material[1:])


def test_key_ids_and_verifier_keys_match_the_specifications_example() -> None:
    assert key_id("example.com/foo", _spec_key()).hex() == "530d903a"
    assert verifier_key("example.com/foo", _spec_key()) == SPEC_VKEY
    assert open_note(SPEC_NOTE, _spec_key(), "example.com/foo") == "This is an example message.\n"
    with pytest.raises(NoteError, match="no valid signature"):
        open_note(SPEC_NOTE, _spec_key(), "example.com/bar")


def test_a_checkpoint_signature_line_carries_the_key_id() -> None:
    text = sign_checkpoint(_checkpoint(_rows(3)), KEY, "k1")
    signature = base64.b64decode(text.split("\n")[6].split(" ")[2])
    assert len(signature) == 4 + 64
    assert (
        signature[:4] == hashlib.sha256(b"k1\n\x01" + public_bytes(KEY.public_key())).digest()[:4]
    )


def _legacy(cp: Checkpoint, key_name: str) -> str:
    """A checkpoint as Townhall wrote it before it followed the format: no key ID."""
    body = sign_checkpoint(cp, KEY, key_name).partition("\n\n")[0] + "\n"
    signature = base64.b64encode(KEY.sign(body.encode())).decode()
    return f"{body}\n\u2014 {key_name} {signature}\n"


def test_checkpoints_written_before_the_format_are_read_only_when_asked() -> None:
    cp = _checkpoint(_rows(5))
    legacy = _legacy(cp, "townhall-audit")
    assert parse_checkpoint(legacy, KEY.public_key(), accept_without_key_id=True) == cp
    with pytest.raises(CheckpointError, match="no valid signature"):
        parse_checkpoint(legacy, KEY.public_key())
    other = Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key()
    with pytest.raises(CheckpointError, match="no valid signature"):
        parse_checkpoint(legacy, other, accept_without_key_id=True)


def test_a_witness_cosignature_beside_the_logs_is_ignored() -> None:
    cp = _checkpoint(_rows(4))
    witness = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
    text = sign_checkpoint(cp, KEY, "log.example/audit")
    cosigned = text + sign_checkpoint(cp, witness, "witness.example/w1").partition("\n\n")[2]
    assert parse_checkpoint(cosigned, KEY.public_key(), "log.example/audit") == cp
    # The same name under another key is another key: ignored, not a failed signature.
    impostor = sign_checkpoint(cp, witness, "log.example/audit").partition("\n\n")[2]
    assert parse_checkpoint(text + impostor, KEY.public_key(), "log.example/audit") == cp


def test_a_failed_signature_of_the_known_key_rejects_the_note_whatever_else_it_holds() -> None:
    cp = _checkpoint(_rows(4))
    text = sign_checkpoint(cp, KEY, "k")
    body, _, line = text.partition("\n\n")
    raw = bytearray(base64.b64decode(line.split(" ")[2]))
    raw[-1] ^= 0x01
    broken = f"\u2014 k {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(CheckpointError, match="does not verify"):
        parse_checkpoint(f"{body}\n\n{broken}{line}", KEY.public_key(), "k")


@pytest.mark.parametrize(
    "note",
    [
        "text\n\n\u2014 k AAAA\tAAAA\n",  # a control character
        "text\n\n\u2014 k+1 AAAA\n",  # a plus in the key name
        "text\n\n\u2014 k AAB=\n",  # base64 that is not canonical: AAB= decodes as AAA= does
        "text\n\n\u2014 k !!!!\n",
        "text\n\n" + "\u2014 k AAAA\n" * 101,  # more signatures than a verifier must read
        "no blank line\n\u2014 k AAAA\n",
    ],
)
def test_malformed_notes_are_refused(note: str) -> None:
    with pytest.raises(NoteError):
        open_note(note, KEY.public_key())


# --- rows that should have been signed by now ------------------------------------------------


def test_a_row_older_than_a_checkpoint_round_must_be_in_a_checkpoint() -> None:
    rows = _rows(10)  # written at AT_MS + seq
    due = AT_MS + 100  # every row was written before then: each should be in a checkpoint
    problem = verify_log(rows, signed_before_ms=due)
    assert problem is not None and problem.seq == 1
    assert problem.what.startswith("row 1, written 2026-05-28T20:26:40.001Z, is in no checkpoint")
    assert "the checkpoints that covered it were removed" in problem.what
    # Only the newest checkpoint was removed: the first row beyond the one left is named.
    problem = verify_log(rows, [_checkpoint(rows[:4])], signed_before_ms=due)
    assert problem is not None and problem.seq == 5
    assert verify_log(rows, [_checkpoint(rows)], signed_before_ms=due) is None


def test_rows_younger_than_a_checkpoint_round_need_no_checkpoint_yet() -> None:
    rows = _rows(10)
    assert verify_log(rows, signed_before_ms=AT_MS + 1) is None  # row 1 at AT_MS + 1: not due
    assert verify_log(rows, [_checkpoint(rows[:6])], signed_before_ms=AT_MS + 7) is None
    assert verify_log(rows, [_checkpoint(rows[:6])], signed_before_ms=AT_MS + 8) == Problem(
        7,
        "row 7, written 2026-05-28T20:26:40.007Z, is in no checkpoint, though every row written "
        "before 2026-05-28T20:26:40.008Z should be: the checkpoints that covered it were "
        "removed, or none was signed since",
    )


def test_a_break_in_the_log_is_named_before_rows_that_lack_a_checkpoint() -> None:
    rows = _rows(10)
    entry, stored = rows[7]
    rows[7] = (dataclasses.replace(entry, reason="nothing to see"), stored)
    assert verify_log(rows, signed_before_ms=AT_MS + 100) == Problem(
        8, "row 8 was edited or a row was inserted before it"
    )
