"""Text skeletons: each folding step, the origin map back to the input, and pinyin."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import opencc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from townhall.domain.normalize import (
    _MAYBE_CONVERTIBLE,
    _PLAIN,
    _SKELETON,
    HAN,
    NO_SOUND,
    Normalized,
    Reading,
    _transform,
    fold,
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
        ("新\u3164华\uffa0社", "新华社"),  # Hangul fillers: letters by category, shown as nothing
        ("c\u115fc\u1160tv", "cctv"),
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


def test_characters_converted_only_inside_a_phrase_are_converted() -> None:
    assert skeleton("沈浸") == normalize("沈浸").text == "沉浸"
    assert skeleton("反覆思量\uff0c") == "反复思量"
    assert skeleton("沈") == "沈"  # alone, a surname


OPENCC_DATA = Path(opencc.__file__).parent / "clib" / "share" / "opencc"
OPENCC_DICT_TOOL = Path(opencc.__file__).parent / "clib" / "bin" / "opencc_dict"


def dictionary_files(config: Any) -> Iterator[str]:
    """The dictionary files an OpenCC configuration names, however deep."""
    if isinstance(config, dict):
        if isinstance(config.get("file"), str):
            yield config["file"]
        for value in config.values():
            yield from dictionary_files(value)
    elif isinstance(config, list):
        for item in config:
            yield from dictionary_files(item)


def dictionary(file: str, tmp_path: Path) -> dict[str, str]:
    """An OpenCC dictionary as key -> first candidate, dumped by OpenCC's own tool."""
    dumped = tmp_path / f"{file}.txt"
    command = [OPENCC_DICT_TOOL, "-i", OPENCC_DATA / file, "-o", dumped, "-f", "ocd2", "-t", "text"]
    subprocess.run(command, check=True, capture_output=True)
    rows = (line.split("\t") for line in dumped.read_text().splitlines())
    return {key: values.split(" ")[0] for key, values in rows}


@pytest.mark.skipif(not OPENCC_DICT_TOOL.exists(), reason="this OpenCC build has no opencc_dict")
def test_whatever_opencc_would_convert_goes_through_opencc(tmp_path: Path) -> None:
    # skeleton() skips OpenCC for text with no character that may convert: each key that converts
    # needs one, or text holding that key would be left unconverted.
    config = json.loads((OPENCC_DATA / "t2s.json").read_text())
    converting = [
        key
        for file in dictionary_files(config)
        for key, value in dictionary(file, tmp_path).items()
        if key != value
    ]
    assert len(converting) > 4000
    assert [key for key in converting if not _MAYBE_CONVERTIBLE.search(key)] == []


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


# Every kind of character the skeleton treats specially, so the fast paths meet them all.
mixed_texts = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(
            "新華社國務院头发乾隆重庆赌博賭 ABCabc123ßﬁ①"
            + fullwidth("ABCabc123")
            + "\N{CYRILLIC SMALL LETTER A}\N{CYRILLIC CAPITAL LETTER ES}"
            "\N{GREEK SMALL LETTER OMICRON}\N{GREEK CAPITAL LETTER ALPHA}"
            "\N{COMBINING ACUTE ACCENT}\N{COMBINING DIAERESIS}"
            "\u200b\u200c\u200d\u2060\ufeff\ufe0f\u3000\uff0c\u3002\uff01\uff1f…·“”😀❶"
        ),
    ),
    max_size=80,
)


@given(mixed_texts)
def test_skeleton_is_the_text_of_normalize(text: str) -> None:
    assert skeleton(text) == normalize(text).text


@given(mixed_texts)
def test_normalize_fast_path_agrees_with_the_character_table(text: str) -> None:
    assert normalize(text) == _transform(text, _SKELETON)


@given(mixed_texts)
def test_normalize_again_and_letter_origins_agree_with_normalize(text: str) -> None:
    normalized = normalize(text)
    assert normalize_again(text, normalized.text) == normalized
    letters = letter_origins(text, normalized.text)
    expected = {i: o for i, o in enumerate(normalized.origin) if "a" <= normalized.text[i] <= "z"}
    assert letters == expected


