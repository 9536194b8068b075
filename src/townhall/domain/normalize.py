"""Text skeletons for matching (width, case, script, separators, pinyin) mapped back to input."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import accumulate, chain, compress, product, repeat
from math import prod

import opencc
from anyascii import anyascii
from pypinyin import lazy_pinyin, load_phrases_dict
from pypinyin.constants import PHRASES_DICT
from pypinyin.pinyin_dict import pinyin_dict

from townhall.domain.characters import ignorable

# Built once: loading the dictionaries costs milliseconds, a conversion microseconds.
_T2S = opencc.OpenCC("t2s.json")

# The phrases of pypinyin's dictionary that a toneless reading needs (pypinyin loads none, see
# townhall/__init__.py): those read otherwise than their characters alone (重庆), and those that
# keep such a phrase from being read inside them (一块石头落了地, where 落了 alone reads la le).
# Each phrase reads as with the whole dictionary (tests/domain/test_phrase_readings.py); a run of
# several may be cut otherwise (579 of 400,000 random runs of two to four phrases read apart).
load_phrases_dict(
    json.loads(
        resources.files("townhall.domain").joinpath("data/phrase_readings.json").read_bytes()
    )
)

HAN = re.compile("[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]")
_BMP_HANZI = "".join(map(chr, chain((0x3007,), range(0x3400, 0xA000), range(0xF900, 0xFB00))))


def char_class(chars: Iterable[str]) -> str:
    """The characters as the inside of a regex class, consecutive code points as one range."""
    ordered = sorted(set(chars))
    items = []
    start = 0
    for index in range(1, len(ordered) + 1):
        if index == len(ordered) or ord(ordered[index]) != ord(ordered[index - 1]) + 1:
            first, last = re.escape(ordered[start]), re.escape(ordered[index - 1])
            items.append(first if first == last else f"{first}-{last}")
            start = index
    return "".join(items)


def _converted_alone(chars: str) -> frozenset[str]:
    """Those of the characters that OpenCC converts on their own, in one call (a line break
    between them keeps phrases from forming)."""
    converted = _T2S.convert("\n".join(chars)).split("\n")
    return frozenset(char for char, after in zip(chars, converted, strict=True) if char != after)


# Text without any of these is its own simplified form, and most chat can skip OpenCC (half the
# cost of a skeleton). Some phrases change although none of their characters changes alone
# (沈浸 -> 沉浸, 反覆 -> 反复), which no probe finds: one character of each such phrase in OpenCC's
# TSPhrases is listed, and a test checks the list against the dictionaries. Characters beyond
# the BMP are not probed, so all of them count.
_IN_PHRASES_THAT_CONVERT = "哩坏沈甦瞭藉衹覆"
_CONVERTIBLE = _converted_alone(_BMP_HANZI) | frozenset(_IN_PHRASES_THAT_CONVERT)

# anyascii transliterates by sound (Cyrillic es -> "s", er -> "r", ha -> "kh"); a skeleton needs
# what a reader sees, so letters that look like Latin ones fold by shape first. Keyed by case
# because a capital and its small letter can look like different Latin letters (Greek eta, nu).
_LOOKALIKES = {
    "a": (
        "\N{CYRILLIC CAPITAL LETTER A}\N{CYRILLIC SMALL LETTER A}\N{GREEK CAPITAL LETTER ALPHA}"
        "\N{GREEK SMALL LETTER ALPHA}"
    ),
    "b": (
        "\N{CYRILLIC CAPITAL LETTER VE}\N{CYRILLIC CAPITAL LETTER SOFT SIGN}"
        "\N{CYRILLIC SMALL LETTER SOFT SIGN}\N{GREEK CAPITAL LETTER BETA}"
        "\N{GREEK SMALL LETTER BETA}"
    ),
    "c": "\N{CYRILLIC CAPITAL LETTER ES}\N{CYRILLIC SMALL LETTER ES}",
    "d": "\N{CYRILLIC CAPITAL LETTER KOMI DE}\N{CYRILLIC SMALL LETTER KOMI DE}",
    "e": (
        "\N{CYRILLIC CAPITAL LETTER IE}\N{CYRILLIC SMALL LETTER IE}\N{CYRILLIC CAPITAL LETTER IO}"
        "\N{CYRILLIC SMALL LETTER IO}\N{GREEK CAPITAL LETTER EPSILON}\N{GREEK SMALL LETTER EPSILON}"
    ),
    "h": (
        "\N{CYRILLIC CAPITAL LETTER SHHA}\N{CYRILLIC SMALL LETTER SHHA}"
        "\N{CYRILLIC CAPITAL LETTER EN}\N{GREEK CAPITAL LETTER ETA}\N{ARMENIAN SMALL LETTER HO}"
    ),
    "i": (
        "\N{CYRILLIC CAPITAL LETTER BYELORUSSIAN-UKRAINIAN I}"
        "\N{CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I}\N{CYRILLIC CAPITAL LETTER YI}"
        "\N{CYRILLIC SMALL LETTER YI}\N{GREEK CAPITAL LETTER IOTA}\N{GREEK SMALL LETTER IOTA}"
    ),
    "j": "\N{CYRILLIC CAPITAL LETTER JE}\N{CYRILLIC SMALL LETTER JE}",
    "k": (
        "\N{CYRILLIC CAPITAL LETTER KA}\N{CYRILLIC SMALL LETTER KA}\N{GREEK CAPITAL LETTER KAPPA}"
        "\N{GREEK SMALL LETTER KAPPA}"
    ),
    "l": "\N{CYRILLIC LETTER PALOCHKA}\N{CYRILLIC SMALL LETTER PALOCHKA}",
    "m": "\N{CYRILLIC CAPITAL LETTER EM}\N{GREEK CAPITAL LETTER MU}",
    "n": "\N{GREEK SMALL LETTER ETA}\N{GREEK CAPITAL LETTER NU}\N{ARMENIAN SMALL LETTER VO}",
    "o": (
        "\N{CYRILLIC CAPITAL LETTER O}\N{CYRILLIC SMALL LETTER O}\N{GREEK CAPITAL LETTER OMICRON}"
        "\N{GREEK SMALL LETTER OMICRON}\N{ARMENIAN SMALL LETTER OH}"
    ),
    "p": (
        "\N{CYRILLIC CAPITAL LETTER ER}\N{CYRILLIC SMALL LETTER ER}\N{GREEK CAPITAL LETTER RHO}"
        "\N{GREEK SMALL LETTER RHO}"
    ),
    "q": "\N{CYRILLIC CAPITAL LETTER QA}\N{CYRILLIC SMALL LETTER QA}",
    "s": "\N{CYRILLIC CAPITAL LETTER DZE}\N{CYRILLIC SMALL LETTER DZE}",
    "t": (
        "\N{CYRILLIC CAPITAL LETTER TE}\N{CYRILLIC SMALL LETTER TE}\N{GREEK CAPITAL LETTER TAU}"
        "\N{GREEK SMALL LETTER TAU}"
    ),
    "u": "\N{GREEK SMALL LETTER MU}\N{GREEK SMALL LETTER UPSILON}\N{ARMENIAN SMALL LETTER SEH}",
    "v": "\N{GREEK SMALL LETTER NU}",
    "w": "\N{CYRILLIC CAPITAL LETTER WE}\N{CYRILLIC SMALL LETTER WE}\N{GREEK SMALL LETTER OMEGA}",
    "x": (
        "\N{CYRILLIC CAPITAL LETTER HA}\N{CYRILLIC SMALL LETTER HA}\N{GREEK CAPITAL LETTER CHI}"
        "\N{GREEK SMALL LETTER CHI}"
    ),
    "y": (
        "\N{CYRILLIC CAPITAL LETTER U}\N{CYRILLIC SMALL LETTER U}"
        "\N{CYRILLIC CAPITAL LETTER STRAIGHT U}\N{CYRILLIC SMALL LETTER STRAIGHT U}"
        "\N{GREEK CAPITAL LETTER UPSILON}"
    ),
    "z": "\N{GREEK CAPITAL LETTER ZETA}",
}
HOMOGLYPHS = {char: latin for latin, chars in _LOOKALIKES.items() for char in chars}

# Everything but letters and numbers is what gets typed between characters to break a match.
_SEPARATOR_CATEGORIES = ("Z", "P", "S", "C", "M")
# fold() keeps the visible separators (URLs and addresses need their dots), drops the invisible.
_INVISIBLE_CATEGORIES = ("Cf", "Cs", "Co", "Cn", "M")


@dataclass(frozen=True, slots=True)
class Normalized:
    """A transformed text; `origin[i]` is the index in the original of what produced `text[i]`."""

    text: str
    origin: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original [start, end) that produced `text[start:end]` (a non-empty slice)."""
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"span [{start}, {end}) is empty or outside the text")
        return self.origin[start], self.origin[end - 1] + 1


