"""Contacts: finding people, friend requests, the contact list with remarks, and blocking."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Response
from pydantic import Field

from townhall.api.deps import PrincipalDep, ServicesDep, needs
from townhall.api.models.common import Cursor, at_most, cursor_position, errors, next_cursor
from townhall.api.models.contacts import (
    Contact,
    ContactPage,
    FoundUsers,
    FriendRequest,
    FriendRequestPage,
    PhonePrivacy,
    StaffCards,
)
from townhall.api.openapi import api_router
from townhall.api.schemas import (
    MAX_ID,
    FriendRequestIn,
    HandleSearchIn,
    PhonePrivacyIn,
    PhoneSearchIn,
    RemarkIn,
)
from townhall.domain.permissions import Permission
from townhall.services.rendering import render_contact, render_friend_request

router = api_router(prefix="/api/v1", tags=["contacts"])

UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="the other user")]
ListLimit = Annotated[int, at_most(500)]


@router.post(
    "/contacts/search/handle",
    summary="Find a user by their exact handle",
    response_model=FoundUsers,
    openapi_extra=needs(Permission.ACT),
)
async def find_by_handle(
    body: HandleSearchIn, principal: PrincipalDep, services: ServicesDep
) -> Any:
    return {"users": await services.contacts.find_by_handle(principal, body.handle)}


MAX_CARDS = 100
AccountIds = list[Annotated[int, Field(ge=1, le=MAX_ID)]]  # `?id=4&id=7`


@router.get(
    "/users",
    summary="Name the users the caller knows, by id",
    response_model=FoundUsers,
)
async def user_cards(
    principal: PrincipalDep,
    services: ServicesDep,
    ids: Annotated[
        AccountIds,
        Query(
            alias="id",
            min_length=1,
            max_length=MAX_CARDS,
            description="a user id, repeated for each user (`?id=4&id=7`)",
        ),
    ],
) -> Any:
    """The handle and display name of each user the caller knows among those asked for: a
    member or former member of a conversation the caller is in, a contact, either side of a
    friend request, an inviter. Anyone else is left out of the answer, as are deregistered
    accounts and staff; the caller's own card is there when asked for."""
    return {"users": await services.contacts.cards(principal, set(ids))}


@router.get(
    "/admin/users",
    summary="Name accounts by id or handle, for the staff desks",
    response_model=StaffCards,
    responses=errors(422),
    openapi_extra=needs(Permission.READ_SANCTIONS),
)
async def staff_cards(
    principal: PrincipalDep,
    services: ServicesDep,
    ids: Annotated[
        AccountIds,
        Query(
            alias="id",
            max_length=MAX_CARDS,
            description="an account id, repeated for each (`?id=4&id=7`)",
        ),
    ] = [],  # noqa: B006 -- FastAPI copies a query default
    handle: Annotated[
        str | None, Query(max_length=64, description="an exact handle (handles ignore case)")
    ] = None,
) -> Any:
    """The handle, display name, role and status of each account asked for, by id or by handle
    (users and staff, deregistered accounts too): what the desks show beside the ids they
    list. Ids that name no account are left out."""
    return {"users": await services.contacts.staff_cards(principal, set(ids), handle)}


@router.post(
    "/contacts/search/phone",
    summary="Find the users with a phone number who allow being found by it",
    response_model=FoundUsers,
    responses=errors(422, 429),
    openapi_extra=needs(Permission.ACT),
)
async def find_by_phone(body: PhoneSearchIn, principal: PrincipalDep, services: ServicesDep) -> Any:
    """A number nobody registered and one whose holders do not allow it answer alike."""
    return {"users": await services.contacts.find_by_phone(principal, body.phone)}


@router.get(
    "/contacts/privacy",
    summary="Show whether others may find the caller by phone",
    response_model=PhonePrivacy,
)
async def privacy(principal: PrincipalDep, services: ServicesDep) -> Any:
    return {"findable_by_phone": await services.contacts.findable_by_phone(principal)}


