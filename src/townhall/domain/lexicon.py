"""Lexicon terms matched however disguised, via one Aho-Corasick automaton; the operators' files.

Lexicon file (UTF-8, each line read with the csv module, so a field may be "quoted, like this"):

    # comment lines and blank lines are skipped
    term,category,severity
    赌博,gambling,high
    "pay, then play",fraud,medium

Allowlist file, known false positives (a term hit lying inside one of these is dropped), the
same conventions with one field a line:

    大麻哈鱼

Surrounding spaces of a field are not part of it. Category and severity names come from the
policy pack. A file with any problem is refused whole, every problem listed with its line.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from typing import NamedTuple

import ahocorasick

from townhall.domain.errors import ErrorCode, InvalidInput
from townhall.domain.normalize import (
    NO_SOUND,
    Normalized,
    Reading,
    char_class,
    has_reading,
    letter_origins,
    lookalike_readings,
    normalize,
    normalize_again,
    pinyin,
    pinyin_offsets,
    pinyin_skeleton,
    pinyin_syllables,
    reads_as_phrase,
    skeleton,
    sound,
    sounds_of,
    syllable_sounds,
)


@dataclass(frozen=True, slots=True)
class Term:
    text: str
    category: str
    severity: str


@dataclass(frozen=True, slots=True)
class Match:
    """A term found in a text; [start, end) are offsets into the text as it was given."""

    term: str
    category: str
    severity: str
    start: int
    end: int
    # "text": its skeleton matched; "pinyin": some of its hanzi were spelled in pinyin;
    # "homophone": some of its hanzi were written with others that sound alike; "lookalike": some
    # of its letters were typed as digits or symbols that look alike
    how: str


@dataclass(frozen=True, slots=True)
class Homophones:
    """Which hanzi terms also match when some of their characters are written with homophones."""

    min_syllables: int  # shorter terms match by their characters and typed pinyin only
    max_share: float  # the largest share of a term's characters a match may replace, in (0, 1]

    def max_replaced(self, syllables: int) -> int:
        # A hair over the product, so that 0.5 of 4 is 2 whatever the float rounding.
        return int(self.max_share * syllables + 1e-9)


class Inspection(NamedTuple):
    """What Lexicon.inspect() found: the skeleton matched on, kept for whoever hashes it."""

    skeleton: str  # normalize.skeleton() of the text
    matches: list[Match]  # what scan() returns


class _Entry(NamedTuple):
    length: int
    terms: tuple[Term, ...]
    allowed: bool  # the key is (also) an allowlisted phrase


class _Spelled(NamedTuple):
    key: str  # a hanzi key
    starts: tuple[int, ...]  # where each of its characters' syllables starts in the spelling
    entry: _Entry


class _Hit(NamedTuple):
    start: int  # skeleton offsets
    end: int
    entry: _Entry


# Stands for a run of characters that no key contains, so the automaton meets one character, the
# root's first child, instead of searching the root's thousands of children for each. Skeletons
# never hold control characters, so neither it nor the key that places it can match anything.
_OUTSIDE = "\x00"
_NEVER = "\x01"
_ASCII_BY_FREQUENCY = "etaoinshrdlcumwfgypbvkjxqz0123456789"  # skeletons hold no other ASCII
_LATIN = re.compile("[a-z]")
_MIN_PINYIN_SYLLABLES = 2


class Lexicon:
    """Terms and allowlisted phrases compiled for scanning; immutable once built.

    scan() matches skeletons (normalize.skeleton: width, case, traditional, look-alikes and
    separators folded away) in one Aho-Corasick automaton, and hanzi terms of two or more
    characters also in pinyin: "du博", "赌bo", "dubo", "d u b o" find 赌博. A pinyin hit must hold
    a Latin letter, the hanzi it holds must be the term's own (no homophones), it must start and
    end on a syllable or word boundary, and every Latin word it touches must spell pinyin; one
    without hanzi must be whole words in a run of words that all spell pinyin, so English
    ("I want dubo now", "meeting", "he can run") is not read as pinyin.

    With `homophones`, hanzi terms of `min_syllables` characters or more also match when some of
    their characters, at most `max_share` of them, are written with others read the same
    (tones aside): 网络堵博 finds 网络赌博, 发轮功 finds 法轮功. One character is one syllable, so
    such a match starts and ends where syllables do. Digits and symbols between letters are read
    as the letters they look like (normalize.lookalike_readings): "sc4mc0in" finds scamcoin.

    inspect() also gives the skeleton matched on, for callers that hash it.
    """

    __slots__ = (
        "_allowlist",
        "_key_count",
        "_outside",
        "_pinyin",
        "_sounds",
        "_terms",
        "_text",
    )

    def __init__(
        self,
        terms: tuple[Term, ...],
        allowlist: tuple[str, ...],
        text: ahocorasick.Automaton | None,
        outside: re.Pattern[str] | None,
        pinyin: _PinyinIndex | None,
        sounds: _SoundIndex | None = None,
        key_count: int = 0,
    ) -> None:
        """Use build()."""
        self._key_count = key_count
        self._terms = terms
        self._allowlist = allowlist
        self._text = text
        self._outside = outside
        self._pinyin = pinyin
        self._sounds = sounds

    @classmethod
    def build(
        cls,
        terms: Iterable[Term],
        allowlist: Iterable[str] = (),
        *,
        homophones: Homophones | None = None,
    ) -> Lexicon:
        """Compile terms and allowlist phrases; ValueError for one with no letter or digit.
        Without `homophones`, no match by homophones."""
        unique_terms = tuple(dict.fromkeys(terms))
        unique_phrases = tuple(dict.fromkeys(allowlist))
        by_key: dict[str, list[Term]] = {}
        for term in unique_terms:
            by_key.setdefault(_key(term.text, "term"), []).append(term)
        allowed = {_key(phrase, "allowlist phrase") for phrase in unique_phrases}
        entries = {
            key: _Entry(len(key), tuple(by_key.get(key, ())), key in allowed)
            for key in by_key.keys() | allowed
        }
        if not entries:
            return cls(unique_terms, unique_phrases, None, None, None)
        return cls(
            unique_terms,
            unique_phrases,
            _automaton(entries),
            _outside_pattern(entries),
            _pinyin_index(entries),
            None if homophones is None else _sound_index(entries, homophones),
            len(entries),
        )

    def __len__(self) -> int:
        return len(self._terms)

    def terms(self) -> tuple[Term, ...]:
        return self._terms

    def allowlist(self) -> tuple[str, ...]:
        return self._allowlist

    @property
    def keys(self) -> int:
        """Distinct keys in the text automaton: term skeletons and allowlisted phrases."""
        return self._key_count

    @property
    def pinyin_keys(self) -> int:
        """Distinct pinyin spellings of hanzi terms and phrases in the pinyin automaton."""
        return 0 if self._pinyin is None else len(self._pinyin.automaton)

    @property
    def sound_keys(self) -> int:
        """Distinct sounds of the hanzi terms and phrases that homophones may match."""
        return 0 if self._sounds is None else self._sounds.sounds

    def scan(self, text: str) -> list[Match]:
        """Every term in the text, ordered by where it starts, none inside an allowlisted phrase."""
        return self.inspect(text).matches

    def inspect(self, text: str) -> Inspection:
        """scan()'s matches with the text's skeleton, which is worked out once for both."""
        shape = _Shape(text)
        return Inspection(shape.skeleton, self._matches(shape))

    def _matches(self, shape: _Shape) -> list[Match]:
        if self._text is None:
            return []
        collapsed = self._collapsed(shape.skeleton)
        hits = self._text_hits(shape.skeleton, collapsed)
        pinyin_hits = self._pinyin_hits(shape)
        sound_hits = self._sound_hits(shape.skeleton, collapsed)
        readings = lookalike_readings(shape.text)
        if not hits and not pinyin_hits and not sound_hits and not readings:
            return []
        allowed = [(h.start, h.end) for h in (*hits, *pinyin_hits) if h.entry.allowed]
        # A homophone of an allowlisted phrase excuses homophones only: else writing the phrase
        # with one character changed would excuse the very term it holds.
        sound_allowed = allowed + [(h.start, h.end) for h in sound_hits if h.entry.allowed]
        found = {
            _match(term, shape.normalized, hit, how)
            for how, group, excused in (
                ("text", hits, allowed),
                ("pinyin", pinyin_hits, allowed),
                ("homophone", sound_hits, sound_allowed),
            )
            for hit in group
            if not _inside_any(hit, excused)
            for term in hit.entry.terms
        }
        if readings:
            excused = [shape.normalized.span(start, end) for start, end in allowed]
            found.update(self._lookalike_matches(readings, excused))
        return sorted(found, key=lambda m: (m.start, m.end, m.term, m.how))

    def _sound_hits(self, skeleton_text: str, collapsed: str) -> list[_Hit]:
        index = self._sounds
        # The collapsed skeleton keeps the keys' own characters, its only ones beyond ASCII: with
        # none of them, no match keeping some (most chat, told in one C call).
        if index is None or (index.anchors is not None and collapsed.isascii()):
            return []
        hits = []
        for first, stop in index.windows(skeleton_text):
            window = sound(skeleton_text[first:stop])
            for last, (length, keys) in index.automaton.iter(window):
                start, end = first + last + 1 - length, first + last + 1
                written = skeleton_text[start:end]
                for key, entry in keys:
                    replaced = sum(char != own for char, own in zip(written, key, strict=True))
                    if 0 < replaced <= index.homophones.max_replaced(length):  # 0: a text hit
                        hits.append(_Hit(start, end, entry))
        return hits

    def _lookalike_matches(
        self, readings: list[Reading], excused: list[tuple[int, int]]
    ) -> list[Match]:
        """Matches that a reading of look-alikes as letters makes, in the text's offsets: each
        holds a character read so, and none lies inside a phrase allowlisted in either form."""
        found = []
        for reading in readings:
            shape = _Shape(reading.text)
            hits = self._text_hits(shape.skeleton, self._collapsed(shape.skeleton))
            spans = [(shape.normalized.span(h.start, h.end), h.entry) for h in hits]
            allowed = excused + [span for span, entry in spans if entry.allowed]
            for (start, end), entry in spans:
                if reading.changed.isdisjoint(range(start, end)):
                    continue  # the text as written has it: a text hit
                if any(first <= start and end <= last for first, last in allowed):
                    continue
                found += [
                    Match(t.text, t.category, t.severity, start, end, "lookalike")
                    for t in entry.terms
                ]
        return found

    def _collapsed(self, skeleton_text: str) -> str:
        """The skeleton with each run of characters no key holds as one _OUTSIDE."""
        assert self._outside is not None
        # ASCII never misses at the root, so it needs no placeholder.
        if skeleton_text.isascii():
            return skeleton_text
        return self._outside.sub(_OUTSIDE, skeleton_text)

    def _text_hits(self, skeleton_text: str, collapsed: str) -> list[_Hit]:
        assert self._text is not None and self._outside is not None
        found = list(self._text.iter(collapsed))
        if not found:
            return []
        if len(collapsed) == len(skeleton_text):
            return [_Hit(end + 1 - entry.length, end + 1, entry) for end, entry in found]
        position = _positions(skeleton_text, self._outside)
        return [
            _Hit(position[end] + 1 - entry.length, position[end] + 1, entry) for end, entry in found
        ]

    def _pinyin_hits(self, shape: _Shape) -> list[_Hit]:
        index = self._pinyin
        first_letter = None if index is None else _LATIN.search(shape.skeleton)
        if index is None or first_letter is None:
            return []
        if shape.text.isascii():  # no hanzi: a hit counts only inside an all-pinyin phrase
            windows = _merged(_pinyin_phrases(shape.text, shape.skeleton))
        else:  # a hit holds a Latin letter and at most `reach` of the keys' own hanzi
            runs = _LATIN_RUN.finditer(shape.skeleton, first_letter.start())
            windows = _merged(index.widened(shape.skeleton, *run.span()) for run in runs)
        return [
            hit
            for start, end in windows
            for hit in _pinyin_hits_within(index.automaton, shape, start, end)
        ]


def _key(text: str, what: str) -> str:
    key = skeleton(text)
    if not key:
        raise ValueError(f"{what} {text!r} has no letter or digit to match")
    return key


def _automaton(entries: dict[str, _Entry]) -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    # A node searches its children one by one in the order added, and a character with no child
    # at the root costs a search of all of them. So the root gets a child (through a key that
    # never matches) for every character of the alphabet and every ASCII letter and digit: the
    # placeholder first, then ASCII, commonest first, then the rest.
    alphabet = {char for key in entries for char in key} - set(_ASCII_BY_FREQUENCY)
    for char in (_OUTSIDE, *_ASCII_BY_FREQUENCY, *sorted(alphabet)):
        automaton.add_word(char + _NEVER, None)
    for key in sorted(entries):
        automaton.add_word(key, entries[key])
    automaton.make_automaton()
    return automaton


def _outside_pattern(entries: dict[str, _Entry]) -> re.Pattern[str]:
    return re.compile(f"[^{char_class(char for key in entries for char in key)}]+")


def _positions(skeleton_text: str, outside: re.Pattern[str]) -> list[int]:
    """For each character of the collapsed skeleton, its index in the skeleton."""
    position: list[int] = []
    done = 0
    for run in outside.finditer(skeleton_text):
        position.extend(range(done, run.start() + 1))
        done = run.end()
    position.extend(range(done, len(skeleton_text)))
    return position


class _PinyinIndex(NamedTuple):
    automaton: ahocorasick.Automaton  # spelling -> (its length, the _Spelled keys)
    reach: int  # the most hanzi a key has, less one
    hanzi: frozenset[str]  # those the keys are written with

    def widened(self, skeleton_text: str, start: int, end: int) -> tuple[int, int]:
        """A Latin run with the keys' own hanzi around it, up to `reach` each way."""
        first, stop = start, end
        while first > 0 and start - first < self.reach and skeleton_text[first - 1] in self.hanzi:
            first -= 1
        while (
            stop < len(skeleton_text)
            and stop - end < self.reach
            and skeleton_text[stop] in self.hanzi
        ):
            stop += 1
        return first, stop


