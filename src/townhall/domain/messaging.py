"""Rules for conversations and messages: sizes, membership, roles, the direct-pair key."""

from __future__ import annotations

import re
from collections.abc import Iterable

import msgspec

from townhall.domain.characters import LINE, MESSAGE, clean, hides_something, shows_something
from townhall.domain.errors import (
    Conflict,
    ErrorCode,
    Forbidden,
    InvalidInput,
    NotFound,
    PolicyRefusal,
    TooLarge,
)
from townhall.domain.limits import Limits

CLIENT_ID_PATTERN = re.compile(r"[A-Za-z0-9_.:-]+")
AVATAR_PATTERN = re.compile(r"[A-Za-z0-9_.:/-]{1,256}")


class ConversationKind:
    DIRECT = "direct"
    GROUP = "group"


class MemberRole:
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


class InvitationState:
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    SUPERSEDED = "superseded"  # the invitee joined another way first: used up all the same


class GroupRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The pack's caps on group life (groups 2017 art. 5): how many groups one person may create
    in a day and belong to at once; past what size an invitee must consent, only a verified
    identity may join, and a join link stops working; how long a join link lasts."""

    max_created_per_day: int
    max_joined: int
    invite_consent_above: int
    verified_identity_above: int
    link_join_max_members: int
    join_link_days: int


def check_group_rules(rules: GroupRules) -> str | None:
    """The first problem with a pack's groups section, as `key: what`, or None."""
    for key in ("max_created_per_day", "max_joined", "link_join_max_members", "join_link_days"):
        if getattr(rules, key) < 1:
            return f"groups.{key}: must be >= 1"
    for key in ("invite_consent_above", "verified_identity_above"):
        if getattr(rules, key) < 0:
            return f"groups.{key}: must be >= 0"
    return None


class MessagingRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The pack's rules for messages already sent: how long a sender may recall one."""

    recall_seconds: int


def check_messaging_rules(rules: MessagingRules) -> str | None:
    """The first problem with a pack's messaging section, as `key: what`, or None."""
    if rules.recall_seconds < 0:
        return "messaging.recall_seconds: must be >= 0"
    return None


class MemberChange:
    """What the membership history records of a member (store: member_history)."""

    JOINED = "joined"  # by accepting an invitation, by being added, or by a join link
    LEFT = "left"
    REMOVED = "removed"
    MADE_ADMIN = "made_admin"
    UNMADE_ADMIN = "unmade_admin"
    MADE_OWNER = "made_owner"  # ownership transferred to them
    MUTED = "muted"
    UNMUTED = "unmuted"
    DISSOLVED = "dissolved"  # the group was dissolved while they were in it


class JoinRequestState:
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class JoinRequestChange:
    """What a group's owner and admins alone are told of a request to join (the `change` of a
    `conversation` event); an approval is the `joined` every member is told."""

    REQUESTED = "join_requested"
    DECLINED = "join_declined"  # by another admin: the request is answered
    WITHDRAWN = "join_withdrawn"  # the asker's account was deregistered


MANAGERS = frozenset({MemberRole.OWNER, MemberRole.ADMIN})


def checked_mentions(
    user_ids: Iterable[int],
    everyone: bool,
    *,
    member_ids: frozenset[int],
    may_mention_everyone: bool,
) -> dict[str, object] | None:
    """Whom a message mentions, as it is stored and rendered; None when nobody. Only members may
    be mentioned, and everyone only by those allowed (a group's owner and admins)."""
    if everyone and not may_mention_everyone:
        raise Forbidden(
            "only a group's owner and admins may mention everyone",
            code=ErrorCode.MENTION_EVERYONE_FORBIDDEN,
        )
    named = list(dict.fromkeys(user_ids))
    if not member_ids.issuperset(named):
        raise PolicyRefusal(
            "mentions may name members of the conversation only",
            code=ErrorCode.MENTION_NOT_MEMBER,
        )
    if not named and not everyone:
        return None
    return {"user_ids": named, "everyone": everyone}


def check_recall(
    *, sender_id: int, actor_id: int, sent_at_ms: int, now_ms: int, rules: MessagingRules
) -> None:
    """Only its sender recalls a message, and only within the pack's window."""
    if sender_id != actor_id:
        raise Forbidden("only its sender may recall a message", code=ErrorCode.RECALL_NOT_SENDER)
    if now_ms - sent_at_ms >= rules.recall_seconds * 1000:
        raise PolicyRefusal(
            f"a message may be recalled within {rules.recall_seconds} s of sending",
            code=ErrorCode.RECALL_WINDOW_PASSED,
        )


