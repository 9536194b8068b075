"""Real-name rules: checking identity documents, names and phones, and masking them for display."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import msgspec
import phonenumbers
from stdnum import numdb
from stdnum.cn import ric
from stdnum.exceptions import ValidationError
from stdnum.util import clean

from townhall.domain.accounts import IdentityClaim, Verification, check_identity_shape
from townhall.domain.errors import ErrorCode, InvalidInput, PolicyRefusal

if TYPE_CHECKING:  # policy.py imports CHECKED_ID_TYPES from here
    from townhall.domain.policy import IdentityRules

# Older than anyone alive; a card claiming an earlier birth is a typo or a forgery.
EARLIEST_BIRTH_YEAR = 1880
CN_RIC_PATTERN = re.compile(r"[0-9]{17}[0-9X]")
PASSPORT_PATTERN = re.compile(r"[A-Z0-9]{5,20}")
HK_MACAU_PERMIT_PATTERN = re.compile(r"[HM](?:[0-9]{8}|[0-9]{10})")
HAN_NAME_MIN_CHARS = 2
HAN_NAME_MAX_CHARS = 30
NAME_DOT = "\u00b7"
# Katakana middle dot and bullet are what Chinese input methods often type for the name dot.
NAME_DOT_VARIANTS = str.maketrans({"\u30fb": NAME_DOT, "\u2022": NAME_DOT})
LATIN_NAME_PUNCTUATION = frozenset(" -'.")
# Two-character surnames: masking keeps the whole surname, as Chinese services show it ("欧阳**").
COMPOUND_SURNAMES = frozenset(
    {
        "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
        "宇文", "司徒", "夏侯", "轩辕", "令狐", "端木", "独孤", "南宫", "西门", "百里",
    }
)  # fmt: skip


class IdentityRejected(PolicyRefusal):
    """The identity does not pass the real-name rules; `code` says which rule, never the value."""


@dataclass(frozen=True, slots=True)
class CheckedIdentity:
    """A claim that passed the rules, normalized so equal identities compare equal."""

    claim: IdentityClaim
    birth_date: date | None  # from the document when it carries one (cn_ric)

    def __repr__(self) -> str:  # keeps the plaintext out of tracebacks and logs
        return f"CheckedIdentity(id_type={self.claim.id_type!r}, <redacted>)"


class ProviderAnswer:
    """What the identity-verification provider says of one check."""

    MATCH = "match"
    NO_MATCH = "no_match"
    UNAVAILABLE = "unavailable"  # no answer: down, slow, refused us, or none configured


class IdentityRequirement(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a capability asks of the identity: one of the `accepted` statuses, and a phone
    confirmed by SMS code if `phone_confirmed`."""

    accepted: Annotated[tuple[str, ...], msgspec.Meta(min_length=1)]
    phone_confirmed: bool


def unmet_requirement(
    requirement: IdentityRequirement, status: str | None, phone_confirmed: bool
) -> ErrorCode | None:
    """The code of the first thing the identity lacks, or None; `status` None: no identity."""
    if status not in requirement.accepted:
        return ErrorCode.IDENTITY_UNVERIFIED
    if requirement.phone_confirmed and not phone_confirmed:
        return ErrorCode.PHONE_UNCONFIRMED
    return None


def provider_finding(identity: str, phone_holder: str) -> str:
    """One answer from the register's check of name and number and the carrier's check of
    phone, name and number. The register decides; the carrier's match stands in when the
    register gives no answer (the carrier holds the same name and number from its own real-name
    registration). A carrier's no-match refuses nothing: many people use a relative's phone."""
    if identity == ProviderAnswer.NO_MATCH:
        return ProviderAnswer.NO_MATCH
    if ProviderAnswer.MATCH in (identity, phone_holder):
        return ProviderAnswer.MATCH
    return ProviderAnswer.UNAVAILABLE


def status_at_registration(verification_mode: str, finding: str) -> str:
    """Where a new identity starts. The pack's "review" mode has a reviewer confirm every
    identity, whatever the provider said; "auto" takes the provider's match as verification."""
    if finding == ProviderAnswer.NO_MATCH:
        raise IdentityRejected(
            "the identity provider could not match identity.legal_name with identity.id_number",
            code=ErrorCode.IDENTITY_NOT_MATCHED,
        )
    if verification_mode == "review":
        return Verification.PENDING_REVIEW
    if finding == ProviderAnswer.MATCH:
        return Verification.PROVIDER_VERIFIED
    return Verification.FORMAT_CHECKED


