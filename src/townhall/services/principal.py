"""Who is asking: the authenticated account behind a request or a socket."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    account_id: int
    handle: str
    token_hash: str
    role: str = "user"
