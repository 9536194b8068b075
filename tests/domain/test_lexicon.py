"""The lexicon: terms found however disguised, where they are, the allowlist, operators' files."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from townhall.domain.errors import InvalidInput
from townhall.domain.lexicon import (
    Homophones,
    Inspection,
    Lexicon,
    LexiconFileError,
    Match,
    Term,
    format_allowlist,
    format_lexicon,
    parse_allowlist,
    parse_lexicon,
)
from townhall.domain.normalize import skeleton, sounds_of

CATEGORIES = ("terrorism", "violence", "pornography", "fraud", "gambling", "defamation")
SEVERITIES = ("low", "medium", "high", "critical")
GAMBLING = Term("赌博", "gambling", "high")
INVOICES = Term("代开发票", "fraud", "medium")
HEMP = Term("大麻", "pornography", "high")
PAYPAL = Term("paypal", "fraud", "critical")
CHONGQING = Term("重庆", "defamation", "low")  # 重 alone reads zhong, in the phrase chong
LEXICON = Lexicon.build([GAMBLING, INVOICES, HEMP, PAYPAL, CHONGQING], allowlist=["大麻哈鱼"])

CYRILLIC_A = "\N{CYRILLIC SMALL LETTER A}"
CYRILLIC_ES = "\N{CYRILLIC SMALL LETTER ES}"
CYRILLIC_ER = "\N{CYRILLIC SMALL LETTER ER}"
GREEK_ALPHA = "\N{GREEK SMALL LETTER ALPHA}"
GREEK_CAPITAL_RHO = "\N{GREEK CAPITAL LETTER RHO}"
ZERO_WIDTH_SPACE = "\u200b"
ZERO_WIDTH_JOINER = "\u200d"
WORD_JOINER = "\u2060"
IDEOGRAPHIC_SPACE = "\u3000"


def fullwidth(text: str) -> str:
    return "".join(chr(ord(char) + 0xFEE0) for char in text)


def found(text: str, lexicon: Lexicon = LEXICON) -> list[tuple[str, str, str]]:
    """(term, the original text it matched, how) for each match."""
    return [(m.term, text[m.start : m.end], m.how) for m in lexicon.scan(text)]


EVASIONS = {
    "plain": ("周末去赌博吗", "赌博", "赌博"),
    "spaces": ("周末去赌 博吗", "赌博", "赌 博"),
    "punctuation": ("代.开-发*票\uff0c加我", "代开发票", "代.开-发*票"),
    "ideographic space": (
        f"代{IDEOGRAPHIC_SPACE}开发票",
        "代开发票",
        f"代{IDEOGRAPHIC_SPACE}开发票",
    ),
    "zero-width": (
        f"去赌{ZERO_WIDTH_SPACE}{WORD_JOINER}博",
        "赌博",
        f"赌{ZERO_WIDTH_SPACE}{WORD_JOINER}博",
    ),
    "traditional": ("代開發票找我", "代开发票", "代開發票"),
    "traditional and spaced": ("來 賭 . 博", "赌博", "賭 . 博"),
    "full-width": (f"用{fullwidth('PayPal')}付", "paypal", fullwidth("PayPal")),
    "cyrillic": (f"p{CYRILLIC_A}yp{CYRILLIC_A}l login", "paypal", f"p{CYRILLIC_A}yp{CYRILLIC_A}l"),
    "greek": (
        f"{GREEK_CAPITAL_RHO}ay{CYRILLIC_ER}{GREEK_ALPHA}l",
        "paypal",
        f"{GREEK_CAPITAL_RHO}ay{CYRILLIC_ER}{GREEK_ALPHA}l",
    ),
    "homoglyphs, full width and zero width": (
        f"{fullwidth('P')}{ZERO_WIDTH_JOINER}{CYRILLIC_A}ypal",
        "paypal",
        f"{fullwidth('P')}{ZERO_WIDTH_JOINER}{CYRILLIC_A}ypal",
    ),
}
PINYIN_EVASIONS = {
    "first syllable": ("周末du博吗", "赌博", "du博"),
    "last syllable": ("赌bo", "赌博", "赌bo"),
    "all syllables": ("来dubo吧", "赌博", "dubo"),
    "capitals": ("DuBo!", "赌博", "DuBo"),
    "spaced syllables": ("一起 du bo 吗", "赌博", "du bo"),
    "spelled out": ("d u b o", "赌博", "d u b o"),
    "separators": ("d.u-b.o", "赌博", "d.u-b.o"),
    "traditional rest": ("dai開發票", "代开发票", "dai開發票"),
    "middle syllables": ("代kaifa票", "代开发票", "代kaifa票"),
    "phrase reading": ("chong庆", "重庆", "chong庆"),
    "common reading": ("zhong庆", "重庆", "zhong庆"),
    "english around it": ("I want du博 tonight", "赌博", "du博"),
}


@pytest.mark.parametrize(("text", "term", "rendering"), EVASIONS.values(), ids=EVASIONS.keys())
def test_each_evasion_is_found_where_it_was_written(text: str, term: str, rendering: str) -> None:
    assert found(text) == [(term, rendering, "text")]


@pytest.mark.parametrize(
    ("text", "term", "rendering"), PINYIN_EVASIONS.values(), ids=PINYIN_EVASIONS.keys()
)
def test_pinyin_for_some_hanzi_is_found(text: str, term: str, rendering: str) -> None:
    assert found(text) == [(term, rendering, "pinyin")]


def test_a_match_carries_the_terms_category_and_severity() -> None:
    assert LEXICON.scan("赌 博") == [Match("赌博", "gambling", "high", 0, 3, "text")]


@pytest.mark.parametrize(
    "text",
    [
        "xdubox",  # inside a longer word
        "来xdubo吧",  # the same between hanzi that are not the term's
        "dubolicious",
        "I want dubo now",  # pinyin without hanzi, among English words
        "dubo, or not?",
        "渡博",  # a homophone in hanzi: not the term
        "读博士",
        "渡bo",  # the hanzi that is there is not the term's
    ],
)
def test_pinyin_is_not_read_into_words_homophones_or_english(text: str) -> None:
    assert found(text) == []


def test_each_pinyin_word_of_a_long_run_is_found() -> None:
    # Forty letters in one run between hanzi, more than one word may have: each word counts.
    text = "我 " + " ".join(["dubo"] * 10) + " 吧"
    assert found(text) == [("赌博", "dubo", "pinyin")] * 10


def test_english_prose_is_not_read_as_pinyin() -> None:
    # Each term is spelled by English words here: women, china, he can, an, one (o + ne).
    lexicon = Lexicon.build(
        Term(text, "fraud", "low") for text in ("我们", "吃哪", "何参", "阿恩", "哦呢", "满哈")
    )
    prose = (
        "The women from China said he can help. We met one man; "
        "he can, and she can too. A man had one idea."
    )
    assert found(prose, lexicon) == []
    assert found("我们", lexicon) == [("我们", "我们", "text")]
    assert found("women", lexicon) == [("我们", "women", "pinyin")]  # alone, it may be pinyin


def test_two_terms_with_the_same_skeleton_both_report() -> None:
    lexicon = Lexicon.build([GAMBLING, Term("賭 博", "gambling", "low")])
    assert [(m.term, m.severity) for m in lexicon.scan("去赌博")] == [
        ("賭 博", "low"),
        ("赌博", "high"),
    ]


def test_overlapping_and_repeated_terms_all_report_in_order() -> None:
    lexicon = Lexicon.build([GAMBLING, Term("赌博机", "gambling", "critical"), PAYPAL])
    text = "赌博机和赌博, paypal"
    assert found(text, lexicon) == [
        ("赌博", "赌博", "text"),
        ("赌博机", "赌博机", "text"),
        ("赌博", "赌博", "text"),
        ("paypal", "paypal", "text"),
    ]
    assert [m.start for m in lexicon.scan(text)] == [0, 0, 4, 8]


def test_a_term_inside_an_allowlisted_phrase_is_dropped() -> None:
    assert found("大麻哈鱼很好吃") == []
    assert found("大 麻 哈 鱼") == []
    assert found("da麻哈鱼") == []  # the allowlisted phrase in pinyin too
    assert found("大麻") == [("大麻", "大麻", "text")]
    assert found("大麻哈鱼和大麻") == [("大麻", "大麻", "text")]


def test_an_empty_lexicon_finds_nothing() -> None:
    empty = Lexicon.build([])
    assert len(empty) == 0
    assert empty.scan("赌博 paypal") == []


@pytest.mark.parametrize(
    "text",
    [
        *(text for text, _, _ in (*EVASIONS.values(), *PINYIN_EVASIONS.values())),
        "大麻哈鱼和大麻",
        "nothing to see here",
    ],
)
def test_inspect_gives_the_skeleton_with_what_scan_finds(text: str) -> None:
    inspection = LEXICON.inspect(text)
    assert inspection.skeleton == skeleton(text)
    assert inspection.matches == LEXICON.scan(text)


def test_an_empty_lexicon_still_gives_the_skeleton() -> None:
    assert Lexicon.build([]).inspect("來 賭 . 博") == Inspection("来赌博", [])


def test_a_term_with_nothing_to_match_is_refused() -> None:
    with pytest.raises(ValueError, match="no letter or digit"):
        Lexicon.build([Term("!!!", "fraud", "low")])


def test_a_lexicon_lists_its_terms_and_is_immutable() -> None:
    assert len(LEXICON) == 5
    assert LEXICON.terms()[0] == GAMBLING
    assert LEXICON.allowlist() == ("大麻哈鱼",)
    with pytest.raises(AttributeError):
        LEXICON.extra = 1  # type: ignore[attr-defined]


# Homophones: 网络赌博, 法轮功 and 六合彩 are long enough to match written with homophones.
HOMOPHONES = Homophones(min_syllables=3, max_share=0.5)
ONLINE_GAMBLING = Term("网络赌博", "gambling", "high")
FALUN_GONG = Term("法轮功", "terrorism", "critical")
MARK_SIX = Term("六合彩", "gambling", "medium")
SOUNDING = Lexicon.build(
    [ONLINE_GAMBLING, FALUN_GONG, MARK_SIX, GAMBLING],
    allowlist=["六合彩票站"],  # say a lottery shop's sign, for the allowlist test
    homophones=HOMOPHONES,
)


@pytest.mark.parametrize(
    ("text", "term", "rendering"),
    [
        ("一起来网络堵博吧", "网络赌博", "网络堵博"),  # 堵 du3 for 赌 du3
        ("发轮功", "法轮功", "发轮功"),  # 发 fa1 for 法 fa3: tones aside
        ("网落赌搏", "网络赌博", "网落赌搏"),  # two of four
        ("說說網絡堵博", "网络赌博", "網絡堵博"),  # traditional, then homophones
        ("网 络·堵​博", "网络赌博", "网 络·堵​博"),  # and separators
        ("买留合彩", "六合彩", "留合彩"),
    ],
)
def test_a_long_term_written_partly_with_homophones_is_found(
    text: str, term: str, rendering: str
) -> None:
    assert found(text, SOUNDING) == [(term, rendering, "homophone")]


@pytest.mark.parametrize(
    "text",
    [
        "渡博",  # a two-character term: its homophones are other words
        "读博士",
        "发论攻",  # two of three replaced: more than half, another text that sounds alike
        "网落堵搏",  # three of four
        "发轮",  # not the whole term
        "法轮 功夫",  # still the term, by its characters: a text match, not a homophone one
    ],
)
def test_short_terms_and_texts_keeping_too_little_are_not_homophone_matches(text: str) -> None:
    assert [how for _, _, how in found(text, SOUNDING)] in ([], ["text"])


def test_the_term_itself_is_a_text_match_only() -> None:
    assert found("网络赌博", SOUNDING) == [
        ("网络赌博", "网络赌博", "text"),
        ("赌博", "赌博", "text"),
    ]


def test_without_homophone_rules_no_homophone_matches() -> None:
    plain = Lexicon.build([ONLINE_GAMBLING, FALUN_GONG])
    assert found("网络堵博 发轮功", plain) == []
    assert plain.sound_keys == 0
    long_enough = ("网络赌博", "法轮功", "六合彩", "六合彩票站")  # 赌博 is too short
    assert SOUNDING.sound_keys == len(set().union(*map(sounds_of, long_enough)))


def test_a_share_of_one_lets_every_character_be_a_homophone() -> None:
    loose = Lexicon.build([FALUN_GONG], homophones=Homophones(min_syllables=3, max_share=1))
    assert found("发论攻", loose) == [("法轮功", "发论攻", "homophone")]


def test_a_phrase_reading_of_a_heteronym_is_heard_too() -> None:
    # 行 reads xing alone and hang in 银行: 银航卡 sounds like 银行卡 read as a phrase.
    lexicon = Lexicon.build([Term("银行卡", "fraud", "low")], homophones=HOMOPHONES)
    assert found("出售银航卡", lexicon) == [("银行卡", "银航卡", "homophone")]


def test_a_homophone_of_an_allowlisted_phrase_excuses_homophones_only() -> None:
    assert found("六合彩票站", SOUNDING) == []
    assert found("六合菜票站", SOUNDING) == []  # the phrase heard: its homophone hit too
    # The term itself, written as it is, is not excused by the phrase's homophone.
    assert found("六合彩漂站", SOUNDING) == [("六合彩", "六合彩", "text")]


# Look-alike digits and symbols: read as letters between letters only.
SCAMCOIN = Term("scamcoin", "fraud", "high")
CASINO = Term("casino", "gambling", "low")
HIGH = Term("high", "fraud", "low")
OILFIELD = Term("oilfield", "fraud", "low")
# Terms that ordinary numbers would spell if every digit were read: a55, 5pm, 505, 3am.
ASS, SPM, SOS, EAM = (Term(text, "fraud", "low") for text in ("ass", "spm", "sos", "eam"))
LOOKALIKES = Lexicon.build(
    [SCAMCOIN, CASINO, HIGH, OILFIELD, ASS, SPM, SOS, EAM], allowlist=["casinoroyale"]
)


@pytest.mark.parametrize(
    ("text", "term", "rendering"),
    [
        ("buy sc4mc0in now", "scamcoin", "sc4mc0in"),
        ("SC4MC0IN!", "scamcoin", "SC4MC0IN"),
        ("sc@mcoin", "scamcoin", "sc@mcoin"),
        ("c4sino tonight", "casino", "c4sino"),
        ("c@$ino", "casino", "c@$ino"),
        (fullwidth("c4sino"), "casino", fullwidth("c4sino")),
        ("h1gh", "high", "h1gh"),  # 1 as i
        ("o1lfie1d", "oilfield", "o1lfie1d"),  # 1 as i, then as l
        ("sc4m c0in", "scamcoin", "sc4m c0in"),  # with a space, as separators go
        (f"s{CYRILLIC_ES}4mc0in", "scamcoin", f"s{CYRILLIC_ES}4mc0in"),  # and look-alike letters
    ],
)
def test_digits_and_symbols_between_letters_are_read_as_the_letters_they_look_like(
    text: str, term: str, rendering: str
) -> None:
    assert found(text, LOOKALIKES) == [(term, rendering, "lookalike")]


@pytest.mark.parametrize(
    "text",
    [
        "galaxy a55",
        "see you at 5pm",
        "call 505 now",
        "3am again",
        "price $25, room 101, 2025年5月",
        "tel13812345678",
        "c4sin0",  # a look-alike at a word's end is not read
        "c4s1n0",
    ],
)
def test_numbers_in_ordinary_chat_are_not_read_as_letters(text: str) -> None:
    assert found(text, LOOKALIKES) == []


def test_an_allowlisted_phrase_excuses_its_look_alike_spelling() -> None:
    assert found("c4sinoroyale", LOOKALIKES) == []
    assert found("c4sino royale, c4sino", LOOKALIKES) == [("casino", "c4sino", "lookalike")]


# Filler that cannot join a term: none of its characters is in one, and it has no letters.
filler = st.text(alphabet="的了是我你他们在这有个好吗呢吧\uff0c\u3002\uff01 ,.123😀", max_size=12)
# Pinyin evasions need a boundary, which the spaces around them give.
renderings = st.sampled_from([*EVASIONS.values(), *PINYIN_EVASIONS.values()])


@given(filler, renderings, filler)
def test_offsets_point_at_the_rendering_whatever_surrounds_it(
    before: str, case: tuple[str, str, str], after: str
) -> None:
    _, term, rendering = case
    text = f"{before} {rendering} {after}"
    spans = [text[m.start : m.end] for m in LEXICON.scan(text) if m.term == term]
    assert rendering in spans


# The lexicon file.
GOOD_FILE = """\ufeff# the starting lexicon
赌博,gambling,high