class _CharTable(dict[str, str]):
    """A lazily filled map from one original character to what it becomes (maybe "" or several).

    It holds at most one entry per code point seen, so it needs no eviction.
    """

    def __init__(self, dropped: tuple[str, ...]) -> None:
        super().__init__()
        self._dropped = dropped

    def __missing__(self, char: str) -> str:
        folded = "".join(map(self._fold, unicodedata.normalize("NFKC", char)))
        self[char] = folded
        return folded

    def _fold(self, char: str) -> str:
        if char in HOMOGLYPHS:  # before casefolding, which would lose the capital's shape
            return HOMOGLYPHS[char]
        return "".join(map(self._fold_casefolded, char.casefold()))

    def _fold_casefolded(self, char: str) -> str:
        if char.isascii():
            return "" if unicodedata.category(char).startswith(self._dropped) else char
        if HAN.match(char):
            return char
        category = unicodedata.category(char)
        if category.startswith(self._dropped):
            return ""
        if category[0] in "LN":
            if ignorable(char):  # a Hangul filler: a letter by category, shown as nothing
                return ""
            latin = anyascii(char).lower()
            return latin if latin.isascii() and latin.isalnum() else char
        return char


_SKELETON = _CharTable(_SEPARATOR_CATEGORIES)
_FOLDED = _CharTable(_INVISIBLE_CATEGORIES)


