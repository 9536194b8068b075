"""Messages and posts as clients see them, and sanctions and appeals as the notices and the API
show them. A leaf: it imports no service, so every service that shows or re-delivers content
(messaging, posts, sync, takedown) renders it the same way."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from townhall.domain.contacts import RequestState
from townhall.domain.events import message_object
from townhall.domain.messaging import ConversationKind
from townhall.domain.public_accounts import PostState
from townhall.domain.time import iso_utc
from townhall.store.contacts import StoredRequest, StoredTie
from townhall.store.conversations import GroupInvitation, StoredConversation
from townhall.store.media import StoredMedia
from townhall.store.message_log import StoredMessage
from townhall.store.posts import PostWithAccount
from townhall.store.sanctions import StoredAppeal, StoredSanction


def render_message(message: StoredMessage) -> dict[str, Any]:
    """A recalled message keeps its place but shows nothing of what it said (nor whom it
    mentioned or quoted)."""
    if message.recalled_at is not None:
        return message_object(
            message_id=message.id,
            conversation_id=message.conversation_id,
            seq=message.seq,
            sender_id=message.sender_id,
            client_id=message.client_id,
            text="",
            created_at=iso_utc(message.created_at_ms),
            moderation=message.moderation,
            recalled=True,
        )
    return message_object(
        message_id=message.id,
        conversation_id=message.conversation_id,
        seq=message.seq,
        sender_id=message.sender_id,
        client_id=message.client_id,
        text=message.text,
        created_at=iso_utc(message.created_at_ms),
        attachment=orjson.loads(message.attachment) if message.attachment else None,
        moderation=message.moderation,
        reply_to=message.reply_to,
        mentions=orjson.loads(message.mentions) if message.mentions else None,
        media=orjson.loads(message.media) if message.media else None,
    )


def render_media(media: StoredMedia) -> dict[str, Any]:
    """A media object as its uploader gets it, and as the messages and posts that carry it
    show it: what a client needs to lay it out before it downloads it."""
    return {
        "id": media.id,
        "kind": media.kind,
        "content_type": media.content_type,
        "size": media.size,
        "width": media.width,
        "height": media.height,
        "filename": media.filename,
    }


def carried_media(media: list[StoredMedia]) -> str | None:
    """The media a message or post carries, as its row keeps them (JSON); None: none."""
    return orjson.dumps([render_media(m) for m in media]).decode() if media else None


def render_post(row: PostWithAccount) -> dict[str, Any]:
    """A removed post renders as its tombstone; a held one (seen by its operator) says so."""
    if row.status == PostState.REMOVED:
        return {
            "id": row.id,
            "public_account_id": row.public_account_id,
            "account_name": row.account_name,
            "created_at": iso_utc(row.created_at),
            "moderation": PostState.REMOVED,
        }
    post = {
        "id": row.id,
        "public_account_id": row.public_account_id,
        "account_name": row.account_name,
        "title": row.title,
        "body": row.body,
        "content_class": row.content_class,
        "source_post_id": row.source_post_id,
        "root_post_id": row.root_post_id,
        "created_at": iso_utc(row.created_at),
    }
    if row.media:
        post["media"] = orjson.loads(row.media)
    if row.status == PostState.HELD:
        post["moderation"] = PostState.HELD
    return post


def post_attachment(post: PostWithAccount) -> dict[str, Any]:
    """What a message forwarding a post carries."""
    return {
        "type": "post",
        "post_id": post.id,
        "public_account_id": post.public_account_id,
        "account_name": post.account_name,
        "title": post.title,
    }


@dataclass(frozen=True, slots=True)
class ConversationView:
    """A conversation with its members' roles, in the order they joined."""

    conversation: StoredConversation
    roles: Mapping[int, str]
    muted: frozenset[int] = frozenset()  # members muted one by one (a group's)

    @property
    def id(self) -> int:
        return self.conversation.id


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """A conversation as the caller's list shows it: with their read cursor, how many
    messages of the others they have not read, and the last message."""

    view: ConversationView
    read_seq: int
    partner_read_seq: int | None  # a direct conversation's other member's cursor
    unread: int
    last_message: StoredMessage | None

    @property
    def id(self) -> int:
        return self.view.id


def render_conversation_summary(summary: ConversationSummary) -> dict[str, Any]:
    last = summary.last_message
    return render_conversation(summary.view) | {
        "read_seq": summary.read_seq,
        "partner_read_seq": summary.partner_read_seq,
        "unread": summary.unread,
        "last_message": None if last is None else render_message(last),
    }


