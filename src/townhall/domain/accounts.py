"""Rules for handles, display names, passwords and the identity object given at registration."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from townhall.domain.characters import LINE, clean
from townhall.domain.errors import ErrorCode, InvalidInput, PolicyRefusal
from townhall.domain.limits import Limits

HANDLE_PATTERN = re.compile(r"[a-z][a-z0-9_.-]{2,31}")
PASSWORD_MIN_CHARS = 8
PASSWORD_MAX_CHARS = 256
IDENTITY_FIELD_MAX_CHARS = 128
ID_TYPES = frozenset({"cn_ric", "passport", "hk_macau_permit", "taiwan_permit"})


class AccountStatus:
    ACTIVE = "active"
    DEREGISTERED = "deregistered"


class Role:
    USER = "user"
    REVIEWER = "reviewer"
    ADMIN = "admin"
    AUDITOR = "auditor"


STAFF_ROLES = frozenset({Role.REVIEWER, Role.ADMIN, Role.AUDITOR})


class LinkSource:
    """What established that two identities are one person."""

    SAME_PHONE = "same_phone"  # registered with the phone of an identity on file
    REVIEWER = "reviewer"  # a reviewer's finding, with its reason in the audit log


class Verification:
    """How far an identity has been verified; the phone's SMS confirmation is a fact beside it.

    A checksum says a number is well-formed, not that it is the holder's: only the operator's
    identity-verification provider (the national register, the carrier) or a reviewer can say
    that."""

    PENDING_REVIEW = "pending_review"  # waits for a reviewer (the pack's "review" mode)
    FORMAT_CHECKED = "format_checked"  # the document passed its checks, nothing more
    PROVIDER_VERIFIED = "provider_verified"  # the provider matched name and number
    STAFF_VERIFIED = "staff_verified"  # a reviewer confirmed it
    REJECTED = "rejected"


VERIFICATION_STATUSES = (
    Verification.PENDING_REVIEW,
    Verification.FORMAT_CHECKED,
    Verification.PROVIDER_VERIFIED,
    Verification.STAFF_VERIFIED,
    Verification.REJECTED,
)
# What a reviewer may still decide on: nobody has confirmed these yet.
AWAITING_CONFIRMATION = frozenset({Verification.PENDING_REVIEW, Verification.FORMAT_CHECKED})


REASON_MIN_CHARS = 5
REASON_MAX_CHARS = 1000
REASON_MIN_DISTINCT = 3  # different letters or digits: "aaaaa" or "1111." says nothing


def check_reason(reason: str | None, *, what: str) -> str:
    """A staff action that needs a stated reason gets a real one, not a placeholder."""
    text = (reason or "").strip()
    if not REASON_MIN_CHARS <= len(text) <= REASON_MAX_CHARS:
        raise PolicyRefusal(
            f"{what} needs a reason of {REASON_MIN_CHARS}-{REASON_MAX_CHARS} characters",
            code=ErrorCode.REASON_REQUIRED,
        )
    # "aaaaa" or "....." is a placeholder, not a reason.
    if len({char for char in text.casefold() if char.isalnum()}) < REASON_MIN_DISTINCT:
        raise PolicyRefusal(
            f"{what} needs a reason that says why, not a placeholder",
            code=ErrorCode.REASON_REQUIRED,
        )
    return text


def normalize_handle(handle: str) -> str:
    """Handles are case-insensitive: `Alice` and `alice` are one account."""
    candidate = handle.strip().lower()
    if not HANDLE_PATTERN.fullmatch(candidate):
        raise InvalidInput(
            "handle must be 3-32 characters: a letter, then letters, digits, '_', '.' or '-'",
            code=ErrorCode.HANDLE_INVALID,
        )
    return candidate


def check_display_name(display_name: str, limits: Limits) -> str:
    """A display name as stored: a name like every other (domain/characters.py)."""
    return clean(
        display_name,
        field="display_name",
        layout=LINE,
        max_chars=limits.max_display_name_chars,
        required=True,
        invalid=ErrorCode.DISPLAY_NAME_INVALID,
        too_long=ErrorCode.DISPLAY_NAME_TOO_LONG,
    )


def check_password(password: str) -> None:
    if not PASSWORD_MIN_CHARS <= len(password) <= PASSWORD_MAX_CHARS:
        raise InvalidInput(
            f"password must be {PASSWORD_MIN_CHARS}-{PASSWORD_MAX_CHARS} characters",
            code=ErrorCode.PASSWORD_INVALID,
        )


@dataclass(frozen=True, slots=True)
class IdentityClaim:
    """The real identity a user declares. Held back-stage, encrypted; never shown or logged."""

    legal_name: str
    id_type: str
    id_number: str
    phone: str

    def __repr__(self) -> str:  # keeps the plaintext out of tracebacks and logs
        return f"IdentityClaim(id_type={self.id_type!r}, <redacted>)"

    def as_dict(self) -> dict[str, str]:
        return {
            "legal_name": self.legal_name,
            "id_type": self.id_type,
            "id_number": self.id_number,
            "phone": self.phone,
        }


def check_identity_shape(claim: IdentityClaim) -> IdentityClaim:
    """Shape checks only; document-specific validation belongs to the real-name rules.

    A refusal is a 422 like every other identity check: the request was well-formed JSON, the
    identity in it is what was refused."""
    if claim.id_type not in ID_TYPES:
        raise PolicyRefusal(
            f"id_type must be one of {', '.join(sorted(ID_TYPES))}", code=ErrorCode.ID_TYPE_INVALID
        )
    fields = {
        "legal_name": claim.legal_name,
        "id_number": claim.id_number,
        "phone": claim.phone,
    }
    for field, value in fields.items():
        stripped = value.strip()
        # The message names the field only: the value itself is personal data.
        if not stripped or len(stripped) > IDENTITY_FIELD_MAX_CHARS:
            raise PolicyRefusal(
                f"identity.{field} must be 1-{IDENTITY_FIELD_MAX_CHARS} characters",
                code=ErrorCode.IDENTITY_INVALID,
            )
        if _has_control_characters(stripped):
            raise PolicyRefusal(
                f"identity.{field} must not contain control characters",
                code=ErrorCode.IDENTITY_INVALID,
            )
    return IdentityClaim(
        legal_name=claim.legal_name.strip(),
        id_type=claim.id_type,
        id_number=claim.id_number.strip(),
        phone=claim.phone.strip(),
    )


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


DEVICE_NAME_MAX_CHARS = 64
USER_AGENT_MAX_CHARS = 160


def device_label(device_name: str | None, user_agent: str | None) -> str | None:
    """What a session's owner sees to tell their devices apart: the name the client gave at
    login, else its User-Agent. Both come from the client, so both are only tidied (spaces
    collapsed, control and format characters dropped, cut to length), never refused: a login
    does not fail over a label."""
    for given, max_chars in (
        (device_name, DEVICE_NAME_MAX_CHARS),
        (user_agent, USER_AGENT_MAX_CHARS),
    ):
        tidy = " ".join(_printable(given or "").split())
        if tidy:
            return unicodedata.normalize("NFC", tidy)[:max_chars]
    return None


def _printable(text: str) -> str:
    return "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf")
    )
