"""Who is asking: the authenticated account behind a request or a socket, and its role."""

from __future__ import annotations

from dataclasses import dataclass

from townhall.domain.errors import Forbidden


@dataclass(frozen=True, slots=True)
class Principal:
    account_id: int
    handle: str
    token_hash: str
    role: str = "user"


def require_role(actor: Principal, *roles: str) -> None:
    if actor.role not in roles:
        raise Forbidden(f"this needs the {' or '.join(roles)} role", code="role_required")