def check_read_seq(seq: int, last_seq: int) -> None:
    """A read cursor points at a message the conversation has (0: nothing read)."""
    if not 0 <= seq <= last_seq:
        raise InvalidInput(
            f"seq must be 0-{last_seq}, the conversation's last message",
            code=ErrorCode.READ_SEQ_INVALID,
        )


def no_such_message() -> NotFound:
    return NotFound("no such message in this conversation", code=ErrorCode.MESSAGE_NOT_FOUND)


def require_group(kind: str) -> None:
    """Refuse a group's change on a direct conversation, to one of its two members (anyone else
    has been told there is no such conversation)."""
    if kind != ConversationKind.GROUP:
        raise Conflict("this is a direct conversation, not a group", code=ErrorCode.NOT_A_GROUP)


def invitation_waits_for_consent(members_after: int, rules: GroupRules) -> bool:
    """Past `invite_consent_above` members an invitee joins only by accepting."""
    return members_after > rules.invite_consent_above


def needs_verified_identity(members_after: int, rules: GroupRules) -> bool:
    """Past `verified_identity_above` members only a verified identity may join."""
    return members_after > rules.verified_identity_above


def check_avatar(avatar: str) -> str:
    """A group avatar is a reference (a media id or path the client resolves), not an image."""
    if not AVATAR_PATTERN.fullmatch(avatar):
        raise InvalidInput(
            "avatar must be 1-256 characters of letters, digits, '_', '.', ':', '/' or '-'",
            code=ErrorCode.AVATAR_INVALID,
        )
    return avatar


def check_message_text(text: str, limits: Limits, *, required: bool = True) -> str:
    """A message's text; it may be empty when it carries media (`required` False)."""
    # Only invisible characters are as empty as only spaces; a zero-width joiner inside an emoji
    # sequence, or Arabic and Hebrew, are text like any other.
    if required and not shows_something(text):
        raise InvalidInput("text must not be empty", code=ErrorCode.TEXT_EMPTY)
    if len(text.encode()) > limits.max_message_bytes:
        raise TooLarge(
            f"text is limited to {limits.max_message_bytes} bytes of UTF-8",
            code=ErrorCode.MESSAGE_TOO_LARGE,
        )
    if hides_something(text, MESSAGE):
        raise InvalidInput(
            "text must not contain control characters or text-direction overrides",
            code=ErrorCode.TEXT_INVALID,
        )
    return text


def check_client_id(client_id: str, limits: Limits) -> str:
    if not 1 <= len(client_id) <= limits.max_client_id_chars or not CLIENT_ID_PATTERN.fullmatch(
        client_id
    ):
        raise InvalidInput(
            f"client_id must be 1-{limits.max_client_id_chars} characters of "
            "letters, digits, '_', '.', ':' or '-'",
            code=ErrorCode.CLIENT_ID_INVALID,
        )
    return client_id


def check_group_title(title: str, limits: Limits) -> str:
    """A group's title as stored: a name like every other (domain/characters.py)."""
    return clean(
        title,
        field="title",
        layout=LINE,
        max_chars=limits.max_group_title_chars,
        required=True,
        invalid=ErrorCode.TITLE_INVALID,
    )


def group_invitee_ids(creator_id: int, member_ids: Iterable[int], limits: Limits) -> list[int]:
    """Whom a new group invites: duplicates and the creator dropped, the size cap applied to the
    creator and every invitee together (each joins only by accepting)."""
    invitees = [i for i in dict.fromkeys(member_ids) if i != creator_id]
    if len(invitees) + 1 > limits.max_group_members:
        raise PolicyRefusal(
            f"a group holds at most {limits.max_group_members} members",
            code=ErrorCode.GROUP_TOO_LARGE,
        )
    return invitees


def direct_pair_key(first_id: int, second_id: int) -> str:
    """One direct conversation per pair, whoever starts it."""
    if first_id == second_id:
        raise InvalidInput("a direct conversation needs another user", code=ErrorCode.DIRECT_SELF)
    low, high = sorted((first_id, second_id))
    return f"{low}:{high}"


class MessageModeration:
    """What moderation made of a stored message; None: delivered as sent."""

    HELD = "held"  # only its sender has it until a reviewer approves it
    REMOVED = "removed"  # blanked: a tombstone wherever it reached
    WITHHELD = "withheld"  # removed while held: only its sender ever had it


SENDER_ONLY = (MessageModeration.HELD, MessageModeration.WITHHELD)
GONE = (MessageModeration.REMOVED, MessageModeration.WITHHELD)