def test_skeleton_folds_every_plain_character_alone_as_the_table_does() -> None:
    plain = [chr(code) for code in range(0x30000) if _PLAIN.fullmatch(chr(code))]
    assert len(plain) > 20_000
    assert [skeleton(char) for char in plain] == [normalize(char).text for char in plain]
    assert [skeleton(char) for char in plain] == [
        _transform(char, _SKELETON).text for char in plain
    ]


def test_pinyin_skeleton_spells_each_hanzi_by_its_common_reading() -> None:
    assert pinyin_skeleton("赌博") == "dubo"
    assert pinyin_skeleton("du博x绿") == "duboxlv"
    assert pinyin_skeleton("重庆") == "zhongqing"  # character by character: the common reading
    assert pinyin(normalize("重庆")).text == "chongqing"  # the phrase-reading form still knows
    assert pinyin_offsets("du博x") == [0, 1, 2, 4, 5]


def test_pinyin_syllables_are_the_keyboard_spellings() -> None:
    syllables = pinyin_syllables()
    assert {"du", "bo", "zhuang", "lv", "nve", "er", "a"} <= syllables
    assert not {"n", "ng", "m", "hm", "hng", "x", "th"} & syllables
    assert has_reading("赌") and not has_reading("a") and not has_reading("\uff0c")
    assert reads_as_phrase("重庆") and not reads_as_phrase("赌")


def test_homophones_sound_alike_and_a_sound_is_as_long_as_its_skeleton() -> None:
    assert sound("网络堵博") == sound("网络赌博")
    assert sound("发轮功") == sound("法轮功")  # fa1 and fa3: tones aside
    assert sound("渡博") == sound("赌博") != sound("赌场")
    mixed = sound("du博2")
    assert len(mixed) == 4 and mixed[:1] == mixed[3:] == NO_SOUND != mixed[2]
    assert set(syllable_sounds()) <= pinyin_syllables()
    assert len(set(syllable_sounds().values())) == len(syllable_sounds())  # one each
    assert next(iter(syllable_sounds())) == "yi"  # the commonest first: most hanzi read yi


def test_a_phrase_sounds_as_its_characters_and_as_a_phrase() -> None:
    assert sounds_of("赌博") == {sound("赌博")}
    assert sounds_of("银行") == {sound("银行"), sound("银航")}  # xing alone, hang in the phrase
    assert sounds_of("赌a") == set()


def test_look_alikes_between_letters_are_read_as_letters_in_place() -> None:
    text = "buy SC4MC0IN"
    assert lookalike_readings(text) == [Reading("buy SCaMCoIN", frozenset({6, 9}))]
    wide = fullwidth("c4sino")
    assert [r.text for r in lookalike_readings(wide)] == [fullwidth("c") + "a" + fullwidth("sino")]
    cyrillic = f"s{CYRILLIC_ES}4m"  # a look-alike letter beside the digit
    assert [r.text for r in lookalike_readings(cyrillic)] == [f"s{CYRILLIC_ES}am"]
    assert [r.text for r in lookalike_readings("h1gh")] == ["high", "hlgh"]
    assert [r.text for r in lookalike_readings("c@$h")] == ["cash"]


@pytest.mark.parametrize(
    "text",
    ["2025年5月", "a55", "5pm", "room 101", "$25", "tel13812345678", "hell0", "b2b", "x123y"],
)
def test_numbers_are_not_read_as_letters(text: str) -> None:
    assert lookalike_readings(text) == []


def test_a_text_of_many_ambiguous_look_alikes_is_read_two_ways_only() -> None:
    assert [r.text[:4] for r in lookalike_readings("a1" * 5000 + "a")] == ["aiai", "alal"]
    assert len(lookalike_readings("a1b1c1d")) == 8  # three, each either way
