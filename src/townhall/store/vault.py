"""The identity vault: AES-256-GCM sealing bound to the account, and a keyed blind index."""

from __future__ import annotations

import hashlib
import hmac
import os
import re

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from townhall.domain.accounts import IdentityClaim
from townhall.store.keys import KeyRing

NONCE_BYTES = 12
_SEPARATORS = re.compile(r"[\s-]+")


class IdentityVault:
    def __init__(self, keys: KeyRing) -> None:
        self._keys = keys

    def seal(self, account_id: int, claim: IdentityClaim) -> tuple[str, bytes]:
        """Encrypt a claim; the associated data binds the ciphertext to its account row."""
        key_id = self._keys.active_identity_key_id
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self._keys.identity_keys[key_id]).encrypt(
            nonce, orjson.dumps(claim.as_dict()), _associated_data(account_id)
        )
        return key_id, nonce + sealed

    def open(self, account_id: int, key_id: str, sealed: bytes) -> IdentityClaim:
        plaintext = AESGCM(self._keys.identity_keys[key_id]).decrypt(
            sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _associated_data(account_id)
        )
        return IdentityClaim(**orjson.loads(plaintext))

    def blind_index(self, claim: IdentityClaim) -> str:
        """Equal documents give equal indexes, so duplicates are found without decrypting."""
        normalized = f"{claim.id_type}:{_SEPARATORS.sub('', claim.id_number).upper()}"
        return hmac.new(self._keys.blind_index_key, normalized.encode(), hashlib.sha256).hexdigest()


def _associated_data(account_id: int) -> bytes:
    return f"townhall:identities:{account_id}".encode()