def check_identity(
    claim: IdentityClaim, rules: IdentityRules, *, today: date, phone_region: str
) -> CheckedIdentity:
    """Check a declared identity against the pack; every refusal names the field, not the value."""
    claim = check_identity_shape(claim)
    if claim.id_type not in rules.accepted_id_types:
        accepted = ", ".join(rules.accepted_id_types)
        raise IdentityRejected(
            f"identity.id_type is not accepted here; accepted: {accepted}",
            code=ErrorCode.ID_TYPE_NOT_ACCEPTED,
        )
    id_number, birth_date = _DOCUMENT_CHECKS[claim.id_type](claim.id_number, today)
    # Only a document that carries a birth date can be held to the minimum age.
    if birth_date is not None and age_on(birth_date, today) < rules.minimum_age_years:
        raise IdentityRejected(
            f"the holder of identity.id_number must be at least {rules.minimum_age_years} "
            "years old",
            code=ErrorCode.UNDERAGE,
        )
    normalized = IdentityClaim(
        legal_name=_check_legal_name(claim.id_type, claim.legal_name),
        id_type=claim.id_type,
        id_number=id_number,
        phone=_check_phone(claim.phone, phone_region),
    )
    return CheckedIdentity(claim=normalized, birth_date=birth_date)


def age_on(birth_date: date, today: date) -> int:
    """Whole years lived; a 29 February birthday falls on 1 March in common years."""
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - before_birthday


def blind_index_input(claim: IdentityClaim) -> str:
    """The text a blind index is computed over: one document, one string, however it was typed."""
    return f"{claim.id_type}:{_compact_number(claim.id_number)}"


def mask_id_number(id_type: str, number: str) -> str:
    number = _compact_number(number)
    if id_type == "cn_ric" and len(number) == 18:
        # Region and the last four are what people recognise their card by.
        return number[:6] + "*" * 8 + number[-4:]
    if len(number) <= 3:
        return "*" * len(number)
    return number[0] + "*" * (len(number) - 3) + number[-2:]


def mask_phone(e164: str) -> str:
    """`+86 138****8000`: the country, the carrier prefix and the last four digits."""
    split = _split_e164(e164)
    if split is None:
        return "*" * len(e164)
    country_code, national = split
    head, tail = (3, 4) if len(national) >= 8 else (1, 2)
    if len(national) <= head + tail:
        return f"+{country_code} " + "*" * len(national)
    hidden = "*" * (len(national) - head - tail)
    return f"+{country_code} {national[:head]}{hidden}{national[-tail:]}"


_E164 = re.compile(r"\+([1-9][0-9]{2,19})")
_NATIONAL_DIGITS = range(2, 18)  # libphonenumber's bounds for a national significant number