def _pinyin_index(entries: dict[str, _Entry]) -> _PinyinIndex | None:
    spelled: dict[str, list[_Spelled]] = {}
    for key, entry in entries.items():
        for spelling, starts in _spellings(key).items():
            spelled.setdefault(spelling, []).append(_Spelled(key, starts, entry))
    if not spelled:
        return None
    automaton = ahocorasick.Automaton()
    for spelling, keys in spelled.items():
        automaton.add_word(spelling, (len(spelling), tuple(keys)))
    automaton.make_automaton()
    entry_keys = {s.key for keys in spelled.values() for s in keys}
    return _PinyinIndex(automaton, max(map(len, entry_keys)) - 1, frozenset("".join(entry_keys)))


class _SoundIndex(NamedTuple):
    automaton: ahocorasick.Automaton  # sound -> (its length, ((hanzi key, its entry), ...))
    homophones: Homophones
    # A match keeping some of a key's own characters lies within reach of one of them: only
    # those stretches of a text are heard. `anchors` finds runs of them, each less than two
    # reaches from the next, so that the stretches around a run's never touch another's. None:
    # any hanzi may start one.
    anchors: re.Pattern[str] | None
    reach: int  # the most characters a key has, less one
    sounds: int  # keys of the automaton that may match

    def windows(self, skeleton_text: str) -> list[tuple[int, int]]:
        """The stretches of a skeleton where a match may lie."""
        if self.anchors is None:
            return [] if skeleton_text.isascii() else [(0, len(skeleton_text))]
        last = len(skeleton_text)
        return [
            (max(0, run.start() - self.reach), min(last, run.end() + self.reach))
            for run in self.anchors.finditer(skeleton_text)
        ]