def render_recall(message: StoredMessage) -> dict[str, Any]:
    """What a recall event says: which message, by whom, when; never what it said."""
    assert message.recalled_at is not None
    return {
        "message_id": message.id,
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "sender_id": message.sender_id,
        "recalled_at": iso_utc(message.recalled_at),
    }


def render_conversation(view: ConversationView) -> dict[str, Any]:
    row = view.conversation
    rendered: dict[str, Any] = {
        "id": row.id,
        "kind": row.kind,
        "title": row.title,
        "description": row.description,
        "created_by": row.created_by,
        "created_at": iso_utc(row.created_at),
        "members": [_member(uid, role, view.muted) for uid, role in view.roles.items()],
    }
    if row.kind == ConversationKind.GROUP:
        rendered["group"] = {
            "avatar": row.avatar,
            "announcement": row.announcement,
            "mute_all": bool(row.mute_all),
            "members_invite": bool(row.members_invite),
            "dissolved": row.dissolved_at is not None,
        }
    return rendered


def _member(user_id: int, role: str, muted: frozenset[int]) -> dict[str, Any]:
    member: dict[str, Any] = {"user_id": user_id, "role": role}
    if user_id in muted:
        member["muted"] = True
    return member


def render_invitation(invitation: GroupInvitation) -> dict[str, Any]:
    """An invitation to a group as its invitee sees it, in the list and in its event."""
    return {
        "conversation_id": invitation.conversation_id,
        "title": invitation.title,
        "description": invitation.description,
        "inviter_id": invitation.inviter_id,
        "invited_at": iso_utc(invitation.created_at),
    }


def render_friend_request(request: StoredRequest, viewer_id: int) -> dict[str, Any]:
    """A friend request as `viewer_id` sees it: its requester never learns it was ignored."""
    state = request.state
    if viewer_id == request.requester_id and state == RequestState.IGNORED:
        state = RequestState.PENDING
    return {
        "requester_id": request.requester_id,
        "addressee_id": request.addressee_id,
        "state": state,
        "greeting": request.greeting,
        "greetings": request.greetings,
        "created_at": iso_utc(request.created_at),
        "updated_at": iso_utc(request.updated_at),
    }


def render_contact(tie: StoredTie) -> dict[str, Any]:
    """One user's tie to another, as its owner sees it."""
    return {
        "user_id": tie.contact_id,
        "friend": tie.friend_since is not None,
        "friend_since": None if tie.friend_since is None else iso_utc(tie.friend_since),
        "remark": tie.remark,
        "blocked": tie.blocked_at is not None,
    }


@dataclass(frozen=True, slots=True)
class SanctionView:
    """A sanction with the moment (epoch ms) the window to appeal it closes."""

    sanction: StoredSanction
    appeal_until: int

    @property
    def id(self) -> int:
        return self.sanction.id


def render_sanction(view: SanctionView) -> dict[str, Any]:
    """The sanction with its statement of reasons, as staff and its subject see it, in
    responses and in the notices of its start and end."""
    row = view.sanction
    return {
        "id": row.id,
        "subject": {"type": row.subject_type, "id": row.subject_id},
        "kind": row.kind,
        "member_id": row.member_id,
        "case_id": row.case_id,
        "state": row.state,
        "points": row.points,
        "statement": {
            "ground": row.ground,
            "facts": row.reason,
            "category": row.category,
            "severity": row.severity,
            "automated_detection": bool(row.automated),
            "automated_decision": False,  # staff apply every sanction
            "starts_at": iso_utc(row.starts_at),
            "ends_at": None if row.ends_at is None else iso_utc(row.ends_at),
        },
        "appeal_until": iso_utc(view.appeal_until),
        "ended_at": None if row.ended_at is None else iso_utc(row.ended_at),
        "end_reason": row.end_reason,
    }


def render_appeal(row: StoredAppeal) -> dict[str, Any]:
    """An appeal, in responses and in the notice of its decision."""
    return {
        "id": row.id,
        "sanction_id": row.sanction_id,
        "case_id": row.case_id,
        "appellant_id": row.appellant_id,
        "statement": row.statement,
        "state": row.state,
        "created_at": iso_utc(row.created_at),
        "decided_by": row.decided_by,
        "decided_at": None if row.decided_at is None else iso_utc(row.decided_at),
        "reason": row.reason,
    }


def render_staff_appeal(row: StoredAppeal, deciders: list[int]) -> dict[str, Any]:
    """An appeal as reviewers see it: with the staff whose decision it questions, who may not
    decide it (the appellant's own view leaves them out)."""
    return {**render_appeal(row), "original_deciders": deciders}
