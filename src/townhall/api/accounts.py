"""Registration, login and logout, and the caller's own profile."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Request, Response

from townhall.api.deps import PrincipalDep, ServicesDep, needs
from townhall.api.models.accounts import (
    AcceptedAgreement,
    Agreement,
    Me,
    OwnIdentity,
    OwnSessionPage,
    PhoneCodeSent,
    PhoneConfirmed,
    Policy,
    Profile,
    Session,
)
from townhall.api.models.common import Cursor, at_most, cursor_position, errors, next_cursor
from townhall.api.models.sanctions import Credit
from townhall.api.openapi import api_router, media_ref
from townhall.api.schemas import (
    MAX_ID,
    AgreementIn,
    LoginIn,
    PasswordChangeIn,
    PhoneCodeIn,
    ProfileIn,
    RegistrationIn,
)
from townhall.domain.accounts import IdentityClaim, Verification
from townhall.domain.permissions import Permission, permissions_of
from townhall.domain.time import iso_utc
from townhall.services.accounts import OwnProfile
from townhall.services.identity import MaskedIdentity
from townhall.services.principal import Principal
from townhall.services.rendering import render_sanction

router = api_router(prefix="/api/v1", tags=["accounts"])

SessionId = Annotated[int, Path(ge=1, le=MAX_ID, description="one of the caller's sessions")]
UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="the user")]
# Drawn from the id alone, the default never changes; a day, not for ever, so that an avatar
# the user uploads (once the media capability stores them) shows within one.
AVATAR_CACHE_CONTROL = "public, max-age=86400"


def _header(value: str) -> dict[str, Any]:
    return {"description": "always this", "schema": {"type": "string", "const": value}}


@router.post(
    "/accounts",
    summary="Register an account, with a real-name identity",
    status_code=201,
    response_model=Profile,
    response_model_exclude_unset=True,
    responses=errors(403, 409, 422, 429),
)
async def register(body: RegistrationIn, request: Request, services: ServicesDep) -> Any:
    profile = await services.accounts.register(
        handle=body.handle,
        password=body.password,
        display_name=body.display_name,
        identity=IdentityClaim(**body.identity.model_dump()),
        agreement_version=body.agreement_version,
        ip=_address(request),
    )
    return _profile(profile)


@router.post(
    "/sessions",
    summary="Log in: open a session and get its bearer token",
    status_code=201,
    response_model=Session,
    responses=errors(401, 429),
)
async def log_in(body: LoginIn, request: Request, services: ServicesDep) -> Session:
    session = await services.accounts.log_in(
        body.handle,
        body.password,
        address=_address(request),
        device_name=body.device_name,
        user_agent=request.headers.get("user-agent"),
    )
    return Session(token=session.token, expires_at=iso_utc(session.expires_at_ms))


@router.delete("/sessions/current", summary="Log out: end the current session", status_code=204)
async def log_out(principal: PrincipalDep, services: ServicesDep) -> Response:
    await services.accounts.log_out(principal)
    return Response(status_code=204)


# Account security: open to every signed-in account, whatever its role or sanctions, as logging
# out is (see AccountService.change_password).


@router.get(
    "/me/sessions",
    summary="List the caller's sessions: the devices where they are signed in",
    response_model=OwnSessionPage,
)
async def own_sessions(
    principal: PrincipalDep,
    services: ServicesDep,
    cursor: Cursor = None,
    limit: Annotated[int, at_most(100)] = 50,
) -> Any:
    sessions = await services.accounts.own_sessions(
        principal, before=cursor_position(cursor), limit=limit
    )
    return {
        "sessions": sessions,
        "next_cursor": next_cursor(sessions[-1].id if len(sessions) == limit else None),
    }


@router.delete(
    "/me/sessions/{session_id}",
    summary="End one of the caller's sessions: its token stops working, its sockets close",
    status_code=204,
)
async def end_session(
    session_id: SessionId, principal: PrincipalDep, services: ServicesDep
) -> Response:
    await services.accounts.end_session(principal, session_id)
    return Response(status_code=204)


@router.post(
    "/me/password",
    summary="Change the caller's password; every other session of theirs ends",
    status_code=204,
    responses=errors(409, 429),
)
async def change_password(
    body: PasswordChangeIn, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    await services.accounts.change_password(
        principal,
        current_password=body.current_password,
        new_password=body.new_password,
        address=_address(request),
    )
    return Response(status_code=204)


class SvgResponse(Response):
    media_type = "image/svg+xml"


@router.get(
    "/users/{user_id}/avatar",
    summary="A user's avatar, an SVG image to show as it is (no token: an <img> sends none)",
    response_class=SvgResponse,
    responses={
        200: {
            "description": "the avatar",
            "content": {SvgResponse.media_type: {"schema": media_ref("SvgImage")}},
            "headers": {"Cache-Control": _header(AVATAR_CACHE_CONTROL)},
        }
    },
)
async def avatar(user_id: UserId, services: ServicesDep) -> Response:
    return SvgResponse(
        services.accounts.avatar_svg(user_id),
        headers={"Cache-Control": AVATAR_CACHE_CONTROL},
    )


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get(
    "/me",
    summary="Show the caller's own profile",
    response_model=Me,
    response_model_exclude_unset=True,
)
async def me(principal: PrincipalDep, services: ServicesDep) -> Any:
    """The caller's profile, with the sanctions in force on them and their credit band."""
    return _me(await services.accounts.profile(principal.account_id), principal)