def _sound_index(entries: dict[str, _Entry], homophones: Homophones) -> _SoundIndex | None:
    by_sound: dict[str, list[tuple[str, _Entry]]] = {}
    for key, entry in entries.items():
        if len(key) < homophones.min_syllables or homophones.max_replaced(len(key)) == 0:
            continue
        for key_sound in sounds_of(key):
            by_sound.setdefault(key_sound, []).append((key, entry))
    if not by_sound:
        return None
    automaton = ahocorasick.Automaton()
    # The root's children are searched in the order added (see _automaton): the commonest
    # syllables first.
    for char in (NO_SOUND, *syllable_sounds().values()):
        automaton.add_word(char + _NEVER, None)
    for key_sound, keys in by_sound.items():
        automaton.add_word(key_sound, (len(key_sound), tuple(keys)))
    automaton.make_automaton()
    entry_keys = {key for keys in by_sound.values() for key, _ in keys}
    reach = max(map(len, entry_keys)) - 1
    anchors = None
    if homophones.max_share < 1:
        own = char_class(char for key in entry_keys for char in key)
        # The two classes are disjoint, so the repetition cannot backtrack far.
        anchors = re.compile(f"[{own}](?:[^{own}]{{0,{2 * reach}}}[{own}])*")
    return _SoundIndex(automaton, homophones, anchors, reach, len(by_sound))


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans with overlapping or touching ones (a hit may span both) joined."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _pinyin_hits_within(
    automaton: ahocorasick.Automaton, shape: _Shape, start: int, end: int
) -> list[_Hit]:
    window = shape.skeleton[start:end]
    if window.isascii() and not _may_be_pinyin_words(window):
        return []
    found = list(automaton.iter(pinyin_skeleton(window)))
    if not found:
        return []
    offsets = pinyin_offsets(window)
    char_at = {offset: index for index, offset in enumerate(offsets)}
    hits: list[_Hit] = []
    for last, (length, keys) in found:
        first, stop = char_at.get(last + 1 - length), char_at.get(last + 1)
        if first is None or stop is None or not _LATIN.search(window, first, stop):
            continue  # inside a hanzi's syllable, or no Latin letter: not pinyin typed
        own = [s.entry for s in keys if _same_hanzi(window, offsets, first, stop, s)]
        if own and shape.pinyin_hit_fits(start + first, start + stop):
            hits.extend(_Hit(start + first, start + stop, entry) for entry in own)
    return hits


