"""The audit checkpoint is a standard signed note: a verifier written here from the
specifications alone (c2sp.org/signed-note and c2sp.org/tlog-checkpoint), sharing no code with
Townhall's parser, accepts what the API publishes with the verifier key published beside it; and
Townhall reads a checkpoint that a witness cosigned."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tests.conftest import MakeStaff, Server
from tests.support import add_terms

EM_DASH = "\u2014"


class NotVerified(Exception):
    pass


@dataclass(frozen=True)
class VerifierKey:
    name: str
    key_id: bytes
    public_key: Ed25519PublicKey


def parse_vkey(vkey: str) -> VerifierKey:
    """`<name>+<hex key ID>+<base64(signature type || public key)>`, type 0x01 for Ed25519."""
    name, key_id_hex, material_b64 = vkey.split("+", 2)  # base64 may hold "+" too
    material = base64.b64decode(material_b64, validate=True)
    if len(material) != 33 or material[0] != 0x01:
        raise NotVerified("not an Ed25519 verifier key")
    if hashlib.sha256(name.encode() + b"\x0a" + material).digest()[:4].hex() != key_id_hex:
        raise NotVerified("the key ID does not match the key")
    return VerifierKey(
        name, bytes.fromhex(key_id_hex), Ed25519PublicKey.from_public_bytes(material[1:])
    )


def open_signed_note(note: str, vkey: VerifierKey) -> str:
    """The note's text, if the key signed it: the text ends at the last blank line; each line
    after it is `— <name> <base64(4-byte key ID || signature)>`; lines of other keys are
    ignored; a failed signature of the key rejects the note."""
    if any(ord(ch) < 0x20 and ch != "\n" for ch in note):
        raise NotVerified("control characters")
    head, blank, signatures = note.rpartition("\n\n")
    if not blank or not signatures.endswith("\n"):
        raise NotVerified("no signature block")
    text = head + "\n"
    verified = False
    for line in signatures[:-1].split("\n"):
        if not line.startswith(EM_DASH + " "):
            raise NotVerified(f"not a signature line: {line!r}")
        name, signature_b64 = line[2:].split(" ")
        signature = base64.b64decode(signature_b64, validate=True)
        if name != vkey.name or signature[:4] != vkey.key_id:
            continue
        try:
            vkey.public_key.verify(signature[4:], text.encode())
        except InvalidSignature as error:
            raise NotVerified("a signature of the key fails") from error
        verified = True
    if not verified:
        raise NotVerified("the key did not sign this note")
    return text


@dataclass(frozen=True)
class TreeHead:
    origin: str
    size: int
    root_hash: bytes
    extensions: list[str]


def read_checkpoint_text(text: str) -> TreeHead:
    """Origin, tree size (decimal, no leading zeroes), base64 root hash, extension lines."""
    lines = text.split("\n")[:-1]
    if len(lines) < 3 or not all(lines):
        raise NotVerified("a checkpoint has at least three non-empty lines")
    origin, size, root = lines[:3]
    if not size.isdigit() or str(int(size)) != size:
        raise NotVerified("not a tree size")
    return TreeHead(origin, int(size), base64.b64decode(root, validate=True), lines[3:])


def cosign(note: str, witness: Ed25519PrivateKey, name: str) -> str:
    """What a witness adds: its own signature line over the same text."""
    text = note.rpartition("\n\n")[0] + "\n"
    public = witness.public_key().public_bytes_raw()
    key_id = hashlib.sha256(name.encode() + b"\x0a\x01" + public).digest()[:4]
    signature = base64.b64encode(key_id + witness.sign(text.encode())).decode()
    return f"{note}{EM_DASH} {name} {signature}\n"


async def test_the_published_checkpoint_verifies_with_an_independent_verifier(
    fresh_server: Server, make_staff: MakeStaff, tmp_path: Path
) -> None:
    admin = await make_staff("admin", on=fresh_server, new=True)
    auditor = await make_staff("auditor", on=fresh_server, new=True)
    await add_terms(admin, 0, 3)
    assert fresh_server.cli("audit", "checkpoint").returncode == 0
    view = await auditor.request("GET", "/api/v1/audit/log/checkpoint")

    vkey = parse_vkey(view["verifier_key"])
    assert vkey.name == view["key_name"]
    assert vkey.public_key.public_bytes_raw().hex() == view["public_key"]
    head = read_checkpoint_text(open_signed_note(view["text"], vkey))
    assert head.origin == view["origin"] == vkey.name  # the key is named after the log
    assert (head.size, head.root_hash.hex()) == (view["tree_size"], view["root"])
    chain_head = base64.b64encode(bytes.fromhex(view["chain_head"])).decode()
    assert head.extensions[0] == f"chain {chain_head}"
    assert head.extensions[1].startswith("at ")
    (stored,) = (fresh_server.data_dir / "audit-checkpoints").glob("checkpoint-*.txt")
    assert stored.read_text(encoding="utf-8") == view["text"]

    forged = view["text"].replace(f"\n{head.size}\n", f"\n{head.size - 1}\n", 1)
    with pytest.raises(NotVerified):
        open_signed_note(forged, vkey)
    stranger = Ed25519PrivateKey.generate()
    with pytest.raises(NotVerified):
        open_signed_note(cosign(forged.rpartition("\n\n")[0] + "\n\n", stranger, vkey.name), vkey)

    # A witness's cosignature beside the log's: Townhall ignores it and still verifies.
    witnessed = tmp_path / "witnessed.txt"
    witness = Ed25519PrivateKey.generate()
    witnessed.write_text(cosign(view["text"], witness, "witness.example/w1"), encoding="utf-8")
    assert open_signed_note(witnessed.read_text(encoding="utf-8"), vkey) == head_text(view)
    checked = fresh_server.cli("audit", "verify", "--checkpoint", str(witnessed))
    assert checked.returncode == 0, checked.stderr

    # A checkpoint as Townhall wrote them before this format (a bare signature, no key ID) is
    # still read; one whose text was changed is not.
    seed = (fresh_server.data_dir / "keys" / "audit-signing.key").read_text().strip()
    log_key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed))
    text = head_text(view).replace(vkey.name, "townhall audit log", 1)
    bare = base64.b64encode(log_key.sign(text.encode())).decode()
    legacy = tmp_path / "legacy.txt"
    legacy.write_text(f"{text}\n{EM_DASH} townhall-audit {bare}\n", encoding="utf-8")
    assert fresh_server.cli("audit", "verify", "--checkpoint", str(legacy)).returncode == 0
    legacy.write_text(legacy.read_text().replace("\nat ", "\nat 1"), encoding="utf-8")
    refused = fresh_server.cli("audit", "verify", "--checkpoint", str(legacy))
    assert refused.returncode == 1 and "cannot be trusted" in refused.stderr


def head_text(view: dict[str, object]) -> str:
    return str(view["text"]).rpartition("\n\n")[0] + "\n"
