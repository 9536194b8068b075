"""Full-text search: the one tokenization that both the indexed text and a query go through.

Chinese is written without spaces and no segmenter agrees with every reader on where its words
end, so every Han character (and each kana and hangul) is a token of its own, and a query of n
such characters is the phrase of n adjacent tokens: 1, 2, 3 or more characters all find exactly
the messages that contain them in a row. Runs of other letters and digits stay whole words, found
as whole words. Both sides are NFKC-normalized and casefolded first (full-width letters, case),
and everything else separates. The databases' own full-text engines (store/search.py) then see
text already cut into tokens by spaces, which their simplest tokenizers split the same way.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from townhall.domain.errors import ErrorCode, InvalidInput

MAX_QUERY_CHARS = 100
PAGE_MAX = 50  # hits a page of results holds at most
# Matches one page of message results looks through at most, whoever searches for what: a word
# common in others' conversations costs a bounded amount, and a page may end short of its limit
# with a cursor to go on from (store/messages.py `find`).
SCANNED_PER_PAGE = 5_000
# A longer word is cut into words of this length, in the index and in a query alike: PostgreSQL
# drops words over 2,047 bytes from its index without a word.
MAX_WORD_CHARS = MAX_QUERY_CHARS

# Scripts written without spaces between words, a token per character: Han (with U+3005-U+3007:
# the iteration mark, closing mark and ideographic zero), kana, bopomofo and hangul.
_ONE_CHARACTER_EACH = (
    "\u1100-\u11ff\u3005-\u3007\u3040-\u30ff\u3100-\u312f\u3130-\u318f\u31a0-\u31bf"
    "\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff"
    "\U00020000-\U0003ffff"
)
# A letter or digit of those scripts alone, or a run of letters and digits of any other
# (`[^\W_]`: a word character that is not the underscore). Their punctuation is no token.
_TOKEN = re.compile(
    rf"(?=[^\W_])[{_ONE_CHARACTER_EACH}]|[^\W_{_ONE_CHARACTER_EACH}]{{1,{MAX_WORD_CHARS}}}"
)


def tokens(text: str) -> list[str]:
    """The tokens of `text`, in order: "我爱Python编程!" -> 我, 爱, python, 编, 程."""
    # Every message is indexed as it is written: most text is NFKC already, and checking is a
    # tenth of normalizing.
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    found: list[str] = _TOKEN.findall(text.casefold())
    return found


def indexed_text(text: str) -> str:
    """What the index holds of a text: its tokens, separated by single spaces ("" for none)."""
    return " ".join(tokens(text))


@dataclass(frozen=True, slots=True)
class SearchTerms:
    """A query as the index is asked it: every phrase must be found, each phrase's tokens next
    to each other and in order. Each whitespace-separated part of the query is one phrase."""

    phrases: tuple[tuple[str, ...], ...]


def search_terms(query: str) -> SearchTerms:
    """The query's phrases; 400 `query_too_long` past `MAX_QUERY_CHARS`, 400 `query_empty` when
    it holds nothing to look for (only spaces or punctuation)."""
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(
            f"q: a search is at most {MAX_QUERY_CHARS} characters", code=ErrorCode.QUERY_TOO_LONG
        )
    phrases: dict[tuple[str, ...], None] = {}  # in order, each once
    for part in query.split():
        found = tuple(tokens(part))
        if found:
            phrases[found] = None
    if not phrases:
        raise InvalidInput(
            "q: give a letter, digit or character to search for", code=ErrorCode.QUERY_EMPTY
        )
    return SearchTerms(tuple(phrases))
