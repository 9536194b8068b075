"""The default avatar: an identicon drawn from the user id alone, until a user uploads one."""

from __future__ import annotations

import hashlib

GRID = 5  # cells a side; the left half is mirrored onto the right, as faces are
CELL = 16  # SVG units a cell
MARGIN = 8


def identicon_svg(user_id: int) -> str:
    """An SVG image that depends on nothing but the id: the same everywhere, for ever, and it
    tells nobody anything the id does not (not even whether the account exists)."""
    digest = hashlib.sha256(f"townhall-avatar:{user_id}".encode()).digest()
    hue = int.from_bytes(digest[:2]) % 360
    bits = int.from_bytes(digest[2:6])
    half = (GRID + 1) // 2
    cells = [
        (column, row)
        for row in range(GRID)
        for column in range(half)
        if bits >> (row * half + column) & 1
    ]
    mirrored = {(GRID - 1 - column, row) for column, row in cells} | set(cells)
    size = GRID * CELL + 2 * MARGIN
    rects = "".join(
        f'<rect x="{MARGIN + column * CELL}" y="{MARGIN + row * CELL}" '
        f'width="{CELL}" height="{CELL}"/>'
        for column, row in sorted(mirrored)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'width="{size}" height="{size}">'
        f'<rect width="{size}" height="{size}" fill="#f0f0f0"/>'
        f'<g fill="hsl({hue},55%,50%)">{rects}</g></svg>'
    )
