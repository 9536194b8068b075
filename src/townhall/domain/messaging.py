"""Rules for conversations and messages: sizes, membership, roles, the direct-pair key."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from townhall.domain.errors import InvalidInput, PolicyRefusal, TooLarge
from townhall.domain.limits import Limits

CLIENT_ID_PATTERN = re.compile(r"[A-Za-z0-9_.:-]+")
ALLOWED_CONTROL_CHARACTERS = frozenset("\n\r\t")  # line breaks of any platform, tabs


class ConversationKind:
    DIRECT = "direct"
    GROUP = "group"


class MemberRole:
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


def check_message_text(text: str, limits: Limits) -> str:
    if not text.strip():
        raise InvalidInput("text must not be empty", code="text_empty")
    if len(text.encode()) > limits.max_message_bytes:
        raise TooLarge(
            f"text is limited to {limits.max_message_bytes} bytes of UTF-8",
            code="message_too_large",
        )
    # isprintable() is the fast path for the common message without any control character.
    if not text.isprintable() and _has_forbidden_controls(text):
        raise InvalidInput("text must not contain control characters", code="text_invalid")
    return text


def check_client_id(client_id: str, limits: Limits) -> str:
    if not 1 <= len(client_id) <= limits.max_client_id_chars or not CLIENT_ID_PATTERN.fullmatch(
        client_id
    ):
        raise InvalidInput(
            f"client_id must be 1-{limits.max_client_id_chars} characters of "
            "letters, digits, '_', '.', ':' or '-'",
            code="client_id_invalid",
        )
    return client_id


def check_group_title(title: str, limits: Limits) -> str:
    stripped = title.strip()
    if not stripped or len(stripped) > limits.max_group_title_chars:
        raise InvalidInput(
            f"title must be 1-{limits.max_group_title_chars} characters", code="title_invalid"
        )
    if any(unicodedata.category(ch) == "Cc" for ch in stripped):
        raise InvalidInput("title must not contain control characters", code="title_invalid")
    return stripped


def group_member_ids(creator_id: int, member_ids: Iterable[int], limits: Limits) -> list[int]:
    """The members of a new group: the creator first, duplicates dropped, the size cap applied."""
    members = list(dict.fromkeys([creator_id, *member_ids]))
    if len(members) > limits.max_group_members:
        raise PolicyRefusal(
            f"a group holds at most {limits.max_group_members} members",
            code="group_too_large",
        )
    return members


def direct_pair_key(first_id: int, second_id: int) -> str:
    """One direct conversation per pair, whoever starts it."""
    if first_id == second_id:
        raise InvalidInput("a direct conversation needs another user", code="direct_self")
    low, high = sorted((first_id, second_id))
    return f"{low}:{high}"


def _has_forbidden_controls(text: str) -> bool:
    return any(
        unicodedata.category(ch) == "Cc" and ch not in ALLOWED_CONTROL_CHARACTERS for ch in text
    )


class MessageModeration:
    """What moderation made of a stored message; None: delivered as sent."""

    HELD = "held"  # only its sender has it until a reviewer approves it
    REMOVED = "removed"  # blanked: a tombstone wherever it reached
    WITHHELD = "withheld"  # removed while held: only its sender ever had it


SENDER_ONLY = (MessageModeration.HELD, MessageModeration.WITHHELD)
GONE = (MessageModeration.REMOVED, MessageModeration.WITHHELD)