def _rebuild(pieces: list[str], origin: Iterable[int]) -> Normalized:
    """Join per-character outputs, giving each output character its producer's origin."""
    lengths = list(map(len, pieces))
    expanded = chain.from_iterable(map(repeat, origin, lengths))
    return Normalized("".join(pieces), tuple(expanded))


def _to_simplified(folded: Normalized) -> Normalized:
    if not _MAYBE_CONVERTIBLE.search(folded.text):
        return folded
    converted = _T2S.convert(folded.text)
    if len(converted) == len(folded.text):
        return Normalized(converted, folded.origin)
    # A phrase changed length, so positions no longer line up: convert character by character.
    return _rebuild(list(map(_t2s_char, folded.text)), folded.origin)


_T2S_CACHE: dict[str, str] = {}  # one entry per hanzi seen, like _CharTable


def _t2s_char(char: str) -> str:
    converted = _T2S_CACHE.get(char)
    if converted is None:
        converted = _T2S_CACHE[char] = _T2S.convert(char)
    return converted


def _transform(text: str, table: _CharTable) -> Normalized:
    pieces = list(map(table.__getitem__, text))
    joined = "".join(pieces)
    # Usually each character becomes one or none, and compress() finds the origins in C.
    kept = tuple(compress(range(len(text)), pieces))
    if len(kept) == len(joined):
        folded = Normalized(joined, kept)
    else:
        folded = _rebuild(pieces, range(len(text)))
    return _to_simplified(folded)


def normalize(text: str) -> Normalized:
    """The matching skeleton: NFKC, casefold, simplified hanzi, Latin look-alikes, no separators."""
    if _PLAIN.fullmatch(text):
        return _normalize_plain(text)
    return _transform(text, _SKELETON)


def fold(text: str) -> Normalized:
    """Like normalize() but keeping visible separators, for patterns that need them (URLs)."""
    return _transform(text, _FOLDED)


def _keep_non_han(chunk: str) -> list[str]:
    return list(chunk)


def pinyin(normalized: Normalized) -> Normalized:
    """Each hanzi replaced by its toneless pinyin syllable; other characters pass through."""
    text = normalized.text
    if not HAN.search(text):
        return normalized
    # One call on the whole text: pypinyin reads heteronyms from phrases (重庆 chong, 重要 zhong).
    # The ignores: pypinyin takes a list from `errors` (its docs) where its hints say a str.
    syllables = lazy_pinyin(text, errors=_keep_non_han)  # type: ignore[arg-type]
    if len(syllables) != len(text):  # never seen; keeps the origin map right if it happens
        syllables = [
            lazy_pinyin(char, errors=_keep_non_han)[0]  # type: ignore[arg-type]
            for char in text
        ]
    return _rebuild(syllables, normalized.origin)


