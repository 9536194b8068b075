"""Contacts: the pack's friendship rules, friend requests' states and greetings."""

from __future__ import annotations

import unicodedata

import msgspec

from townhall.domain.errors import ErrorCode, InvalidInput
from townhall.domain.limits import Limits


class ContactRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Whether a direct message needs the two to be friends first, and how many greetings a
    stranger may send with a friend request before it is answered."""

    direct_needs_friendship: bool
    stranger_greetings: int


def check_contact_rules(rules: ContactRules) -> str | None:
    """The first problem with a pack's contacts section, as `key: what`, or None."""
    if rules.stranger_greetings < 1:
        return "contacts.stranger_greetings: must be >= 1"
    return None


class RequestState:
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    # Dismissed by the addressee without telling the requester, who still sees it pending.
    IGNORED = "ignored"


# A request the addressee may still accept or decline.
OPEN_STATES = frozenset({RequestState.PENDING, RequestState.IGNORED})


def check_greeting(greeting: str, limits: Limits) -> str:
    """A greeting as stored: NFC, trimmed, within the limit, no control characters."""
    text = unicodedata.normalize("NFC", greeting.strip())
    if len(text) > limits.max_greeting_chars:
        raise InvalidInput(
            f"a greeting is limited to {limits.max_greeting_chars} characters",
            code=ErrorCode.GREETING_TOO_LONG,
        )
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise InvalidInput(
            "a greeting must not contain control characters", code=ErrorCode.GREETING_INVALID
        )
    return text


def require_other(actor_id: int, other_id: int) -> None:
    """Nobody befriends, blocks or names themselves."""
    if actor_id == other_id:
        raise InvalidInput("that is the caller's own account", code=ErrorCode.CONTACT_SELF)
