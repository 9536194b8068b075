"""A PDQ hash as written (Meta's perceptual hash: 256 bits, 64 hexadecimal digits): what reading
one checks. Apart from the index (pdq_index.py) because it needs no numpy: a hash list is read
and checked by a process that has banked nothing yet."""

from __future__ import annotations

import re

PDQ_BITS = 256
PDQ_HEX_DIGITS = PDQ_BITS // 4
PDQ_BYTES = PDQ_BITS // 8

_HEX = re.compile(rf"[0-9a-fA-F]{{{PDQ_HEX_DIGITS}}}")


class PdqHashInvalid(ValueError):
    """Not a PDQ hash: 64 hexadecimal digits. The message never repeats the value."""


def normalize_pdq(hash_hex: str) -> str:
    """The hash in lower case, or PdqHashInvalid."""
    if not isinstance(hash_hex, str) or not _HEX.fullmatch(hash_hex):
        length = len(hash_hex) if isinstance(hash_hex, str) else None
        raise PdqHashInvalid(
            f"a PDQ hash is {PDQ_HEX_DIGITS} hexadecimal digits"
            + (f", not {length} characters" if length != PDQ_HEX_DIGITS else "")
        )
    return hash_hex.lower()