class _OrdinalTable(dict[int, str | None]):
    """A `str.translate` table filled on first sight of each code point from a per-character one.

    An empty result is stored as None: translate's ASCII fast path deletes on None but gives up
    on "".
    """

    def __init__(self, chars: _CharTable) -> None:
        super().__init__()
        self._chars = chars

    def __missing__(self, ordinal: int) -> str | None:
        value = self._chars[chr(ordinal)] or None
        self[ordinal] = value
        return value


_SKELETON_ORDINALS = _OrdinalTable(_SKELETON)


def _plain_hanzi() -> frozenset[str]:
    """The hanzi _PLAIN takes, as a set: built for the class below, not kept (4 MB)."""
    return frozenset(map(chr, chain(range(0x3400, 0x4DC0), range(0x4E00, 0xA000))))


# Most chat is made of these alone. Each folds on its own exactly as the per-character table
# says: Han and ASCII letters and digits stay (lowercased), full-width letters and digits become
# ASCII ones, and everything else here (punctuation, spaces, emoji) goes.
_PLAIN_SYMBOLS = (
    "\u3000-\u3003\u3008-\u3011\u2018\u2019\u201c\u201d\u2026\u00b7\u200b-\u200d"
    "\u2600-\u2775\u2794-\u27bf\ufe0f\U0001f300-\U0001faff"
)
_PLAIN = re.compile(f"[\x00-\x7f\uff01-\uff5e{_PLAIN_SYMBOLS}\u3400-\u4dbf\u4e00-\u9fff]*")
# Plain text whose skeleton is just its letters, digits and hanzi: no capital (the gap at
# \x41-\x5a) or full-width letter or digit, and no character OpenCC may convert. One pass tells
# all three, where a check for each would take three.
_AS_IT_IS_PLAIN = re.compile(
    "[\\x00-\\x40\\x5b-\\x7f\\uff01-\\uff0f\\uff1a-\\uff20\\uff3b-\\uff40\\uff5b-\\uff5e"
    f"{_PLAIN_SYMBOLS}{char_class(_plain_hanzi() - _CONVERTIBLE)}]*"
)
_MAYBE_CONVERTIBLE = re.compile(f"[{char_class(_CONVERTIBLE)}\U00010000-\U0010ffff]")
_UPPER_OR_FULL_WIDTH = re.compile("[A-Z\uff10-\uff5a]")
_FULL_WIDTH_TO_ASCII = {code: code - 0xFEE0 for code in range(0xFF10, 0xFF5B)}


# In plain text each kept character becomes exactly one skeleton character.
_KEPT_IN_PLAIN = re.compile(
    "[0-9A-Za-z\u3400-\u4dbf\u4e00-\u9fff\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]+"
)


def _fold_plain(text: str) -> str:
    # Joining the kept runs is quicker than substituting the rest away.
    folded = "".join(_KEPT_IN_PLAIN.findall(text))
    if _UPPER_OR_FULL_WIDTH.search(folded):  # rare in Chinese chat: look before converting
        folded = folded.translate(_FULL_WIDTH_TO_ASCII).lower()
    return folded


def _normalize_plain(text: str) -> Normalized:
    return _to_simplified(Normalized(_fold_plain(text), _plain_origin(text)))


def _plain_origin(text: str) -> tuple[int, ...]:
    runs = (range(*run.span()) for run in _KEPT_IN_PLAIN.finditer(text))
    return tuple(chain.from_iterable(runs))


_ASCII_LETTERS = re.compile("[a-z]+")
_PLAIN_LETTERS = re.compile("[A-Za-z\uff21-\uff3a\uff41-\uff5a]+")


def letter_origins(text: str, skeleton_text: str) -> dict[int, int]:
    """For each ASCII letter of skeleton(text), the index in the text of what produced it: the
    part of the origin map that matching pinyin needs, cheap for most text."""
    letters = _positions(_ASCII_LETTERS, skeleton_text)
    if _PLAIN.fullmatch(text):  # each letter comes from one letter, in the same order
        produced_by = _positions(_PLAIN_LETTERS, text)
        if len(produced_by) == len(letters):
            return dict(zip(letters, produced_by, strict=True))
    origin = normalize(text).origin
    return {index: origin[index] for index in letters}


def _positions(pattern: re.Pattern[str], text: str) -> list[int]:
    return [index for run in pattern.finditer(text) for index in range(*run.span())]


def normalize_again(text: str, skeleton_text: str) -> Normalized:
    """normalize(text) where skeleton(text) is known already: for most text, only the origin map
    is left to work out."""
    if _PLAIN.fullmatch(text):
        origin = _plain_origin(text)
        if len(origin) == len(skeleton_text):  # else the traditional conversion changed length
            return Normalized(skeleton_text, origin)
    return normalize(text)