def _may_be_pinyin_words(letters: str) -> bool:
    """Whether a window of letters alone may hold a hit: one without hanzi needs every word of its
    phrase, here the whole window, to spell pinyin, so the window must too. _syllable_cuts() gives
    up on more letters than one word may have, so such a window passes."""
    return len(letters) > _LONGEST_PINYIN_WORD or _syllable_cuts(letters) is not None


def _spellings(key: str) -> dict[str, tuple[int, ...]]:
    """How a hanzi key is typed: each character's common reading, and read as a phrase; with
    where each character's syllable starts."""
    if len(key) < _MIN_PINYIN_SYLLABLES or not all(map(has_reading, key)):
        return {}
    spellings = {pinyin_skeleton(key): tuple(pinyin_offsets(key)[:-1])}
    if reads_as_phrase(key):  # the phrase may read a heteronym otherwise than alone (重庆)
        phrase = pinyin(normalize(key))
        starts = tuple(phrase.origin.index(index) for index in range(len(key)))
        spellings.setdefault(phrase.text, starts)
    return {text: starts for text, starts in spellings.items() if text.isascii() and text.isalpha()}


def _same_hanzi(window: str, offsets: list[int], start: int, end: int, spelled: _Spelled) -> bool:
    """Whether each hanzi kept in window[start:end] is the key's own at that syllable: a
    homophone is not the term."""
    for index in range(start, end):
        char = window[index]
        if char.isascii():
            continue
        relative = offsets[index] - offsets[start]
        if relative not in spelled.starts:
            return False
        if spelled.key[spelled.starts.index(relative)] != char:
            return False
    return True


