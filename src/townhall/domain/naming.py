"""Naming rules for every name and profile text (reserved terms, URLs, contact details), the
stored form of names and short texts, and the key that keeps public-account names unique."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import msgspec

from townhall.domain import characters
from townhall.domain.characters import LINE, PROSE, Layout
from townhall.domain.errors import ErrorCode, InvalidInput, PolicyRefusal
from townhall.domain.normalize import HAN, Normalized, fold, normalize, pinyin

# Pinyin matches names spelt in latin letters. Among hanzi it finds homophones, and two-syllable
# ones are mostly other words (心花 and the 新华 of a road or bookshop, for "xinhua"); from three
# syllables on (新化社 for 新华社) the likeness is deliberate.
HOMOPHONE_MIN_SYLLABLES = 3
_DOT = "[.。·•]"
_TLDS = (
    "cn", "com", "net", "org", "top", "xyz", "me", "io", "cc", "info", "vip", "tv", "co", "club",
    "site", "online", "shop", "app", "biz", "hk", "tw", "mo", "gov", "edu", "ink", "wang", "ltd",
)  # fmt: skip
# A domain is read on fold()ed text (width, case and look-alikes folded, dots kept): once the
# separators are gone "abc.com" is "abccom" and cannot be told from a word.
_DOMAIN = re.compile(rf"[\w-]{_DOT}(?:{'|'.join(_TLDS)})(?![a-z0-9])")
# These survive separator removal and have no business in a name however they are spaced.
_URL_WORDS = ("http", "www")
_EMAIL = re.compile(r"[\w.+-]@[a-z0-9]")
_LATIN_CONTACT_WORDS = "tel|phone|mobile|wechat|weixin|wx|vx|qq|whatsapp|telegram"
_HAN_CONTACT_WORDS = "微信|薇信|威信|v信|电话|手机|扣扣|联系方式"
# A keyword then an account: after a colon any token, otherwise one holding a digit, so that
# "QQ Music" or "Hotel Lobby" stay names while "wx: abc123" and "QQ 12345678" do not.
_CONTACT = re.compile(
    rf"(?:(?<![a-z])(?:{_LATIN_CONTACT_WORDS})|{_HAN_CONTACT_WORDS})(?:号码|号|id|no)?"
    r"(?:\s*[:=]\s*[a-z0-9][\w-]{2,}|[\s_-]*(?=[a-z_-]*[0-9])[a-z0-9][a-z0-9_-]{2,})"
)


class RestrictedTerms(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A group of terms only some categories of account may put in their names."""

    what: str  # shown to the applicant: "the name may not use terms reserved for <what>"
    terms: tuple[str, ...]  # hanzi or latin; hanzi also match their pinyin spelt in latin letters
    allowed_categories: tuple[str, ...] = ()


class NamingRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The policy pack's rules for public-account names."""

    restricted: tuple[RestrictedTerms, ...]
    refuse_urls: bool
    refuse_contact_details: bool
    max_digit_run: int  # a longer run of digits reads as a phone or QQ number


@dataclass(frozen=True, slots=True)
class _Term:
    group: RestrictedTerms
    skeleton: str
    sound: str  # pinyin skeleton
    latin: bool  # spelt in latin letters: matched as whole words only


@dataclass(frozen=True, slots=True)
class _NameForms:
    """The forms of one name that terms are looked for in."""

    original: str
    skeleton: Normalized
    sound: Normalized
    han_origins: frozenset[int]  # original positions of characters kept as hanzi


