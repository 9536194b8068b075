"""Conversations, their messages, and the caller's event stream (sync)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response

from townhall.api.deps import PrincipalDep, ServicesDep, needs
from townhall.api.schemas import MAX_ID, ConversationIn, DirectIn, MessageIn
from townhall.domain.permissions import Permission
from townhall.services.rendering import render_message

router = APIRouter(prefix="/api/v1", tags=["messaging"])

ConversationId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post("/conversations", status_code=201, openapi_extra=needs(Permission.ACT))
async def create_conversation(
    body: Annotated[ConversationIn, Body()],
    principal: PrincipalDep,
    services: ServicesDep,
    response: Response,
) -> Any:
    if isinstance(body, DirectIn):
        conversation, created = await services.messaging.open_direct(principal, body.user_id)
        if not created:
            response.status_code = 200
        return conversation
    return await services.groups.create(
        principal, title=body.title, description=body.description, member_ids=body.member_ids
    )


@router.get("/invitations")
async def invitations(principal: PrincipalDep, services: ServicesDep) -> Any:
    """The caller's group invitations waiting for an answer."""
    return {"invitations": await services.groups.invitations(principal)}


@router.post("/invitations/{conversation_id}/accept", openapi_extra=needs(Permission.ACT))
async def accept_invitation(
    conversation_id: ConversationId, principal: PrincipalDep, services: ServicesDep
) -> Any:
    return await services.groups.accept(principal, conversation_id)


@router.post("/invitations/{conversation_id}/decline", openapi_extra=needs(Permission.ACT))
async def decline_invitation(
    conversation_id: ConversationId, principal: PrincipalDep, services: ServicesDep
) -> Any:
    return await services.groups.decline(principal, conversation_id)


@router.get("/conversations")
async def list_conversations(principal: PrincipalDep, services: ServicesDep) -> Any:
    return {"conversations": await services.messaging.list_conversations(principal)}


@router.get("/conversations/{conversation_id}")
async def get_conversation(
    conversation_id: ConversationId, principal: PrincipalDep, services: ServicesDep
) -> Any:
    return await services.messaging.get_conversation(principal, conversation_id)


@router.post(
    "/conversations/{conversation_id}/messages",
    status_code=201,
    openapi_extra=needs(Permission.ACT),
)
async def send_message(
    conversation_id: ConversationId,
    body: MessageIn,
    principal: PrincipalDep,
    services: ServicesDep,
    response: Response,
) -> Any:
    appended = await services.messaging.send(
        principal, conversation_id, text=body.text, client_id=body.client_id
    )
    if appended.duplicate:
        response.status_code = 200  # a resend: the stored message, nothing new written
    return render_message(appended.message)


@router.get("/conversations/{conversation_id}/messages")
async def history(
    conversation_id: ConversationId,
    principal: PrincipalDep,
    services: ServicesDep,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 50,
) -> Any:
    messages = await services.messaging.history(
        principal, conversation_id, before=before, limit=limit
    )
    next_before = messages[-1]["seq"] if len(messages) == limit else None
    return {"messages": messages, "next_before": next_before}


@router.get("/sync")
async def sync(
    principal: PrincipalDep,
    services: ServicesDep,
    since: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    timeout: Annotated[float, Query(ge=0, le=600)] = 0,
    limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> Any:
    events, cursor = await services.sync.wait_for_events(
        principal, since, timeout=timeout, limit=limit
    )
    return {"events": events, "next": cursor}