def _inside_any(hit: _Hit, allowed: list[tuple[int, int]]) -> bool:
    return any(start <= hit.start and hit.end <= end for start, end in allowed)


def _match(term: Term, normalized: Normalized, hit: _Hit, how: str) -> Match:
    start, end = normalized.span(hit.start, hit.end)
    return Match(term.text, term.category, term.severity, start, end, how)


class _Word(NamedTuple):
    start: int  # skeleton offsets of Latin letters typed together, or spelled out one by one
    end: int
    phrase: int  # words with no hanzi or digit between share a phrase
    cuts: frozenset[int] | None  # offsets where it splits into pinyin syllables; None: not pinyin


class _Shape:
    """A text being scanned; what the pinyin rules need is worked out only when a hit needs it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.skeleton = skeleton(text)

    @cached_property
    def normalized(self) -> Normalized:
        return normalize_again(self.text, self.skeleton)

    @cached_property
    def words(self) -> list[_Word]:
        return _words(self.skeleton, letter_origins(self.text, self.skeleton))

    def pinyin_hit_fits(self, start: int, end: int) -> bool:
        """Whether a pinyin hit on skeleton [start, end) is where an evasion would be.

        It must hold a Latin letter, start and end where a syllable does, and every word it
        touches must spell pinyin. Without hanzi it must be whole words, and the rest of their
        phrase must spell pinyin too: so "xdubox", "meeting" (me-e-ting) and "he can run fast"
        read no pinyin.
        """
        region = self.skeleton[start:end]
        if not _LATIN.search(region):
            return False
        touched = [w for w in self.words if w.start < end and w.end > start]
        if any(w.cuts is None for w in touched):
            return False
        if not _cut_at(touched, start) or not _cut_at(touched, end):
            return False
        if region.isascii():  # pinyin alone: whole words, in a phrase of nothing but pinyin
            whole = touched[0].start == start and touched[-1].end == end
            phrases = {w.phrase for w in touched}
            return whole and all(w.cuts is not None for w in self.words if w.phrase in phrases)
        return True


def _cut_at(words: list[_Word], offset: int) -> bool:
    """Whether a syllable boundary lies at the offset (always so beside a hanzi)."""
    for word in words:
        if word.start < offset < word.end:
            assert word.cuts is not None
            return offset - word.start in word.cuts
    return True


def _words(skeleton_text: str, origin: dict[int, int]) -> list[_Word]:
    """The Latin words of a skeleton; `origin` maps each of its letters back to the text."""
    pieces = [(m.start(), m.end()) for m in _LATIN_RUN.finditer(skeleton_text)]
    pieces = [cut for start, end in pieces for cut in _typed_apart(origin, start, end)]
    words: list[_Word] = []
    phrase = 0
    for start, end in _join_spelled_out(pieces):
        if words and words[-1].end != start:  # a hanzi or digit between
            phrase += 1
        words.append(_Word(start, end, phrase, _syllable_cuts(skeleton_text[start:end])))
    return words


# Not "[a-z]+": the regex engine skips quickly to where a leading class matches, but tries a
# leading repetition at every position (a third slower on chat in hanzi).
_LATIN_RUN = re.compile("[a-z][a-z]*")
_LONGEST_PINYIN_WORD = 30  # longer runs are not read as pinyin: bounds the regex's backtracking


# In lowercased ASCII text, a phrase (as _words() groups them) and a whole phrase whose every
# letter run spells pinyin or is a single letter: where _Shape.pinyin_hit_fits() may accept a hit
# without hanzi.
_ASCII_PHRASE = re.compile("[^0-9]+")


@cache
def _all_pinyin_phrase() -> re.Pattern[str]:
    run = (
        f"(?=[a-z]{{1,{_LONGEST_PINYIN_WORD}}}(?![a-z]))"
        f"(?:(?:{_alternation(pinyin_syllables())})+|[a-z])(?![a-z])"
    )
    return re.compile(f"[^a-z]*{run}(?:[^a-z]+{run})*[^a-z]*")


def _pinyin_phrases(ascii_text: str, skeleton_text: str) -> list[tuple[int, int]]:
    """Skeleton [start, end) of each phrase of an ASCII text that is all pinyin."""
    lowered = ascii_text.lower()
    if skeleton_text.isalpha():  # no digit, so the text is one phrase (most chat: no need to look)
        return [(0, len(skeleton_text))] if _all_pinyin_phrase().fullmatch(lowered) else []
    found = []
    for phrase in _ASCII_PHRASE.finditer(lowered):
        if _all_pinyin_phrase().fullmatch(phrase.group()):
            start = len(skeleton(lowered[: phrase.start()]))
            found.append((start, start + len(skeleton(phrase.group()))))
    return found


def _alternation(words: Iterable[str]) -> str:
    """A regex matching any of the words, as a trie so that it tries few of them at a time."""
    by_first: dict[str, list[str]] = {}
    for word in words:
        by_first.setdefault(word[0], []).append(word[1:])
    branches = []
    for first, rests in sorted(by_first.items()):
        longer = [rest for rest in rests if rest]
        if not longer:
            branches.append(re.escape(first))
            continue
        tail = f"(?:{_alternation(longer)})"
        branches.append(f"{re.escape(first)}{tail}{'?' if '' in rests else ''}")
    return "|".join(branches)


def _typed_apart(origin: dict[int, int], start: int, end: int) -> Iterator[tuple[int, int]]:
    """A run of skeleton letters split where the original had anything between them."""
    for index in range(start + 1, end):
        if origin[index] > origin[index - 1] + 1:
            yield start, index
            start = index
    yield start, end


def _join_spelled_out(pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Single letters typed one by one ("d u b o", "d.u.b.o") read as one word."""
    joined: list[tuple[int, int]] = []
    spelled_out = False  # whether the last joined word is made of single letters
    for start, end in pieces:
        single = end - start == 1
        if joined and single and spelled_out and joined[-1][1] == start:
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
            spelled_out = single
    return joined