def _split_e164(e164: str) -> tuple[int, str] | None:
    """The country code and the national significant number of a phone as stored (a valid
    number in E.164), read as libphonenumber reads them: no country code is the start of
    another, so the code is the first one to three digits that form one. 1 µs where
    libphonenumber's parse takes 13, on every GET /me. None: not such a number."""
    matched = _E164.fullmatch(e164)
    if matched is None:
        return None
    digits = matched[1]
    for length in (1, 2, 3):
        if int(digits[:length]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = digits[length:]
            return (int(digits[:length]), national) if len(national) in _NATIONAL_DIGITS else None
    return None


def mask_legal_name(name: str) -> str:
    """The surname shown, the rest starred: `张*`, `欧阳**`; Latin names keep each initial."""
    if name and _is_han(name[0]):
        shown = 2 if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else 1
        return name[:shown] + "".join(ch if ch == NAME_DOT else "*" for ch in name[shown:])
    masked = []
    at_start_of_part = True
    for ch in name:
        if ch in LATIN_NAME_PUNCTUATION or ch.isspace():
            masked.append(ch)
            at_start_of_part = True
        else:
            masked.append(ch if at_start_of_part else "*")
            at_start_of_part = False
    return "".join(masked)


def _check_cn_ric(number: str, today: date) -> tuple[str, date | None]:
    number = _compact_number(number)
    if not CN_RIC_PATTERN.fullmatch(number):
        raise IdentityRejected(
            "identity.id_number must be 17 digits followed by a digit or X",
            code=ErrorCode.ID_NUMBER_INVALID,
        )
    try:
        birth_date = ric.get_birth_date(number)
    except ValidationError:
        birth_date = None  # 30 February and the like
    if birth_date is None or not date(EARLIEST_BIRTH_YEAR, 1, 1) <= birth_date <= today:
        raise IdentityRejected(
            "identity.id_number carries an impossible birth date",
            code=ErrorCode.ID_BIRTH_DATE_INVALID,
        )
    if not _region_known(number):
        raise IdentityRejected(
            "identity.id_number names no known region of issue", code=ErrorCode.ID_REGION_UNKNOWN
        )
    if ric.calc_check_digit(number) != number[-1]:
        raise IdentityRejected("identity.id_number fails its checksum", code=ErrorCode.ID_CHECKSUM)
    return number, birth_date


def _region_known(number: str) -> bool:
    try:
        ric.get_birth_place(number)
    except ValidationError:
        # stdnum wants the county to exist in the birth year, but the code is the county of
        # household registration when the card was issued (GB 11643-1999), often decades later:
        # a county that ever held the code will do.
        return any("county" in place for _, place in numdb.get("cn/loc").info(number[:6]))
    return True


def _check_passport(number: str, today: date) -> tuple[str, date | None]:
    number = _compact_number(number)
    if not PASSPORT_PATTERN.fullmatch(number):
        raise IdentityRejected(
            "identity.id_number must be 5 to 20 letters or digits", code=ErrorCode.ID_NUMBER_INVALID
        )
    return number, None


def _check_hk_macau_permit(number: str, today: date) -> tuple[str, date | None]:
    number = _compact_number(number)
    if not HK_MACAU_PERMIT_PATTERN.fullmatch(number):
        raise IdentityRejected(
            "identity.id_number must be H or M followed by 8 or 10 digits",
            code=ErrorCode.ID_NUMBER_INVALID,
        )
    return number, None


_DOCUMENT_CHECKS: dict[str, Callable[[str, date], tuple[str, date | None]]] = {
    "cn_ric": _check_cn_ric,
    "passport": _check_passport,
    "hk_macau_permit": _check_hk_macau_permit,
}
# The id types a pack may accept; taiwan_permit waits for its number rules.
CHECKED_ID_TYPES = frozenset(_DOCUMENT_CHECKS)


def _check_legal_name(id_type: str, legal_name: str) -> str:
    name = " ".join(unicodedata.normalize("NFC", legal_name).split())
    name = name.translate(NAME_DOT_VARIANTS)
    # A passport's name is its machine-readable Latin one; the mainland documents are in Chinese,
    # and permits for Hong Kong and Macau residents may carry either.
    accepts_han = id_type in ("cn_ric", "hk_macau_permit")
    accepts_latin = id_type in ("passport", "hk_macau_permit")
    if (accepts_han and _is_han_name(name)) or (accepts_latin and _is_latin_name(name)):
        return name
    expected = {
        (True, False): "Chinese characters, parts joined by a middle dot",
        (False, True): "Latin letters, spaces, hyphens, apostrophes or periods",
        (True, True): "Chinese characters or Latin letters",
    }[(accepts_han, accepts_latin)]
    raise IdentityRejected(
        f"identity.legal_name must be written in {expected}", code=ErrorCode.LEGAL_NAME_INVALID
    )


def _is_han_name(name: str) -> bool:
    if not HAN_NAME_MIN_CHARS <= len(name) <= HAN_NAME_MAX_CHARS:
        return False
    parts = name.split(NAME_DOT)
    return all(part and all(_is_han(ch) for ch in part) for part in parts)


def _is_han(ch: str) -> bool:
    # U+3007, the ideographic zero, is of the Han script and is found in registered names.
    return ch == "\u3007" or unicodedata.name(ch, "").startswith(
        ("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH")
    )


def _is_latin_name(name: str) -> bool:
    if not name or not _is_latin_letter(name[0]):
        return False
    return all(
        _is_latin_letter(ch)
        or ch in LATIN_NAME_PUNCTUATION
        # Letters NFC cannot compose keep their accents as combining marks.
        or (unicodedata.category(ch) == "Mn" and index > 0)
        for index, ch in enumerate(name)
    )


def _is_latin_letter(ch: str) -> bool:
    return unicodedata.category(ch).startswith("L") and unicodedata.name(ch, "").startswith(
        "LATIN "
    )


def _check_phone(phone: str, region: str) -> str:
    try:
        number = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise IdentityRejected(
            "identity.phone is not a valid phone number; give the country code for numbers "
            "outside the default region",
            code=ErrorCode.PHONE_INVALID,
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_e164(phone: str, region: str) -> str:
    """A phone as identities store it (E.164); `phone_invalid` if it is not a valid number."""
    return _check_phone(phone, region)


def _compact_number(number: str) -> str:
    # NFKC folds full-width letters and digits typed by IMEs (a full-width X check digit) to
    # ASCII; stdnum's clean then drops Unicode dashes and spaces.
    return clean(unicodedata.normalize("NFKC", number), " -").strip().upper()


# Reveals --------------------------------------------------------------------------------------


class ReferenceKind(StrEnum):
    CASE = "case"  # a review case about the user
    APPEAL = "appeal"  # an appeal the user filed
    REQUEST = "request"  # an authority's request, by its own reference number


@dataclass(frozen=True, slots=True)
class RevealReference:
    """What a look at a plaintext identity is for: `case:118`, `appeal:7` or
    `request:JGWA-2026-118` (the authority's own reference, in whatever script it is written)."""

    kind: ReferenceKind
    value: str

    @property
    def record_id(self) -> int:
        """The case's or appeal's id."""
        return int(self.value)

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


REQUEST_REFERENCE_CHARS = (3, 64)


def parse_reveal_reference(text: str) -> RevealReference:
    kind, _, value = text.strip().partition(":")
    value = value.strip()
    names_a_record = kind in (ReferenceKind.CASE, ReferenceKind.APPEAL)
    if names_a_record and value.isascii() and value.isdigit() and 0 < int(value) < 2**63:
        return RevealReference(ReferenceKind(kind), str(int(value)))
    shortest, longest = REQUEST_REFERENCE_CHARS
    if kind == ReferenceKind.REQUEST and shortest <= len(value) <= longest and value.isprintable():
        return RevealReference(ReferenceKind.REQUEST, value)
    raise InvalidInput(
        "reference must be case:<id>, appeal:<id> or request:<the authority's reference, "
        f"{shortest}-{longest} characters>",
        code=ErrorCode.REFERENCE_INVALID,
    )
