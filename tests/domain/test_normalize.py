"""Text skeletons: each folding step, the origin map back to the input, and pinyin."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from townhall.domain.normalize import HAN, Normalized, fold, normalize, pinyin

CYRILLIC_ES = "\N{CYRILLIC SMALL LETTER ES}"


def fullwidth(text: str) -> str:
    """The full-width forms of ASCII letters and digits, as a Chinese input method types them."""
    return "".join(chr(ord(char) + 0xFEE0) for char in text)


def original(normalized: Normalized, source: str, start: int, end: int) -> str:
    first, last = normalized.span(start, end)
    return source[first:last]


@pytest.mark.parametrize(
    ("text", "skeleton"),
    [
        (fullwidth("CCTV"), "cctv"),
        ("CCTV", "cctv"),
        ("新 华 社", "新华社"),
        ("新\u200b华社", "新华社"),
        ("新.华-社!", "新华社"),
        ("新華社", "新华社"),
        ("國務院", "国务院"),
        (f"{CYRILLIC_ES}ctv", "cctv"),
        ("\N{GREEK CAPITAL LETTER ALPHA}BC", "abc"),
        ("Straße", "strasse"),
        ("école", "ecole"),
        ("e\N{COMBINING ACUTE ACCENT}cole", "ecole"),
        ("\N{CIRCLED DIGIT ONE}\N{FULLWIDTH DIGIT TWO}3", "123"),
        ("上海咖啡馆", "上海咖啡馆"),
        ("  ", ""),
    ],
)
def test_normalize_folds_each_evasion(text: str, skeleton: str) -> None:
    assert normalize(text).text == skeleton


def test_letters_and_digits_of_every_script_stay() -> None:
    assert normalize("Ж 7 カ").text == "zh7ka"  # transliterated, not dropped
    assert normalize("한국").text == "hangug"


def test_fold_keeps_visible_separators_and_drops_invisible_ones() -> None:
    assert fold(f"{fullwidth('ABC')}\N{FULLWIDTH FULL STOP}COM").text == "abc.com"
    assert fold("abc。cn").text == "abc。cn"
    assert fold("新\u200b華 社").text == "新华 社"


def test_origin_points_at_the_character_that_produced_each_output() -> None:
    text = "新 華-社"
    result = normalize(text)
    assert result.text == "新华社"
    assert [text[i] for i in result.origin] == ["新", "華", "社"]


def test_a_character_that_expands_maps_every_output_to_itself() -> None:
    result = normalize("aß\N{LATIN SMALL LIGATURE FI}")
    assert result.text == "assfi"
    assert result.origin == (0, 1, 1, 2, 2)


def test_span_maps_a_match_back_to_the_exact_original_substring() -> None:
    text = "看 C C T V 新闻"
    result = normalize(text)
    start = result.text.index("cctv")
    assert original(result, text, start, start + 4) == "C C T V"


def test_span_of_a_full_width_traditional_match() -> None:
    text = f"关于《新\u200b華{fullwidth('SHE')}》的一切"
    result = normalize(text)
    start = result.text.index("新华she")
    assert original(result, text, start, start + 5) == f"新\u200b華{fullwidth('SHE')}"


def test_span_refuses_an_empty_or_outside_range() -> None:
    result = normalize("abc")
    with pytest.raises(ValueError, match="empty or outside"):
        result.span(1, 1)
    with pytest.raises(ValueError, match="empty or outside"):
        result.span(0, 4)


def test_traditional_phrases_convert_as_phrases() -> None:
    assert normalize("頭髮").text == "头发"
    assert normalize("乾隆").text == "乾隆"  # a name: the phrase table keeps 乾, alone it is 干


def test_pinyin_spells_each_hanzi_and_maps_back_to_it() -> None:
    text = "新 華-社"
    result = pinyin(normalize(text))
    assert result.text == "xinhuashe"
    assert [text[i] for i in result.origin] == ["新"] * 3 + ["華"] * 3 + ["社"] * 3


def test_pinyin_passes_other_characters_through() -> None:
    result = pinyin(normalize("新hua社 CCTV-1"))
    assert result.text == "xinhuashecctv1"


def test_pinyin_reads_heteronyms_from_their_phrase() -> None:
    assert pinyin(normalize("重庆")).text == "chongqing"
    assert pinyin(normalize("重要")).text == "zhongyao"


def test_pinyin_of_text_without_hanzi_is_the_same_text() -> None:
    skeleton = normalize("Blue Whale Books")
    assert pinyin(skeleton) == skeleton


def assert_origin_map(result: Normalized, source: str) -> None:
    assert len(result.text) == len(result.origin)
    assert list(result.origin) == sorted(result.origin)
    assert all(0 <= i < len(source) for i in result.origin)


# Mixed scripts, separators, compatibility forms and invisible characters, not only ASCII.
texts = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from("新華社國務院头发乾隆重庆ßﬁ①ＡＢＣ\u200b\u0301 -.。"),
    ),
    max_size=60,
)


@given(texts)
def test_normalize_keeps_a_sound_origin_map(text: str) -> None:
    assert_origin_map(normalize(text), text)


@given(texts)
def test_fold_keeps_a_sound_origin_map(text: str) -> None:
    assert_origin_map(fold(text), text)


@given(texts)
def test_pinyin_keeps_a_sound_origin_map(text: str) -> None:
    assert_origin_map(pinyin(normalize(text)), text)


@given(texts)
def test_normalize_is_idempotent_and_leaves_no_separator(text: str) -> None:
    skeleton = normalize(text).text
    assert normalize(skeleton).text == skeleton
    assert not any(char.isspace() for char in skeleton)


# Without hanzi every character folds on its own (OpenCC converts phrase-wise: 乾隆 keeps 乾).
texts_without_hanzi = texts.filter(lambda text: not HAN.search(text))


@given(texts_without_hanzi, st.data())
def test_every_span_covers_the_characters_that_produced_it(text: str, data: st.DataObject) -> None:
    result = normalize(text)
    if not result.text:
        return
    start = data.draw(st.integers(0, len(result.text) - 1))
    end = data.draw(st.integers(start + 1, len(result.text)))
    first, last = result.span(start, end)
    assert result.text[start:end] in normalize(text[first:last]).text
