"""Public-account naming rules: reserved terms, URLs, contact details, and the unique key."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import msgspec

from townhall.domain.errors import InvalidInput, PolicyRefusal
from townhall.domain.normalize import HAN, Normalized, fold, normalize, pinyin

# Characters no name may hold: they break lines or cannot be stored.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
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


@dataclass(frozen=True, slots=True)
class _NameForms:
    """The forms of one name that terms are looked for in."""

    skeleton: Normalized
    sound: Normalized
    han_origins: frozenset[int]  # original positions of characters kept as hanzi


def _clean(name: str, *, max_chars: int) -> str:
    """The name as stored: NFC, trimmed, within length, printable, with a letter or digit."""
    cleaned = unicodedata.normalize("NFC", name).strip()
    if not cleaned or len(cleaned) > max_chars:
        raise InvalidInput(f"the name must have 1 to {max_chars} characters", code="name_invalid")
    if any(unicodedata.category(char) in _FORBIDDEN_CATEGORIES for char in cleaned):
        raise InvalidInput("the name may not contain control characters", code="name_invalid")
    if not normalize(cleaned).text:
        raise InvalidInput("the name needs a letter or a digit", code="name_invalid")
    return cleaned


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

    def check(self, name: str, *, category: str, max_chars: int) -> str:
        """The cleaned name, or InvalidInput / PolicyRefusal saying which rule it breaks."""
        cleaned = _clean(name, max_chars=max_chars)
        skeleton = normalize(cleaned)
        if self._rules.refuse_urls:
            _refuse_urls(cleaned, skeleton)
        if self._rules.refuse_contact_details:
            self._refuse_contact_details(cleaned, skeleton)
        self._refuse_restricted(cleaned, skeleton, category)
        return cleaned

    def _refuse_contact_details(self, cleaned: str, skeleton: Normalized) -> None:
        folded = fold(cleaned)
        if (
            self._digit_run.search(skeleton.text)
            or _CONTACT.search(folded.text)
            or _EMAIL.search(folded.text)
        ):
            raise PolicyRefusal(
                "the name may not contain phone numbers, accounts or other contact details",
                code="name_contact_details",
            )

    def _refuse_restricted(self, cleaned: str, skeleton: Normalized, category: str) -> None:
        forms = _forms(skeleton)
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
                    code="name_restricted",
                )


def _compile(group: RestrictedTerms, term: str) -> _Term:
    skeleton = normalize(term)
    if not skeleton.text:
        raise ValueError(f"naming term {term!r} of {group.what!r} has no letter or digit")
    return _Term(group, skeleton.text, pinyin(skeleton).text)


def _refuse_urls(cleaned: str, skeleton: Normalized) -> None:
    if _DOMAIN.search(fold(cleaned).text) or any(w in skeleton.text for w in _URL_WORDS):
        raise PolicyRefusal("the name may not contain web addresses", code="name_url")


def _forms(skeleton: Normalized) -> _NameForms:
    han = frozenset(o for c, o in zip(skeleton.text, skeleton.origin, strict=True) if HAN.match(c))
    return _NameForms(skeleton, pinyin(skeleton), han)


def _find(term: _Term, forms: _NameForms) -> tuple[int, int] | None:
    """The original span of the first place the term appears in the name, if any."""
    start = forms.skeleton.text.find(term.skeleton)
    if start >= 0:
        return forms.skeleton.span(start, start + len(term.skeleton))
    for start in _occurrences(forms.sound.text, term.sound):
        end = start + len(term.sound)
        if not _on_syllables(forms.sound, start, end):
            continue
        origins = set(forms.sound.origin[start:end])
        if not origins <= forms.han_origins or len(origins) >= HOMOPHONE_MIN_SYLLABLES:
            return forms.sound.span(start, end)
    return None


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
