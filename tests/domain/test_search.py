"""The one tokenization of indexed text and queries: a token per Chinese character, whole words
for the rest, folded alike on both sides, and queries refused when empty or too long."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from townhall.domain.errors import ErrorCode, InvalidInput
from townhall.domain.search import (
    MAX_QUERY_CHARS,
    MAX_WORD_CHARS,
    SearchTerms,
    indexed_text,
    search_terms,
    tokens,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我爱Python编程!", "我 爱 python 编 程"),
        ("2024年5月1日", "2024 年 5 月 1 日"),
        ("\uff28\uff25\uff2c\uff2c\uff2f\uff0c世界", "hello 世 界"),  # full-width HELLO and comma
        ("Straße CAFÉ", "strasse café"),
        ("东京タワーで한국어", "东 京 タ ワ ー で 한 국 어"),
        ("hello_world-wide/web", "hello world wide web"),
        ("e-mail: a.b@example.org", "e mail a b example org"),
        ("「引号」《书名》——破折号…", "引 号 书 名 破 折 号"),
        ("   ", ""),
        ("!?*\"'()", ""),
    ],
)
def test_each_han_character_is_a_token_and_other_words_stay_whole(text: str, expected: str) -> None:
    assert indexed_text(text) == expected


def test_a_word_longer_than_any_query_is_cut_into_words_a_query_can_hold() -> None:
    assert tokens("x" * (2 * MAX_WORD_CHARS + 1)) == ["x" * MAX_WORD_CHARS] * 2 + ["x"]


@pytest.mark.parametrize(
    ("query", "phrases"),
    [
        ("爱", (("爱",),)),
        ("编程", (("编", "程"),)),
        ("我爱你", (("我", "爱", "你"),)),
        ("Python", (("python",),)),
        ("我爱Python", (("我", "爱", "python"),)),
        ("编程 python", (("编", "程"), ("python",))),
        ("python  PYTHON", (("python",),)),  # each phrase once
        ("it's", (("it", "s"),)),
        ('"NEAR(a b)*" -x', (("near", "a"), ("b",), ("x",))),
        ("AND OR NOT", (("and",), ("or",), ("not",))),
    ],
)
def test_a_query_is_a_phrase_per_part_between_spaces(
    query: str, phrases: tuple[tuple[str, ...], ...]
) -> None:
    assert search_terms(query) == SearchTerms(phrases)


@pytest.mark.parametrize("query", ["", "   ", "!!!", '"', "*", "-", "()", "\uff0c。、"])
def test_a_query_with_nothing_to_look_for_is_refused(query: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        search_terms(query)
    assert refused.value.code == ErrorCode.QUERY_EMPTY


def test_a_query_past_the_limit_is_refused() -> None:
    assert search_terms("好" * MAX_QUERY_CHARS).phrases == (("好",) * MAX_QUERY_CHARS,)
    with pytest.raises(InvalidInput) as refused:
        search_terms("好" * (MAX_QUERY_CHARS + 1))
    assert refused.value.code == ErrorCode.QUERY_TOO_LONG


@given(st.text(max_size=200))
def test_tokens_hold_letters_and_digits_only(text: str) -> None:
    """What the databases' query languages could read as syntax never reaches them."""
    for token in tokens(text):
        assert token
        assert all(char.isalnum() for char in token)
        assert len(token) <= MAX_WORD_CHARS


@given(st.text(min_size=1, max_size=40), st.text(max_size=40), st.text(max_size=40))
def test_a_text_is_found_by_any_whole_tokens_it_contains(
    middle: str, before: str, after: str
) -> None:
    """A query made of a run of the text's own tokens is a phrase of the indexed text."""
    text = f"{before} {middle} {after}"
    indexed = f" {indexed_text(text)} "
    for part in middle.split():
        phrase = tokens(part)
        if phrase and len(part) <= MAX_QUERY_CHARS:
            assert f" {' '.join(phrase)} " in indexed