"pay, then play",fraud,medium
  代开发票 , fraud , low
"""


def test_a_lexicon_file_is_read_with_quotes_comments_and_blank_lines() -> None:
    terms = parse_lexicon(GOOD_FILE, categories=CATEGORIES, severities=SEVERITIES)
    assert terms == [
        Term("赌博", "gambling", "high"),
        Term("pay, then play", "fraud", "medium"),
        Term("代开发票", "fraud", "low"),
    ]


BAD_FILE = """# every line but the first term is wrong
赌博,gambling,high
大麻,drugs,high
代开发票,fraud,urgent
,fraud,low
!!!,fraud,low
赌博,fraud,low
paypal,fraud
"unterminated,fraud,low
a,b,c,d
"""


def test_a_bad_lexicon_file_is_refused_whole_with_every_problem_and_its_line() -> None:
    with pytest.raises(LexiconFileError) as refused:
        parse_lexicon(BAD_FILE, categories=CATEGORIES, severities=SEVERITIES)
    problems = refused.value.problems
    assert [number for number, _ in problems] == [3, 4, 5, 6, 7, 8, 9, 10]
    text = dict(problems)
    assert "unknown category 'drugs'" in text[3]
    assert "unknown severity 'urgent'" in text[4]
    assert "empty term" in text[5]
    assert "no letter or digit" in text[6]
    assert "duplicate term '赌博' (first on line 2)" in text[7]
    assert "not 2 fields" in text[8]
    assert "malformed" in text[9]
    assert "not 4 fields" in text[10]
    assert "line 3: unknown category" in str(refused.value)
    assert isinstance(refused.value, InvalidInput)
    assert isinstance(refused.value, ValueError)


def test_a_line_with_two_problems_reports_both() -> None:
    with pytest.raises(LexiconFileError) as refused:
        parse_lexicon("赌博,drugs,urgent\n", categories=CATEGORIES, severities=SEVERITIES)
    assert [number for number, _ in refused.value.problems] == [1, 1]


def test_the_allowlist_file_is_read_and_checked_the_same_way() -> None:
    assert parse_allowlist('# known false positives\n大麻哈鱼\n\n"a, b"\n') == ["大麻哈鱼", "a, b"]
    with pytest.raises(LexiconFileError) as refused:
        parse_allowlist("大麻哈鱼\n大麻哈鱼\n...\nx,y\n")
    assert [number for number, _ in refused.value.problems] == [2, 3, 4]


term_texts = (
    st.text(alphabet=st.sampled_from("赌博代开发票abcXYZ019 ,\"#'-"), min_size=1, max_size=10)
    .map(str.strip)
    .filter(lambda text: bool(skeleton(text)))
)
lexicon_terms = st.lists(
    st.builds(Term, term_texts, st.sampled_from(CATEGORIES), st.sampled_from(SEVERITIES)),
    unique_by=lambda term: term.text,
    max_size=20,
)


@given(lexicon_terms)
def test_format_and_parse_round_trip(terms: list[Term]) -> None:
    text = format_lexicon(terms)
    assert parse_lexicon(text, categories=CATEGORIES, severities=SEVERITIES) == terms


@given(st.lists(term_texts, unique=True, max_size=20))
def test_allowlist_format_and_parse_round_trip(phrases: list[str]) -> None:
    assert parse_allowlist(format_allowlist(phrases)) == phrases


def test_a_large_lexicon_builds_and_finds_its_terms() -> None:
    pool = "赌博代开发票枪支弹药色情诈骗传销办证刷单套现洗钱贷款"
    terms = [
        Term(pool[i % 26] + pool[i // 26 % 26] + pool[i // 676 % 26] + str(i), "fraud", "low")
        for i in range(20_000)
    ]
    lexicon = Lexicon.build(terms)
    assert len(lexicon) == len(terms)
    term = terms[12_345].text
    assert (term, term, "text") in found(f"这是{term}吗", lexicon)