def skeleton(text: str) -> str:
    """Exactly `normalize(text).text`, without the origin map (computed only for a match)."""
    if text.isascii():  # translate's ASCII fast path; ASCII has no traditional characters
        return text.translate(_SKELETON_ORDINALS)
    if _AS_IT_IS_PLAIN.fullmatch(text):  # most chat in hanzi
        return "".join(_KEPT_IN_PLAIN.findall(text))
    plain = _PLAIN.fullmatch(text)
    folded = _fold_plain(text) if plain else text.translate(_SKELETON_ORDINALS)
    if not _MAYBE_CONVERTIBLE.search(folded):
        return folded
    converted: str = _T2S.convert(folded)
    if len(converted) == len(folded):
        return converted
    return "".join(map(_t2s_char, folded))


@cache  # about 1,500 readings, met 140,000 times when the sound table is built at start
def _toneless(reading: str) -> str:
    """ "lǘ" -> "lv", "zhòng" -> "zhong": the spelling typed on a keyboard."""
    decomposed = unicodedata.normalize("NFD", reading).replace("u\N{COMBINING DIAERESIS}", "v")
    return "".join(char for char in decomposed if not unicodedata.combining(char))


class _PinyinTable(dict[int, str]):
    """Each hanzi to its most common toneless reading, filled on first sight; the rest to itself."""

    def __missing__(self, ordinal: int) -> str:
        readings = pinyin_dict.get(ordinal)
        value = _toneless(readings.split(",")[0]) if readings else chr(ordinal)
        self[ordinal] = value
        return value


_PINYIN_ORDINALS = _PinyinTable()


def pinyin_skeleton(skeleton_text: str) -> str:
    """Each hanzi of a skeleton spelled by its most common reading, one character at a time.

    Unlike pinyin() it reads no phrases, so a heteronym may be spelled wrongly; it is the fast
    form for matching evasions, about a hundred times quicker.
    """
    return skeleton_text.translate(_PINYIN_ORDINALS)


def pinyin_offsets(skeleton_text: str) -> list[int]:
    """Where each character's spelling starts in pinyin_skeleton(), then its length."""
    spellings = map(_PINYIN_ORDINALS.__getitem__, map(ord, skeleton_text))
    return list(accumulate(map(len, spellings), initial=0))


def has_reading(char: str) -> bool:
    """Whether pinyin_skeleton() spells this character out (a hanzi with a known reading)."""
    return _PINYIN_ORDINALS[ord(char)] != char


def reads_as_phrase(text: str) -> bool:
    """Whether pinyin() may read part of the text as a phrase, so maybe not as pinyin_skeleton()."""
    return any(
        text[start:end] in PHRASES_DICT
        for start in range(len(text) - 1)
        for end in range(start + 2, len(text) + 1)
    )


_VOWEL = re.compile("[aeiouv]")


@cache
def pinyin_syllables() -> frozenset[str]:
    """Every toneless syllable any hanzi is read as, less the bare-consonant interjections."""
    spelled = (_toneless(r) for value in pinyin_dict.values() for r in value.split(","))
    return frozenset(r for r in spelled if r.isascii() and r.isalpha() and _VOWEL.search(r))


# Sound: each hanzi read by its common toneless syllable, one character per syllable, so that
# homophones (堵博 for 赌博, 发 for 法) read alike and a match's offsets are the skeleton's own.
NO_SOUND = "\x00"  # what any other character reads as; skeletons never hold it
_FIRST_SOUND = 0xE000  # private use: skeletons never hold these either


@cache
def syllable_sounds() -> dict[str, str]:
    """Each syllable's character in sound(), commonest first: most hanzi read as the first."""
    hanzi_per_syllable: dict[str, int] = {}
    for ordinal in pinyin_dict:
        reading = _PINYIN_ORDINALS[ordinal]
        if reading in pinyin_syllables():
            hanzi_per_syllable[reading] = hanzi_per_syllable.get(reading, 0) + 1
    by_frequency = sorted(hanzi_per_syllable, key=lambda s: (-hanzi_per_syllable[s], s))
    return {syllable: chr(_FIRST_SOUND + index) for index, syllable in enumerate(by_frequency)}