@lru_cache(maxsize=65536)
def _syllable_cuts(word: str) -> frozenset[int] | None:
    """Offsets at which some split of the whole word into pinyin syllables cuts; None if none."""
    if len(word) > _LONGEST_PINYIN_WORD:
        return None
    syllables = pinyin_syllables()
    longest = max(map(len, syllables))
    forward = {0}
    for start in range(len(word)):
        if start in forward:
            forward.update(
                start + size
                for size in range(1, longest + 1)
                if word[start : start + size] in syllables
            )
    if len(word) not in forward:
        return None
    backward = {len(word)}
    for end in range(len(word), 0, -1):
        if end in backward:
            backward.update(
                end - size for size in range(1, longest + 1) if word[end - size : end] in syllables
            )
    return frozenset(forward & backward)


class LexiconFileError(InvalidInput, ValueError):
    """A lexicon or allowlist file refused whole; `problems` lists (line number, what is wrong)."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        listed = "\n".join(f"line {number}: {what}" for number, what in problems)
        super().__init__(
            f"the file was not loaded, {len(problems)} problem(s):\n{listed}",
            code=ErrorCode.LEXICON_INVALID,
        )


def parse_lexicon(
    text: str, *, categories: Collection[str], severities: Collection[str]
) -> list[Term]:
    """The terms of a lexicon file, or LexiconFileError listing every problem."""
    problems: list[tuple[int, str]] = []
    terms: list[Term] = []
    first_seen: dict[str, int] = {}
    for number, fields in _records(text, problems):
        if len(fields) != 3:
            problems.append((number, f"expected term,category,severity, not {len(fields)} fields"))
            continue
        term, category, severity = fields
        found = _phrase_problems(term, "term", first_seen.get(term))
        if category not in categories:
            found.append(f"unknown category {category!r} (known: {', '.join(categories)})")
        if severity not in severities:
            found.append(f"unknown severity {severity!r} (known: {', '.join(severities)})")
        problems.extend((number, what) for what in found)
        first_seen.setdefault(term, number)
        if not found:
            terms.append(Term(term, category, severity))
    if problems:
        raise LexiconFileError(problems)
    return terms


def parse_allowlist(text: str) -> list[str]:
    """The phrases of an allowlist file, or LexiconFileError listing every problem."""
    problems: list[tuple[int, str]] = []
    phrases: list[str] = []
    first_seen: dict[str, int] = {}
    for number, fields in _records(text, problems):
        if len(fields) != 1:
            problems.append((number, f"expected one phrase, not {len(fields)} fields"))
            continue
        found = _phrase_problems(fields[0], "phrase", first_seen.get(fields[0]))
        problems.extend((number, what) for what in found)
        first_seen.setdefault(fields[0], number)
        if not found:
            phrases.append(fields[0])
    if problems:
        raise LexiconFileError(problems)
    return phrases


def format_lexicon(terms: Iterable[Term]) -> str:
    """A lexicon file that parse_lexicon() reads back as the same terms."""
    rows = ([term.text, term.category, term.severity] for term in terms)
    return "# term,category,severity\n" + "".join(map(_csv_line, rows))


def format_allowlist(phrases: Iterable[str]) -> str:
    """An allowlist file that parse_allowlist() reads back as the same phrases."""
    return "# allowlisted phrase\n" + "".join(_csv_line([phrase]) for phrase in phrases)


def _records(text: str, problems: list[tuple[int, str]]) -> Iterator[tuple[int, list[str]]]:
    """(line number, stripped fields) of each line that is not blank or a comment."""
    for number, line in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            fields = next(csv.reader([line], strict=True))
        except csv.Error as error:
            problems.append((number, f"malformed line: {error}"))
            continue
        yield number, [field.strip() for field in fields]


def _phrase_problems(phrase: str, what: str, first_line: int | None) -> list[str]:
    if not phrase:
        return [f"empty {what}"]
    if not skeleton(phrase):
        return [f"{what} {phrase!r} has no letter or digit to match"]
    if first_line is not None:
        return [f"duplicate {what} {phrase!r} (first on line {first_line})"]
    return []


def _csv_line(fields: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(fields)
    line = buffer.getvalue()
    if line.startswith("#"):  # would read back as a comment; it needed no quotes, so it is first
        line = '"' + fields[0] + '"' + line[len(fields[0]) :]
    return line
