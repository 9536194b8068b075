"""Which characters a user's text may hold, and whether it shows anything: the one check behind
every name, profile text, greeting, report and message."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from townhall.domain.errors import ErrorCode, InvalidInput

# Bidi embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI): they reorder
# what follows them. Arabic and Hebrew need none of them, nor the marks LRM/RLM, which are kept.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# The overrides (LRO RLO) turn the letters themselves around: "\u202eevil" shows as "live" and
# "invoice\u202efdp.exe" as "invoiceexe.pdf". Embeddings and isolates only place a run of text,
# and text copied from right-to-left documents (or wrapped by Android's BidiFormatter) has them.
BIDI_OVERRIDES = frozenset("\u202d\u202e")
# Unicode's line and paragraph separators: a line break that a one-line field cannot show.
SEPARATORS = frozenset("\u2028\u2029")
# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties.txt): characters that render as
# nothing, zero-width spaces and joiners, variation selectors, tags, fillers, among them. The
# Hangul fillers are letters by category, which is why a list and not categories decides.
_DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)  # fmt: skip
# Printed as a blank cell though it is a symbol: the usual stand-in for an invisible name.
_BLANK_SYMBOLS = frozenset("\u2800")


@dataclass(frozen=True, slots=True)
class Layout:
    """What a kind of text may hold besides printable characters: `breaks`, the control
    characters it keeps (line breaks, tabs); `separators`, whether it keeps Unicode's own line
    and paragraph separators; `bidi`, the bidi controls it refuses."""

    breaks: frozenset[str]
    separators: bool
    bidi: frozenset[str] = BIDI_CONTROLS


# A name or a title: one line, no control character at all.
LINE = Layout(breaks=frozenset(), separators=False)
# A bio, a description, an announcement, a post, a report's detail: lines and tabs.
PROSE = Layout(breaks=frozenset("\n\t"), separators=False)
# A chat message as typed or pasted on any platform: also carriage returns, Unicode's
# separators, and the embeddings and isolates of right-to-left text; only overrides refused.
MESSAGE = Layout(breaks=frozenset("\n\r\t"), separators=True, bidi=BIDI_OVERRIDES)


def hides_something(text: str, layout: Layout) -> bool:
    """Whether the text holds a character no text of this layout may: a control character it
    does not keep, a surrogate, a bidi embedding, override or isolate, a separator."""
    # isprintable() is the fast path: it is False for every character refused below.
    return not text.isprintable() and any(_refused(char, layout) for char in text)


def shows_something(text: str) -> bool:
    """Whether the text has a character one can see: a letter, a digit, punctuation or a
    symbol. Spaces, zero-width and format characters, tags, fillers and combining marks alone
    show nothing; inside a name or an emoji sequence they are welcome."""
    return any(map(_visible, text))


def clean(
    value: str,
    *,
    field: str,
    layout: Layout,
    max_chars: int,
    required: bool,
    invalid: ErrorCode,
    too_long: ErrorCode | None = None,
) -> str:
    """A name or a short text as stored: NFC, trimmed, within `max_chars`, nothing hidden in it.
    One that shows nothing is empty, as one of spaces is: refused with `invalid` when
    `required`, else stored as "". `too_long` is `invalid` unless the field has its own."""
    text = unicodedata.normalize("NFC", value.strip())
    if hides_something(text, layout):
        raise InvalidInput(
            f"{field} must not contain control characters or text-direction overrides",
            code=invalid,
        )
    if not shows_something(text):
        if required:
            raise InvalidInput(f"{field} must not be empty", code=invalid)
        return ""
    if len(text) > max_chars:
        raise InvalidInput(
            f"{field} is limited to {max_chars} characters", code=too_long or invalid
        )
    return text


def _refused(char: str, layout: Layout) -> bool:
    if char in BIDI_CONTROLS:
        return char in layout.bidi
    if char in SEPARATORS:
        return not layout.separators
    category = unicodedata.category(char)
    return (category == "Cc" and char not in layout.breaks) or category == "Cs"


def _visible(char: str) -> bool:
    if " " < char < "\x7f":  # printable ASCII but the space: most of what anyone types
        return True
    category = unicodedata.category(char)
    if category[0] in "LNPS":
        return not (ignorable(char) or char in _BLANK_SYMBOLS)
    # Private use (an icon font's), or unassigned in this Python's Unicode: most likely a newer
    # emoji. Either shows.
    if category in ("Co", "Cn"):
        return not (ignorable(char) or _noncharacter(char))
    return False


def ignorable(char: str) -> bool:
    """Whether Unicode says the character renders as nothing (Default_Ignorable_Code_Point)."""
    code = ord(char)
    return any(first <= code <= last for first, last in _DEFAULT_IGNORABLE)


def _noncharacter(char: str) -> bool:
    code = ord(char)
    return 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE
