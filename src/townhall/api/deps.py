"""Request dependencies: the services from app.state and the bearer-token principal, which also
refuses every write by a read-only role (the authority's auditor) in one place."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from townhall.domain.accounts import Role
from townhall.domain.errors import Forbidden, Unauthenticated
from townhall.services.container import Services
from townhall.services.principal import Principal


def get_services(request: Request) -> Services:
    return request.app.state.services


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send 'Authorization: Bearer <token>'", code="token_missing")
    return token.strip()


# Roles that read and never change anything: the supervising authority's auditor.
READ_ONLY_ROLES = frozenset({Role.AUDITOR})
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Writes a read-only role may still make: ending its own session. (Logging in and registering
# take no token, so they never reach this dependency.)
OPEN_TO_READ_ONLY = frozenset({("DELETE", "/api/v1/sessions/current")})


def refuse_read_only(principal: Principal) -> None:
    """A read-only role may change nothing; the WebSocket gateway calls this for every send."""
    if principal.role in READ_ONLY_ROLES:
        raise Forbidden(
            f"the {principal.role} role is read-only: it may not change anything",
            code="read_only_role",
        )


async def current_principal(
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    token: Annotated[str, Depends(bearer_token)],
) -> Principal:
    principal = await services.accounts.authenticate(token)
    # Checked here, once, rather than in each route: every authenticated route resolves this
    # dependency, and FastAPI resolves it before validating the body, so an auditor's write is
    # refused with 403 whatever it sends (not 400 for a body it would never be allowed to send).
    # The role first: for everyone else, on every request, that is the whole cost.
    if principal.role in READ_ONLY_ROLES and request.method not in READING_METHODS:
        route = request.scope.get("route")
        path = getattr(route, "path", request.url.path)
        if (request.method, path) not in OPEN_TO_READ_ONLY:
            refuse_read_only(principal)
    return principal


ServicesDep = Annotated[Services, Depends(get_services)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
