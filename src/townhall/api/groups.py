"""Group life: invitations to a group, join links and requests, leaving, removing, admins,
ownership, dissolving, the group's settings and mutes; and the membership history for staff."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import Path, Response

from townhall.api.conversations import ConversationId, ListLimit
from townhall.api.deps import PrincipalDep, ServicesDep, needs
from townhall.api.models.common import Cursor, cursor_position, errors, next_cursor
from townhall.api.models.groups import (
    DeclinedJoinRequest,
    Invited,
    JoinLink,
    JoinLinkPage,
    JoinLinkPreview,
    JoinRequestPage,
    JoinResult,
    MemberHistoryPage,
)
from townhall.api.models.messaging import Conversation
from townhall.api.openapi import api_router
from townhall.api.schemas import MAX_ID, GroupUpdateIn, InviteIn, JoinLinkIn, LinkJoinIn, OwnerIn
from townhall.domain.permissions import Permission
from townhall.services.group_admin import GroupUpdate
from townhall.services.rendering import render_conversation
from townhall.store.groups import StoredJoinLink

router = api_router(prefix="/api/v1", tags=["groups"])

MemberId = Annotated[int, Path(ge=1, le=MAX_ID, description="the member")]
LinkId = Annotated[int, Path(ge=1, le=MAX_ID, description="the join link")]


def _link(link: StoredJoinLink) -> dict[str, Any]:
    return {
        "id": link.id,
        "conversation_id": link.conversation_id,
        "token": link.token,
        "created_by": link.created_by,
        "created_at": link.created_at,
        "expires_at": link.expires_at,
        "needs_approval": bool(link.needs_approval),
    }


@router.post(
    "/conversations/{conversation_id}/members",
    summary="Invite users to a group: friends (or anyone) added while it is small, else invited",
    response_model=Invited,
    responses=errors(409, 422),
    openapi_extra=needs(Permission.ACT),
)
async def invite(
    conversation_id: ConversationId, body: InviteIn, principal: PrincipalDep, services: ServicesDep
) -> Any:
    """Up to `groups.invite_consent_above` members the caller's friends are added at once
    (anyone, where the pack lets strangers chat); everyone else is invited."""
    invited = await services.groups.invite(principal, conversation_id, body.member_ids)
    return {"added": list(invited.added), "invited": list(invited.invited)}


@router.post(
    "/conversations/{conversation_id}/leave",
    summary="Leave a group",
    status_code=204,
    responses=errors(409),
    openapi_extra=needs(Permission.ACT),
)
async def leave(
    conversation_id: ConversationId, principal: PrincipalDep, services: ServicesDep
) -> Response:
    await services.group_admin.leave(principal, conversation_id)
    return Response(status_code=204)


@router.delete(
    "/conversations/{conversation_id}/members/{user_id}",
    summary="Remove a member from a group (its owner, or an admin an ordinary member)",
    status_code=204,
    responses=errors(409),
    openapi_extra=needs(Permission.ACT),
)
async def remove_member(
    conversation_id: ConversationId,
    user_id: MemberId,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    await services.group_admin.remove(principal, conversation_id, user_id)
    return Response(status_code=204)


@router.put(
    "/conversations/{conversation_id}/admins/{user_id}",
    summary="Make a member an admin (the owner)",
    response_model=Conversation,
    responses=errors(409),
    openapi_extra=needs(Permission.ACT),
)
async def make_admin(
    conversation_id: ConversationId,
    user_id: MemberId,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Any:
    return render_conversation(
        await services.group_admin.set_admin(principal, conversation_id, user_id, admin=True)
    )


@router.delete(
    "/conversations/{conversation_id}/admins/{user_id}",
    summary="Make an admin an ordinary member again (the owner)",
    response_model=Conversation,
    responses=errors(409),
    openapi_extra=needs(Permission.ACT),
)
async def unmake_admin(
    conversation_id: ConversationId,
    user_id: MemberId,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Any:
    return render_conversation(
        await services.group_admin.set_admin(principal, conversation_id, user_id, admin=False)
    )


@router.put(
    "/conversations/{conversation_id}/mutes/{user_id}",
    summary="Mute a member of a group (the owner, or an admin an ordinary member)",
    response_model=Conversation,
    responses=errors(409),
    openapi_extra=needs(Permission.ACT),
)
async def mute(
    conversation_id: ConversationId,
    user_id: MemberId,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Any:
    return render_conversation(
        await services.group_admin.mute(principal, conversation_id, user_id, muted=True)
    )


@router.delete(
    "/conversations/{conversation_id}/mutes/{user_id}",
    summary="Lift a member's mute",
    response_model=Conversation,
    responses=errors(409),
    openapi_extra=needs(Permission.ACT),
)
async def unmute(
    conversation_id: ConversationId,
    user_id: MemberId,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Any:
    return render_conversation(
        await services.group_admin.mute(principal, conversation_id, user_id, muted=False)
    )


@router.post(
    "/conversations/{conversation_id}/owner",
    summary="Hand the group to another member (the owner), who becomes its owner",
    response_model=Conversation,
    responses=errors(409),
    openapi_extra=needs(Permission.ACT),
)
async def transfer(
    conversation_id: ConversationId, body: OwnerIn, principal: PrincipalDep, services: ServicesDep
) -> Any:
    return render_conversation(
        await services.group_admin.transfer(principal, conversation_id, body.user_id)
    )


@router.delete(
    "/conversations/{conversation_id}",
    summary="Dissolve a group (the owner): every member is taken out",
    status_code=204,
    responses=errors(409),
    openapi_extra=needs(Permission.ACT),
)
async def dissolve(
    conversation_id: ConversationId, principal: PrincipalDep, services: ServicesDep
) -> Response:
    await services.group_admin.dissolve(principal, conversation_id)
    return Response(status_code=204)


@router.patch(
    "/conversations/{conversation_id}",
    summary="Change a group's title, avatar, announcement, mute-all or who may invite",
    response_model=Conversation,
    responses=errors(409, 422),
    openapi_extra=needs(Permission.ACT),
)
async def update_group(
    conversation_id: ConversationId,
    body: GroupUpdateIn,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Any:
    update = GroupUpdate(**body.model_dump())
    return render_conversation(
        await services.group_admin.update(principal, conversation_id, update)
    )


# Join links -------------------------------------------------------------------------------------


@router.post(
    "/conversations/{conversation_id}/links",
    summary="Make a join link (a QR code's payload) to a group",
    status_code=201,
    response_model=JoinLink,
    responses=errors(409),
    openapi_extra=needs(Permission.ACT),
)
async def create_link(
    conversation_id: ConversationId,
    body: JoinLinkIn,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Any:
    link = await services.join_links.create(
        principal,
        conversation_id,
        expires_in_seconds=body.expires_in_seconds,
        needs_approval=body.needs_approval,
    )
    return _link(link)


@router.get(
    "/conversations/{conversation_id}/links",
    summary="List a group's join links that still work",
    response_model=JoinLinkPage,
    responses=errors(409),
)
async def list_links(
    conversation_id: ConversationId,
    principal: PrincipalDep,
    services: ServicesDep,
    cursor: Cursor = None,
    limit: ListLimit = 100,
) -> Any:
    links = await services.join_links.links(
        principal, conversation_id, after=cursor_position(cursor), limit=limit
    )
    last = links[-1].id if len(links) == limit else None
    return {"links": [_link(link) for link in links], "next_cursor": next_cursor(last)}


@router.delete(
    "/conversations/{conversation_id}/links/{link_id}",
    summary="Revoke a join link",
    status_code=204,
    responses=errors(409),
    openapi_extra=needs(Permission.ACT),
)
async def revoke_link(
    conversation_id: ConversationId, link_id: LinkId, principal: PrincipalDep, services: ServicesDep
) -> Response:
    await services.join_links.revoke(principal, conversation_id, link_id)
    return Response(status_code=204)


@router.post(
    "/join-links/preview",
    summary="See the group a join link leads to, before joining by it",
    response_model=JoinLinkPreview,
    responses=errors(404, 422),
    openapi_extra=needs(Permission.ACT),
)
async def preview_link(body: LinkJoinIn, principal: PrincipalDep, services: ServicesDep) -> Any:
    return asdict(await services.join_links.preview(principal, body.token))


@router.post(
    "/join-links/join",
    summary="Join a group by its link, or ask to where the link needs approval",
    response_model=JoinResult,
    response_model_exclude_unset=True,
    responses=errors(404, 409, 422),
    openapi_extra=needs(Permission.ACT),
)
async def join_by_link(body: LinkJoinIn, principal: PrincipalDep, services: ServicesDep) -> Any:
    joined = await services.join_links.join(principal, body.token)
    if joined.group is None:
        return {"conversation_id": joined.conversation_id, "state": "pending"}
    return {
        "conversation_id": joined.conversation_id,
        "state": "joined",
        "conversation": render_conversation(joined.group),
    }


@router.get(
    "/conversations/{conversation_id}/join-requests",
    summary="List the requests to join a group waiting for an answer",
    response_model=JoinRequestPage,
    responses=errors(409),
)
async def join_requests(
    conversation_id: ConversationId,
    principal: PrincipalDep,
    services: ServicesDep,
    cursor: Cursor = None,
    limit: ListLimit = 100,
) -> Any:
    waiting = await services.join_links.requests(
        principal, conversation_id, after=cursor_position(cursor), limit=limit
    )
    last = waiting[-1].account_id if len(waiting) == limit else None
    return {
        "requests": [
            {
                "conversation_id": r.conversation_id,
                "user_id": r.account_id,
                "link_id": r.link_id,
                "requested_at": r.created_at,
            }
            for r in waiting
        ],
        "next_cursor": next_cursor(last),
    }


@router.post(
    "/conversations/{conversation_id}/join-requests/{user_id}/approve",
    summary="Approve a request to join: the user becomes a member",
    response_model=Conversation,
    responses=errors(409, 422),
    openapi_extra=needs(Permission.ACT),
)
async def approve_join_request(
    conversation_id: ConversationId,
    user_id: MemberId,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Any:
    return render_conversation(
        await services.join_links.approve(principal, conversation_id, user_id)
    )


@router.post(
    "/conversations/{conversation_id}/join-requests/{user_id}/decline",
    summary="Decline a request to join",
    response_model=DeclinedJoinRequest,
    responses=errors(409),
    openapi_extra=needs(Permission.ACT),
)
async def decline_join_request(
    conversation_id: ConversationId,
    user_id: MemberId,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Any:
    await services.join_links.decline(principal, conversation_id, user_id)
    return {"conversation_id": conversation_id, "user_id": user_id, "state": "declined"}


# For reviewers ----------------------------------------------------------------------------------


@router.get(
    "/admin/groups/{conversation_id}/history",
    summary="A group's membership history: who joined when, invited by whom, who removed whom",
    response_model=MemberHistoryPage,
    openapi_extra=needs(Permission.READ_SANCTIONS),
)
async def member_history(
    conversation_id: ConversationId,
    principal: PrincipalDep,
    services: ServicesDep,
    cursor: Cursor = None,
    limit: ListLimit = 100,
) -> Any:
    entries = await services.group_admin.history(
        principal, conversation_id, after=cursor_position(cursor), limit=limit
    )
    last = entries[-1].id if len(entries) == limit else None
    return {
        "history": [
            {
                "id": e.id,
                "user_id": e.account_id,
                "change": e.change,
                "actor_id": e.actor_id,
                "link_id": e.link_id,
                "at": e.at,
            }
            for e in entries
        ],
        "next_cursor": next_cursor(last),
    }