TextField = Literal[
    "announcement", "bio", "body", "description", "entity_name", "news_licence", "title"
]
# Each free-text field's refusals: `<field>_invalid` (empty, or a character it may not hold),
# `_too_long`; and its layout: the one-line ones are names and titles, the rest prose.
TEXT_FIELDS: dict[TextField, tuple[ErrorCode, ErrorCode, Layout]] = {
    "announcement": (ErrorCode.ANNOUNCEMENT_INVALID, ErrorCode.ANNOUNCEMENT_TOO_LONG, PROSE),
    "bio": (ErrorCode.BIO_INVALID, ErrorCode.BIO_TOO_LONG, PROSE),
    "body": (ErrorCode.BODY_INVALID, ErrorCode.BODY_TOO_LONG, PROSE),
    "description": (ErrorCode.DESCRIPTION_INVALID, ErrorCode.DESCRIPTION_TOO_LONG, PROSE),
    "entity_name": (ErrorCode.ENTITY_NAME_INVALID, ErrorCode.ENTITY_NAME_TOO_LONG, LINE),
    "news_licence": (ErrorCode.NEWS_LICENCE_INVALID, ErrorCode.NEWS_LICENCE_TOO_LONG, LINE),
    "title": (ErrorCode.TITLE_INVALID, ErrorCode.TITLE_TOO_LONG, LINE),
}


def clean_text(value: str, field: TextField, max_chars: int, *, required: bool) -> str:
    """Free text as stored (a description, a bio, a title): NFC, trimmed, within length, nothing
    hidden (domain/characters.py); one that shows nothing is empty."""
    invalid, too_long, layout = TEXT_FIELDS[field]
    return characters.clean(
        value,
        field=field,
        layout=layout,
        max_chars=max_chars,
        required=required,
        invalid=invalid,
        too_long=too_long,
    )


def clean_name(name: str, *, max_chars: int) -> str:
    """A name as stored: one line, NFC, trimmed, within length, nothing hidden and something to
    see (domain/characters.py)."""
    return characters.clean(
        name,
        field="name",
        layout=LINE,
        max_chars=max_chars,
        required=True,
        invalid=ErrorCode.NAME_INVALID,
    )


def name_key(name: str) -> str:
    """The skeleton that keeps names unique: width, case, script or spacing make no new name."""
    return normalize(unicodedata.normalize("NFC", name).strip()).text


class NameChecker:
    """The naming rules compiled once: every term's skeleton and pinyin skeleton."""

    def __init__(self, rules: NamingRules) -> None:
        self._rules = rules
        self._terms = tuple(
            _compile(group, term) for group in rules.restricted for term in group.terms
        )
        self._digit_run = re.compile(rf"\d{{{rules.max_digit_run + 1},}}")

    def check(self, name: str, *, category: str | None, max_chars: int) -> str:
        """The cleaned name, or InvalidInput / PolicyRefusal saying which rule it breaks."""
        cleaned = self.clean(name, max_chars=max_chars)
        self.refuse(cleaned, category=category)
        return cleaned

    @staticmethod
    def clean(name: str, *, max_chars: int) -> str:
        """A public account's name as stored: a name (clean_name) with a letter or a digit, for
        a name of symbols alone has an empty key and could not be told from the next."""
        cleaned = clean_name(name, max_chars=max_chars)
        if not name_key(cleaned):
            raise InvalidInput("the name needs a letter or a digit", code=ErrorCode.NAME_INVALID)
        return cleaned

    def refuse(self, name: str, *, category: str | None) -> None:
        """Refuse a name (a display name, a group title, an account name) that breaks a rule:
        links, contact details, or terms reserved for what its holder is not. `category` is a
        public account's; a person or a group has none, so every reserved term is refused."""
        skeleton = normalize(name)
        self.refuse_contacts(name, skeleton)
        self._refuse_restricted(name, skeleton, category)

    def refuse_contacts(self, text: str, skeleton: Normalized | None = None) -> None:
        """Refuse links and contact details: in names, and in descriptions and bios, which
        may name an organisation or a figure in passing but may not route people off-site."""
        skeleton = skeleton or normalize(text)
        if self._rules.refuse_urls:
            _refuse_urls(text, skeleton)
        if self._rules.refuse_contact_details:
            self._refuse_contact_details(text, skeleton)

    def _refuse_contact_details(self, cleaned: str, skeleton: Normalized) -> None:
        folded = fold(cleaned)
        if (
            self._digit_run.search(skeleton.text)
            or _CONTACT.search(folded.text)
            or _EMAIL.search(folded.text)
        ):
            raise PolicyRefusal(
                "the name may not contain phone numbers, accounts or other contact details",
                code=ErrorCode.NAME_CONTACT_DETAILS,
            )

    def _refuse_restricted(self, cleaned: str, skeleton: Normalized, category: str | None) -> None:
        forms = _forms(cleaned, skeleton)
        text, sound = forms.skeleton.text, forms.sound.text
        # Most terms appear nowhere; two substring tests in C say so before any closer look.
        for term in self._terms:
            if term.skeleton not in text and term.sound not in sound:
                continue
            if category in term.group.allowed_categories:
                continue
            span = _find(term, forms)
            if span is not None:
                quoted = cleaned[span[0] : span[1]]
                raise PolicyRefusal(
                    f"the name may not use terms reserved for {term.group.what} (“{quoted}”)",
                    code=ErrorCode.NAME_RESTRICTED,
                )