class _SoundTable(dict[int, str]):
    """Each hanzi to the character of its common reading, filled on first sight; the rest to
    NO_SOUND."""

    def __missing__(self, ordinal: int) -> str:
        reading = _PINYIN_ORDINALS[ordinal]
        value = syllable_sounds().get(reading, NO_SOUND) if reading != chr(ordinal) else NO_SOUND
        self[ordinal] = value
        return value


_SOUND_ORDINALS = _SoundTable()


def sound(skeleton_text: str) -> str:
    """The skeleton as it sounds: one character for each hanzi's toneless common reading, NO_SOUND
    for anything else; as long as the skeleton."""
    return skeleton_text.translate(_SOUND_ORDINALS)


def sounds_of(key: str) -> set[str]:
    """How a hanzi phrase sounds: each character by its common reading, and the phrase's own
    reading (重庆: chong, not zhong); empty if a character has no syllable."""
    alone = sound(key)
    if NO_SOUND in alone:
        return set()
    sounds = {alone}
    if reads_as_phrase(key):
        syllables = lazy_pinyin(key)
        phrase = "".join(syllable_sounds().get(syllable, NO_SOUND) for syllable in syllables)
        if len(syllables) == len(key) and NO_SOUND not in phrase:
            sounds.add(phrase)
    return sounds


# Digits and symbols typed for the Latin letters they look like: "sc4mc0in" for "scamcoin". Only
# a run of one or two between letters is read, so that numbers, prices, times and model names
# ("2025", "$25", "3pm", "a55", "tel13812345678") stay what they are. "1" may be "i" or "l".
LOOKALIKE_LETTERS = {
    "0": "o", "1": "il", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
    "@": "a", "$": "s", "!": "i", "|": "l",
}  # fmt: skip
MAX_LOOKALIKE_READINGS = 8  # three ambiguous look-alikes in a text, each read either way
_LOOKALIKE_RUN = re.compile(f"(?<=[a-z])[{re.escape(''.join(LOOKALIKE_LETTERS))}]{{1,2}}(?=[a-z])")
# A cheap test of a text before fold(): a look-alike between letters of Latin or look-alike
# script, as typed or full width (a full-width exclamation mark between hanzi is punctuation).
# It starts at the look-alike, which is rare in chat, so the regex engine skips ahead to it; the
# letter before it is looked behind for.
_LETTER = f"[A-Za-z\uff21-\uff3a\uff41-\uff5a{''.join(HOMOGLYPHS)}]"
_LOOKALIKE = "[0-9@$!|\uff10-\uff19\uff20\uff04\uff01\uff5c]"
_MAY_HOLD_LOOKALIKES = re.compile(f"{_LOOKALIKE}(?<={_LETTER}{_LOOKALIKE}){_LOOKALIKE}?{_LETTER}")


@dataclass(frozen=True, slots=True)
class Reading:
    """The text with look-alikes read as letters, one character for one; `changed` are the
    indices of those read."""

    text: str
    changed: frozenset[int]


def lookalike_readings(text: str) -> list[Reading]:
    """The text with each look-alike between letters read as a letter: one reading for each way
    of reading those that may be "i" or "l" (up to MAX_LOOKALIKE_READINGS, then all "i" and all
    "l"); none when there is nothing to read."""
    if not _MAY_HOLD_LOOKALIKES.search(text):
        return []
    folded = fold(text)
    counts: dict[int, int] = {}
    for index in folded.origin:
        counts[index] = counts.get(index, 0) + 1
    letters: dict[int, str] = {}  # index in the text -> the letters its look-alike may be
    for run in _LOOKALIKE_RUN.finditer(folded.text):
        origins = folded.origin[run.start() : run.end()]
        if all(counts[index] == 1 for index in origins):  # one character typed for one
            read = map(LOOKALIKE_LETTERS.__getitem__, run.group())
            letters.update(zip(origins, read, strict=True))
    if not letters:
        return []
    if prod(map(len, letters.values())) <= MAX_LOOKALIKE_READINGS:
        ways = list(product(*letters.values()))
    else:  # counted first: a text of many "1"s has more ways than can be listed
        ways = [
            tuple(choices[which % len(choices)] for choices in letters.values()) for which in (0, 1)
        ]
    changed = frozenset(letters)
    return [Reading(_read(text, dict(zip(letters, way, strict=True))), changed) for way in ways]


def _read(text: str, letters: dict[int, str]) -> str:
    chars = list(text)
    for index, letter in letters.items():
        chars[index] = letter
    return "".join(chars)