@router.patch(
    "/me",
    summary="Change the caller's display name or bio",
    response_model=Me,
    response_model_exclude_unset=True,
    responses=errors(422),
    openapi_extra=needs(Permission.ACT),
)
async def update_profile(body: ProfileIn, principal: PrincipalDep, services: ServicesDep) -> Any:
    """Change the display name or the bio; both are checked as at registration."""
    profile = await services.accounts.update_profile(
        principal, display_name=body.display_name, bio=body.bio
    )
    return _me(profile, principal)


def _me(profile: OwnProfile, principal: Principal) -> dict[str, Any]:
    """The profile, and what /me adds to it: the sanctions in force on the caller, their
    credit, and what their role may do."""
    return _profile(profile) | {
        "sanctions": [render_sanction(view) for view in profile.standing.sanctions],
        "credit": Credit.of(profile.standing.credit),
        "permissions": permissions_of(principal.role),
    }


@router.delete(
    "/me",
    summary="Deregister: close the caller's account",
    status_code=204,
    openapi_extra=needs(Permission.ACT),
)
async def deregister(principal: PrincipalDep, services: ServicesDep) -> Response:
    await services.accounts.deregister(principal)
    return Response(status_code=204)


@router.get("/policy", summary="Show the public part of the policy pack", response_model=Policy)
async def policy(services: ServicesDep) -> Any:
    return services.pack.public()


@router.get("/agreement", summary="Show the current user agreement", response_model=Agreement)
async def agreement(services: ServicesDep) -> Any:
    return services.accounts.agreement()


@router.post(
    "/agreement/accept",
    summary="Accept a version of the user agreement",
    response_model=AcceptedAgreement,
    responses=errors(422),
    openapi_extra=needs(Permission.ACT),
)
async def accept_agreement(
    body: AgreementIn, request: Request, principal: PrincipalDep, services: ServicesDep
) -> Any:
    accepted = await services.accounts.accept_agreement(principal, body.version, _address(request))
    return AcceptedAgreement(accepted_version=accepted)


@router.post(
    "/me/phone/code",
    summary="Send a confirmation code to the caller's phone",
    status_code=202,
    response_model=PhoneCodeSent,
    responses=errors(404, 409, 429),
    openapi_extra=needs(Permission.ACT),
)
async def send_phone_code(principal: PrincipalDep, services: ServicesDep) -> PhoneCodeSent:
    expires_at = await services.identity.send_phone_code(principal)
    return PhoneCodeSent(expires_at=iso_utc(expires_at))


@router.post(
    "/me/phone/verify",
    summary="Confirm the caller's phone with the code sent to it",
    response_model=PhoneConfirmed,
    responses=errors(422, 429),
    openapi_extra=needs(Permission.ACT),
)
async def verify_phone(
    body: PhoneCodeIn, principal: PrincipalDep, services: ServicesDep
) -> PhoneConfirmed:
    await services.identity.verify_phone(principal, body.code)
    return PhoneConfirmed(phone_confirmed=True)


@router.post(
    "/me/identity/check",
    summary="Ask the identity provider again about the caller's identity",
    response_model=OwnIdentity,
    response_model_exclude_unset=True,
    responses=errors(404, 409, 503),
    openapi_extra=needs(Permission.ACT),
)
async def check_identity_again(principal: PrincipalDep, services: ServicesDep) -> Any:
    """Ask the identity-verification provider again, after it gave no answer."""
    return _own_identity(await services.identity.check_again(principal))


def _profile(profile: OwnProfile) -> dict[str, Any]:
    """A profile as `Profile` shows it, its identity rendered by `_own_identity`."""
    return {
        "id": profile.id,
        "handle": profile.handle,
        "display_name": profile.display_name,
        "bio": profile.bio,
        "status": profile.status,
        "role": profile.role,
        "identity": None if profile.identity is None else _own_identity(profile.identity),
        "agreement": profile.agreement,
        "created_at": profile.created_at,
    }


def _own_identity(identity: MaskedIdentity) -> dict[str, Any]:
    """The holder's masked identity; `reason` is there only when it was rejected."""
    shown = {
        "id_type": identity.id_type,
        "id_number": identity.id_number,
        "legal_name": identity.legal_name,
        "phone": identity.phone,
        "status": identity.status,
        "phone_confirmed": identity.phone_confirmed,
        "provider_result": identity.provider_result,
    }
    if identity.status == Verification.REJECTED:
        shown["reason"] = identity.reason
    return shown