def _compile(group: RestrictedTerms, term: str) -> _Term:
    skeleton = normalize(term)
    if not skeleton.text:
        raise ValueError(f"naming term {term!r} of {group.what!r} has no letter or digit")
    latin = skeleton.text.isascii() and not skeleton.text.isdigit()
    return _Term(group, skeleton.text, pinyin(skeleton).text, latin)


def _refuse_urls(cleaned: str, skeleton: Normalized) -> None:
    if _DOMAIN.search(fold(cleaned).text) or any(w in skeleton.text for w in _URL_WORDS):
        raise PolicyRefusal("the name may not contain web addresses", code=ErrorCode.NAME_URL)


def _forms(original: str, skeleton: Normalized) -> _NameForms:
    han = frozenset(o for c, o in zip(skeleton.text, skeleton.origin, strict=True) if HAN.match(c))
    return _NameForms(original, skeleton, pinyin(skeleton), han)


def _find(term: _Term, forms: _NameForms) -> tuple[int, int] | None:
    """The original span of the first place the term appears in the name, if any."""
    for start in _occurrences(forms.skeleton.text, term.skeleton):
        span = forms.skeleton.span(start, start + len(term.skeleton))
        if not term.latin or _whole_words(forms.original, span):
            return span
    for start in _occurrences(forms.sound.text, term.sound):
        end = start + len(term.sound)
        if not _on_syllables(forms.sound, start, end):
            continue
        origins = set(forms.sound.origin[start:end])
        span = forms.sound.span(start, end)
        if origins <= forms.han_origins:
            if len(origins) >= HOMOPHONE_MIN_SYLLABLES:
                return span
        elif not term.latin or _whole_words(forms.original, span):
            return span
    return None


def _whole_words(original: str, span: tuple[int, int]) -> bool:
    """Whether a latin term stands as words of its own: "News Daily", not "Newsom"."""
    start, end = span
    before = original[start - 1] if start > 0 else ""
    after = original[end] if end < len(original) else ""
    return not (_is_latin_letter(before) or _is_latin_letter(after))


def _is_latin_letter(char: str) -> bool:
    return bool(char) and char.isalpha() and fold(char).text.isascii()


def _occurrences(text: str, part: str) -> Iterator[int]:
    start = text.find(part)
    while start >= 0:
        yield start
        start = text.find(part, start + 1)


def _on_syllables(sound: Normalized, start: int, end: int) -> bool:
    """Whether [start, end) begins and ends on whole syllables ("xinhua" is not in "xinhuan")."""
    origin = sound.origin
    starts_clean = start == 0 or origin[start - 1] != origin[start]
    ends_clean = end == len(origin) or origin[end] != origin[end - 1]
    return starts_clean and ends_clean
