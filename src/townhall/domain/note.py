"""Signed notes (C2SP signed-note v1) with Ed25519: signing, opening, key IDs and verifier keys.

A note is UTF-8 text ending in a newline, then a blank line, then signature lines
`— <key name> <base64(4-byte key ID || signature)>`. A key is known by its name and its key ID
together, `SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]`; lines of other keys
(a witness's cosignature, say) are ignored, and a known key's line that fails to verify
rejects the whole note. Standard tools (Go's `sumdb/note`, transparency-dev witnesses) read
the same text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterator

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SIGNATURE_DASH = "\u2014"  # the em dash that opens a signature line
ED25519 = b"\x01"  # the signature type byte of Ed25519 in key IDs and verifier keys
KEY_ID_SIZE = 4
ED25519_SIGNATURE_SIZE = 64
MAX_SIGNATURES = 100  # the spec asks verifiers to accept at least 16


class NoteError(ValueError):
    """A note that is malformed, or that no signature of the expected key vouches for."""


def public_bytes(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key_name: str, public_key: Ed25519PublicKey) -> bytes:
    check_key_name(key_name)
    material = key_name.encode("utf-8") + b"\n" + ED25519 + public_bytes(public_key)
    return hashlib.sha256(material).digest()[:KEY_ID_SIZE]


def verifier_key(key_name: str, public_key: Ed25519PublicKey) -> str:
    """The key as verifiers are configured with it: `<name>+<hex key ID>+<base64(0x01 || key)>`."""
    material = base64.b64encode(ED25519 + public_bytes(public_key)).decode("ascii")
    return f"{key_name}+{key_id(key_name, public_key).hex()}+{material}"


def check_key_name(key_name: str) -> None:
    # One token without "+", so that signature lines and verifier keys split unambiguously.
    if not key_name or any(ch.isspace() or ch == "+" or ch < " " for ch in key_name):
        raise NoteError("a key name must be non-empty, without spaces, '+' or control characters")


def _check_characters(text: str) -> None:
    if any(ch < " " and ch != "\n" for ch in text):
        raise NoteError("a note must not hold control characters other than newline")


def check_text(text: str) -> None:
    """What the text of a note must be: UTF-8 ending in a newline, no other control characters."""
    if not text.endswith("\n"):
        raise NoteError("a note's text must end in a newline")
    _check_characters(text)


def sign_note(text: str, private_key: Ed25519PrivateKey, key_name: str) -> str:
    """The signed note: `text`, a blank line and the one signature line of `key_name`."""
    check_text(text)
    signature = private_key.sign(text.encode("utf-8"))
    line = base64.b64encode(key_id(key_name, private_key.public_key()) + signature).decode("ascii")
    return f"{text}\n{SIGNATURE_DASH} {key_name} {line}\n"


def _canonical_b64(text: str) -> bytes:
    # Strict: one encoding per byte string, so a note cannot be altered without breaking it.
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError("a signature is not valid base64") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise NoteError("a signature is not in canonical base64")
    return raw


def _signature_lines(block: str) -> Iterator[tuple[str, bytes]]:
    lines = block.split("\n")
    if lines[-1] != "" or len(lines) < 2:
        raise NoteError("a note must end with a signature line and a newline")
    if len(lines) - 1 > MAX_SIGNATURES:
        raise NoteError(f"a note may carry at most {MAX_SIGNATURES} signatures")
    for line in lines[:-1]:
        dash, _, rest = line.partition(" ")
        parts = rest.split(" ")
        if dash != SIGNATURE_DASH or len(parts) != 2:
            raise NoteError(f"malformed signature line {line!r}")
        check_key_name(parts[0])
        yield parts[0], _canonical_b64(parts[1])


def _verifies(public_key: Ed25519PublicKey, signature: bytes, text: str) -> bool:
    try:
        public_key.verify(signature, text.encode("utf-8"))
    except InvalidSignature:
        return False
    return True


def open_note(
    note: str | bytes,
    public_key: Ed25519PublicKey,
    key_name: str | None = None,
    *,
    accept_without_key_id: bool = False,
) -> str:
    """The text of a note that `public_key` signed (under `key_name`, or under any name when it
    is None). Raises NoteError for a malformed note, one whose signature by that key fails, or
    one that key did not sign.

    `accept_without_key_id` also accepts a bare 64-byte Ed25519 signature, with no key ID in
    front: the form Townhall wrote before it followed the specification."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteError("a note must be UTF-8 text") from exc
    _check_characters(note)
    cut = note.rfind("\n\n")  # the text ends at the last blank line; it may not hold one itself
    if cut < 0:
        raise NoteError("a note needs a blank line before its signatures")
    text, signatures = note[: cut + 1], note[cut + 2 :]
    check_text(text)
    signed = False
    for name, signature in _signature_lines(signatures):
        if key_name is not None and name != key_name:
            continue
        if signature[:KEY_ID_SIZE] == key_id(name, public_key):
            if not _verifies(public_key, signature[KEY_ID_SIZE:], text):
                raise NoteError(f"the signature of {name} does not verify")
            signed = True
        elif accept_without_key_id and len(signature) == ED25519_SIGNATURE_SIZE:
            signed = signed or _verifies(public_key, signature, text)
    if not signed:
        raise NoteError("the note has no valid signature by this key")
    return text
