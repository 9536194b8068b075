"""Key files kept outside the database, in the data dir's keys/ folder (mode 0700, files 0600)."""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

KEY_BYTES = 32
IDENTITY_KEY_PREFIX = "identity-"
AUDIT_SIGNING_KEY = "audit-signing.key"
BLIND_INDEX_KEY_FILE = "blind-index.key"
# Its own key: codes live minutes, so this file may be replaced at any time, unlike the
# blind-index key, which can never change without recomputing every index.
PHONE_CODE_KEY_FILE = "phone-code.key"


@dataclass(frozen=True)
class KeyRing:
    """Identity-sealing keys by id (the newest seals, all open), the blind-index key and the
    phone-code key."""

    identity_keys: dict[str, bytes]
    active_identity_key_id: str
    blind_index_key: bytes
    phone_code_key: bytes

    def __repr__(self) -> str:
        return f"KeyRing(identity_keys={sorted(self.identity_keys)}, <secret>)"


def load_or_create(keys_dir: Path) -> KeyRing:
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    keys_dir.chmod(0o700)
    blind_index_key = _read_or_create(keys_dir / BLIND_INDEX_KEY_FILE)
    phone_code_key = _read_or_create(keys_dir / PHONE_CODE_KEY_FILE)
    identity_keys = {
        path.stem: _read_key(path) for path in sorted(keys_dir.glob(f"{IDENTITY_KEY_PREFIX}*.key"))
    }
    if not identity_keys:
        first = f"{IDENTITY_KEY_PREFIX}1"
        identity_keys[first] = _read_or_create(keys_dir / f"{first}.key")
    active = max(identity_keys, key=_key_number)
    return KeyRing(identity_keys, active, blind_index_key, phone_code_key)


def check_readable(keys_dir: Path, audit_signing_key: Path) -> None:
    """Raises unless every key file the server needs is there and holds a key. The audit signing
    key is made with the first checkpoint: until then there is none to read."""
    identity_keys = list(keys_dir.glob(f"{IDENTITY_KEY_PREFIX}*.key"))
    if not identity_keys:
        raise FileNotFoundError(f"no identity key in {keys_dir}")
    optional = (audit_signing_key,) if audit_signing_key.exists() else ()
    for path in (
        keys_dir / BLIND_INDEX_KEY_FILE,
        keys_dir / PHONE_CODE_KEY_FILE,
        *identity_keys,
        *optional,
    ):
        _read_key(path)


def folder_version(keys_dir: Path) -> int:
    """Changes whenever a key file is added: a cheap way to notice another process's rotation."""
    return keys_dir.stat().st_mtime_ns


def add_identity_key(keys_dir: Path) -> str:
    """Create the next identity-sealing key; it becomes the active one. Old keys stay to open."""
    ring = load_or_create(keys_dir)
    key_id = f"{IDENTITY_KEY_PREFIX}{_key_number(ring.active_identity_key_id) + 1}"
    _write_new_key(keys_dir / f"{key_id}.key")
    return key_id


def _key_number(key_id: str) -> int:
    return int(key_id.removeprefix(IDENTITY_KEY_PREFIX))


def _read_or_create(path: Path) -> bytes:
    if not path.exists():
        _write_new_key(path)
    return _read_key(path)


def _write_new_key(path: Path) -> None:
    """Write under a temporary name, then link into place: a reader never sees a half key, and
    O_EXCL and link() mean two processes starting at once never overwrite each other's key."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(secrets.token_bytes(KEY_BYTES).hex().encode())
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink()


def _read_key(path: Path) -> bytes:
    key = bytes.fromhex(path.read_text().strip())
    if len(key) != KEY_BYTES:
        raise ValueError(f"key file {path} does not hold a {KEY_BYTES}-byte key")
    return key


def audit_signing_seed(key_file: Path) -> bytes:
    """The seed of the Ed25519 key that signs audit checkpoints, made on first use: kept outside
    the database, so whoever can rewrite the database cannot re-sign it."""
    key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return _read_or_create(key_file)
