"""Conversations, their messages, and the caller's event stream (sync)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Path, Query, Response

from townhall.api.deps import PrincipalDep, ServicesDep, needs
from townhall.api.models.common import Cursor, at_most, cursor_position, errors, next_cursor
from townhall.api.models.events import NoticePage, Sync
from townhall.api.models.messaging import (
    Conversation,
    ConversationPage,
    DeclinedInvitation,
    InvitationPage,
    Message,
    MessagePage,
    NewConversation,
    ReadState,
)
from townhall.api.openapi import api_router
from townhall.api.responses import JSONBody
from townhall.api.schemas import MAX_ID, ConversationIn, DirectIn, MessageIn, ReadIn
from townhall.domain.permissions import Permission
from townhall.services.rendering import (
    render_conversation,
    render_conversation_summary,
    render_invitation,
    render_message,
)

router = api_router(prefix="/api/v1", tags=["messaging"])

ConversationId = Annotated[int, Path(ge=1, le=MAX_ID, description="the conversation")]
MessageId = Annotated[int, Path(ge=1, le=MAX_ID, description="the message")]
ListLimit = Annotated[int, at_most(500)]


@router.post(
    "/conversations",
    summary="Open a direct conversation or create a group",
    status_code=201,
    response_model=NewConversation,
    response_model_exclude_unset=True,
    responses={
        200: {"model": NewConversation, "description": "the direct conversation already existed"},
        **errors(404, 422, 429),
    },
    openapi_extra=needs(Permission.ACT),
)
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
        return render_conversation(conversation)
    new = await services.groups.create(
        principal, title=body.title, description=body.description, member_ids=body.member_ids
    )
    return render_conversation(new.group) | {"invited": list(new.invited)}


@router.get(
    "/invitations",
    summary="List the caller's pending group invitations",
    response_model=InvitationPage,
)
async def invitations(
    principal: PrincipalDep, services: ServicesDep, cursor: Cursor = None, limit: ListLimit = 100
) -> Any:
    """The caller's group invitations waiting for an answer."""
    waiting = await services.groups.invitations(
        principal, after=cursor_position(cursor), limit=limit
    )
    last = waiting[-1].conversation_id if len(waiting) == limit else None
    return {
        "invitations": [render_invitation(i) for i in waiting],
        "next_cursor": next_cursor(last),
    }


@router.post(
    "/invitations/{conversation_id}/accept",
    summary="Accept an invitation and join the group",
    response_model=Conversation,
    responses=errors(409, 422),
    openapi_extra=needs(Permission.ACT),
)
async def accept_invitation(
    conversation_id: ConversationId, principal: PrincipalDep, services: ServicesDep
) -> Any:
    return render_conversation(await services.groups.accept(principal, conversation_id))


@router.post(
    "/invitations/{conversation_id}/decline",
    summary="Decline an invitation to a group",
    response_model=DeclinedInvitation,
    openapi_extra=needs(Permission.ACT),
)
async def decline_invitation(
    conversation_id: ConversationId, principal: PrincipalDep, services: ServicesDep
) -> Any:
    state = await services.groups.decline(principal, conversation_id)
    return {"conversation_id": conversation_id, "state": state}


@router.get(
    "/conversations", summary="List the caller's conversations", response_model=ConversationPage
)
async def list_conversations(
    principal: PrincipalDep, services: ServicesDep, cursor: Cursor = None, limit: ListLimit = 100
) -> Any:
    conversations = await services.messaging.list_conversations(
        principal, after=cursor_position(cursor), limit=limit
    )
    last = conversations[-1].id if len(conversations) == limit else None
    return {
        "conversations": [render_conversation_summary(c) for c in conversations],
        "next_cursor": next_cursor(last),
    }


@router.get(
    "/conversations/{conversation_id}", summary="Show a conversation", response_model=Conversation
)
async def get_conversation(
    conversation_id: ConversationId, principal: PrincipalDep, services: ServicesDep
) -> Any:
    return render_conversation(
        await services.messaging.get_conversation(principal, conversation_id)
    )


