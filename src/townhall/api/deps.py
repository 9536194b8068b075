"""Request dependencies: the services from app.state, the bearer-token principal, and what each
route declares of the permission its service requires (`needs`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from structlog.contextvars import bind_contextvars

from townhall.domain.errors import ErrorCode, Unauthenticated
from townhall.domain.permissions import READ_ONLY_ROLES, Permission, permits, read_only_refusal
from townhall.services.container import Services
from townhall.services.principal import Principal

# The OpenAPI extension under which a route names the permission its service requires.
PERMISSION_KEY = "x-permission"
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def needs(permission: Permission) -> dict[str, str]:
    """A route's `openapi_extra`: the permission the service it calls requires. /openapi.json
    shows it (docs/permissions.md and the route-by-role test read it there), and the read-only
    check below consults it. The service checks the permission itself; this only declares it."""
    return {PERMISSION_KEY: permission.value}


def declared_permission(request: Request) -> Permission | None:
    extra = getattr(request.scope.get("route"), "openapi_extra", None) or {}
    value = extra.get(PERMISSION_KEY)
    return None if value is None else Permission(value)


# The dependencies are coroutines, trivial as they are: FastAPI runs a plain function in its
# thread pool, a hop that cost every request more than the function itself.
async def get_services(request: Request) -> Services:
    return request.app.state.services


# The scheme /openapi.json names as the `security` of every route that takes a session. It
# answers None for a missing or non-bearer header, and the error is ours: 401 `token_missing`.
bearer_scheme = HTTPBearer(
    scheme_name="bearer",
    description="the token of a session: POST /api/v1/sessions",
    auto_error=False,
)


async def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> str:
    if credentials is None:
        raise Unauthenticated("send 'Authorization: Bearer <token>'", code=ErrorCode.TOKEN_MISSING)
    return credentials.credentials


async def current_principal(
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    token: Annotated[str, Depends(bearer_token)],
) -> Principal:
    principal = await services.accounts.authenticate(token)
    bind_contextvars(account_id=principal.account_id)  # the access log names whom it served
    # The service refuses a read-only role (the authority's auditor) every write on its own; this
    # only answers first. Every authenticated route resolves this dependency, and FastAPI resolves
    # it before validating the body, so the auditor's write is 403 `read_only_role` whatever it
    # sends, not 400 for a body it would never be allowed to send. The role first: for everyone
    # else, on every request, that is the whole cost. Logging out declares no permission.
    if principal.role in READ_ONLY_ROLES and request.method not in READING_METHODS:
        permission = declared_permission(request)
        if permission is not None and not permits(principal.role, permission):
            raise read_only_refusal(principal.role)
    return principal


async def principal_of(request: Request) -> Principal:
    """`current_principal` with its own dependencies solved, as FastAPI solves them."""
    token = await bearer_token(await bearer_scheme(request))
    return await current_principal(request, request.app.state.services, token)


Resolver = Callable[[Request], Awaitable[Any]]
# What each dependency above resolves to for a route answered directly (api/direct.py): a route
# that depends on anything else is left to FastAPI.
RESOLVERS: dict[Callable[..., Any], Resolver] = {
    get_services: get_services,
    current_principal: principal_of,
}

ServicesDep = Annotated[Services, Depends(get_services)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
