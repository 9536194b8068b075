"""The identity vault: AES-256-GCM sealing bound to the account, and keyed hashes.

Keys live in files outside the database (store/keys.py). A ciphertext names the key that sealed
it, so keys rotate: the newest seals, every key on file opens, and a server that meets a key id
it has not loaded (another process rotated) reads the key folder again.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from townhall.domain.accounts import IdentityClaim
from townhall.domain.identity import blind_index_input
from townhall.store import keys

NONCE_BYTES = 12


class IdentityVault:
    def __init__(self, keys_dir: Path) -> None:
        self._keys_dir = keys_dir
        self._keys = keys.load_or_create(keys_dir)
        self._keys_dir_version = keys.folder_version(keys_dir)

    def reload_keys(self) -> None:
        self._keys = keys.load_or_create(self._keys_dir)
        self._keys_dir_version = keys.folder_version(self._keys_dir)

    def rotate(self) -> str:
        """Make a new key the sealing one; returns its id."""
        key_id = keys.add_identity_key(self._keys_dir)
        self.reload_keys()
        return key_id

    def seal(self, account_id: int, claim: IdentityClaim) -> tuple[str, bytes]:
        """Encrypt a claim; the associated data binds the ciphertext to its account row."""
        if keys.folder_version(self._keys_dir) != self._keys_dir_version:
            self.reload_keys()  # another process rotated: seal under the newest key
        key_id = self._keys.active_identity_key_id
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self._keys.identity_keys[key_id]).encrypt(
            nonce, orjson.dumps(claim.as_dict()), _associated_data(account_id)
        )
        return key_id, nonce + sealed

    def open(self, account_id: int, key_id: str, sealed: bytes) -> IdentityClaim:
        if key_id not in self._keys.identity_keys:
            self.reload_keys()
        plaintext = AESGCM(self._keys.identity_keys[key_id]).decrypt(
            sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _associated_data(account_id)
        )
        return IdentityClaim(**orjson.loads(plaintext))

    def blind_index(self, claim: IdentityClaim) -> str:
        """Equal documents give equal indexes, so duplicates are found without decrypting."""
        # The prefix is part of every stored index: changing it would orphan them all.
        return _hmac(self._keys.blind_index_key, f"blind-index:{blind_index_input(claim)}")

    def phone_index(self, phone_e164: str) -> str:
        """Equal phones give equal indexes: the same person under another document shows."""
        return _hmac(self._keys.blind_index_key, f"phone-index:{phone_e164}")

    def phone_code_hash(self, account_id: int, code: str) -> str:
        return _hmac(self._keys.phone_code_key, f"{account_id}:{code}")


def _hmac(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def _associated_data(account_id: int) -> bytes:
    return f"townhall:identities:{account_id}".encode()
