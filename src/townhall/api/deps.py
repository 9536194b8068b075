"""Request dependencies: the services from app.state and the bearer-token principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from townhall.domain.errors import Unauthenticated
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


async def current_principal(
    services: Annotated[Services, Depends(get_services)],
    token: Annotated[str, Depends(bearer_token)],
) -> Principal:
    return await services.accounts.authenticate(token)


ServicesDep = Annotated[Services, Depends(get_services)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
