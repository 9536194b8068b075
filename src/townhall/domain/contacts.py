"""Contacts: the pack's friendship rules, friend requests' states and greetings."""

from __future__ import annotations

import msgspec

from townhall.domain.characters import LINE, clean
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
    """A greeting as stored: one line, NFC, trimmed, within the limit, nothing hidden; one that
    shows nothing is no greeting ("")."""
    return clean(
        greeting,
        field="greeting",
        layout=LINE,
        max_chars=limits.max_greeting_chars,
        required=False,
        invalid=ErrorCode.GREETING_INVALID,
        too_long=ErrorCode.GREETING_TOO_LONG,
    )


def check_remark(remark: str | None, limits: Limits) -> str | None:
    """A friend's remark as stored: a name like every other, or None for none (null, or a
    remark that shows nothing)."""
    if remark is None:
        return None
    cleaned = clean(
        remark,
        field="remark",
        layout=LINE,
        max_chars=limits.max_display_name_chars,
        required=False,
        invalid=ErrorCode.NAME_INVALID,
    )
    return cleaned or None


def require_other(actor_id: int, other_id: int) -> None:
    """Nobody befriends, blocks or names themselves."""
    if actor_id == other_id:
        raise InvalidInput("that is the caller's own account", code=ErrorCode.CONTACT_SELF)
