"""Who is asking: the authenticated account behind a request or a socket, and its role; and the
one way a service checks what that role may do (the table is domain/permissions.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from townhall.domain.permissions import Permission, permits, refusal

security_log = logging.getLogger("townhall.security")


@dataclass(frozen=True, slots=True)
class Principal:
    account_id: int
    handle: str
    token_hash: str
    role: str = "user"


def require(actor: Principal, permission: Permission) -> None:
    """Go on only if the actor's role holds `permission`: 403 `read_only_role` for a read-only
    role asked to change something, 403 `role_required` otherwise."""
    if not permits(actor.role, permission):
        security_log.warning(
            "permission refused: account=%s role=%s permission=%s",
            actor.account_id,
            actor.role,
            permission.value,
        )
        raise refusal(actor.role, permission)


def may(actor: Principal, permission: Permission) -> bool:
    """For a rule that weighs a permission rather than refusing without it (an administrator
    may take over another reviewer's case, say)."""
    return permits(actor.role, permission)