@router.post(
    "/conversations/{conversation_id}/messages",
    summary="Send a message",
    status_code=201,
    response_model=Message,
    responses={
        200: {"model": Message, "description": "a resend of a stored message (same client_id)"},
        **errors(403, 409, 422, 429),
    },
    openapi_extra=needs(Permission.ACT),
)
async def send_message(
    conversation_id: ConversationId,
    body: MessageIn,
    principal: PrincipalDep,
    services: ServicesDep,
) -> JSONBody:
    appended = await services.messaging.send(
        principal,
        conversation_id,
        text=body.text,
        client_id=body.client_id,
        reply_to=body.reply_to,
        mentions=body.mentions,
        mention_everyone=body.mention_everyone,
        media_ids=body.media_ids,
    )
    # A resend: the stored message, nothing new written.
    status = 200 if appended.duplicate else 201
    return JSONBody(render_message(appended.message), status_code=status)


@router.post(
    "/conversations/{conversation_id}/messages/{message_id}/recall",
    summary="Recall (撤回) one's own message within the pack's window",
    response_model=Message,
    responses=errors(403, 422),
    openapi_extra=needs(Permission.ACT),
)
async def recall_message(
    conversation_id: ConversationId,
    message_id: MessageId,
    principal: PrincipalDep,
    services: ServicesDep,
) -> JSONBody:
    """Members get a `recall` event and see the message without its text from then on; the
    stored copy stays for reviewers, reports and retention."""
    recalled = await services.messaging.recall(principal, conversation_id, message_id)
    return JSONBody(render_message(recalled))


@router.post(
    "/conversations/{conversation_id}/read",
    summary="Move the caller's read cursor up to a message",
    response_model=ReadState,
    responses=errors(403),
    openapi_extra=needs(Permission.ACT),
)
async def mark_read(
    conversation_id: ConversationId,
    body: ReadIn,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Any:
    """The cursor never moves back; a move is a `read` event for the caller's devices and, in a
    direct conversation, for the other member (a read receipt)."""
    state = await services.messaging.mark_read(
        principal, conversation_id, seq=body.seq, message_id=body.message_id
    )
    return {"conversation_id": state.conversation_id, "seq": state.seq, "unread": state.unread}


@router.get(
    "/conversations/{conversation_id}/messages",
    summary="Page back through a conversation's messages",
    response_model=MessagePage,
)
async def history(
    conversation_id: ConversationId,
    principal: PrincipalDep,
    services: ServicesDep,
    cursor: Cursor = None,
    limit: Annotated[int, at_most(10_000, "history_page_max (200 unless configured)")] = 50,
) -> JSONBody:
    messages = await services.messaging.history(
        principal, conversation_id, before=cursor_position(cursor), limit=limit
    )
    last = messages[-1].seq if len(messages) == limit else None
    page = [render_message(message) for message in messages]
    return JSONBody({"messages": page, "next_cursor": next_cursor(last)})


@router.get(
    "/notices",
    summary="List what the platform told the caller: notices and corrections, newest first",
    response_model=NoticePage,
)
async def notices(
    principal: PrincipalDep,
    services: ServicesDep,
    cursor: Cursor = None,
    limit: Annotated[int, at_most(100)] = 50,
) -> JSONBody:
    """Sanctions, removals and markings of one's content, report outcomes, appeal decisions,
    public-account decisions and rumour corrections, as the stream carried them: what a client
    shows of the time before it connected."""
    found = await services.sync.notices(principal, before=cursor_position(cursor), limit=limit)
    last = found[-1]["cursor"] if len(found) == limit else None
    return JSONBody({"notices": found, "next_cursor": next_cursor(last)})


@router.get(
    "/sync",
    summary="Get the caller's events since a point in their stream",
    response_model=Sync,
    responses=errors(429),
)
async def sync(
    principal: PrincipalDep,
    services: ServicesDep,
    since: Annotated[
        int, Query(ge=0, le=MAX_ID, description="`next` of the previous answer; 0 from the start")
    ] = 0,
    timeout: Annotated[
        float,
        Query(
            ge=0,
            le=600,
            description="seconds to wait for an event when there is none yet (long poll), up to "
            "sync_timeout_max_seconds (60 unless configured); 0 answers at once",
        ),
    ] = 0,
    limit: Annotated[
        int | None, at_most(10_000, "sync_page_max (500 unless configured), which is the default")
    ] = None,
) -> JSONBody:
    events, cursor = await services.sync.wait_for_events(
        principal, since, timeout=timeout, limit=limit
    )
    return JSONBody({"events": events, "next": cursor})