@router.put(
    "/contacts/privacy",
    summary="Allow or refuse being found by phone (refused unless allowed)",
    response_model=PhonePrivacy,
    openapi_extra=needs(Permission.ACT),
)
async def set_privacy(body: PhonePrivacyIn, principal: PrincipalDep, services: ServicesDep) -> Any:
    findable = await services.contacts.set_findable_by_phone(principal, body.findable_by_phone)
    return {"findable_by_phone": findable}


@router.post(
    "/friend-requests",
    summary="Ask a user to be friends, or greet them again on an open request",
    status_code=201,
    response_model=FriendRequest,
    responses=errors(404, 409, 422),
    openapi_extra=needs(Permission.ACT),
)
async def request_friend(
    body: FriendRequestIn, principal: PrincipalDep, services: ServicesDep
) -> Any:
    sent = await services.contacts.request(principal, body.user_id, body.greeting)
    return render_friend_request(sent, principal.account_id)


@router.get(
    "/friend-requests",
    summary="List the friend requests waiting for the caller's answer",
    response_model=FriendRequestPage,
)
async def friend_requests(
    principal: PrincipalDep, services: ServicesDep, cursor: Cursor = None, limit: ListLimit = 100
) -> Any:
    waiting = await services.contacts.requests(
        principal, after=cursor_position(cursor), limit=limit
    )
    last = waiting[-1].requester_id if len(waiting) == limit else None
    return {
        "requests": [render_friend_request(r, principal.account_id) for r in waiting],
        "next_cursor": next_cursor(last),
    }


def _answering(answer: str, summary: str) -> None:
    """POST /friend-requests/{user_id}/<answer>: one route per answer, each with its summary."""

    @router.post(
        f"/friend-requests/{{user_id}}/{answer}",
        summary=summary,
        response_model=FriendRequest,
        openapi_extra=needs(Permission.ACT),
        name=f"{answer}_friend_request",
    )
    async def answer_friend_request(
        user_id: UserId, principal: PrincipalDep, services: ServicesDep
    ) -> Any:
        answered = await services.contacts.answer(principal, user_id, answer)
        return render_friend_request(answered, principal.account_id)


_answering("accept", "Accept a user's friend request: the two are friends")
_answering("decline", "Decline a user's friend request: they are told")
_answering("ignore", "Ignore a user's friend request: nobody else is told")


@router.get(
    "/contacts", summary="List the caller's friends and blocked users", response_model=ContactPage
)
async def contacts(
    principal: PrincipalDep, services: ServicesDep, cursor: Cursor = None, limit: ListLimit = 100
) -> Any:
    ties = await services.contacts.contacts(principal, after=cursor_position(cursor), limit=limit)
    last = ties[-1].contact_id if len(ties) == limit else None
    return {"contacts": [render_contact(t) for t in ties], "next_cursor": next_cursor(last)}


@router.put(
    "/contacts/{user_id}/remark",
    summary="Give a friend a remark (the name the caller knows them by)",
    response_model=Contact,
    responses=errors(422),
    openapi_extra=needs(Permission.ACT),
)
async def set_remark(
    user_id: UserId, body: RemarkIn, principal: PrincipalDep, services: ServicesDep
) -> Any:
    return render_contact(await services.contacts.set_remark(principal, user_id, body.remark))


@router.delete(
    "/contacts/{user_id}",
    summary="Remove a friend",
    status_code=204,
    openapi_extra=needs(Permission.ACT),
)
async def remove_friend(
    user_id: UserId, principal: PrincipalDep, services: ServicesDep
) -> Response:
    await services.contacts.remove(principal, user_id)
    return Response(status_code=204)


@router.put(
    "/contacts/{user_id}/block",
    summary="Block a user: they are not told",
    response_model=Contact,
    openapi_extra=needs(Permission.ACT),
)
async def block(user_id: UserId, principal: PrincipalDep, services: ServicesDep) -> Any:
    return render_contact(await services.contacts.block(principal, user_id, blocked=True))


@router.delete(
    "/contacts/{user_id}/block",
    summary="Unblock a user",
    response_model=Contact,
    openapi_extra=needs(Permission.ACT),
)
async def unblock(user_id: UserId, principal: PrincipalDep, services: ServicesDep) -> Any:
    return render_contact(await services.contacts.block(principal, user_id, blocked=False))
