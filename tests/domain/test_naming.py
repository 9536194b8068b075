"""Public-account naming rules: reserved terms however disguised, URLs, contact details, keys."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from townhall.domain.errors import InvalidInput, PolicyRefusal
from townhall.domain.naming import NameChecker, NamingRules, RestrictedTerms, name_key

MAX_CHARS = 30
STATE_ORGANS = RestrictedTerms(
    what="state organs",
    terms=("国务院", "中共中央", "人民政府", "公安", "法院", "检察院", "中央"),
    allowed_categories=("government",),
)
NEWS_MEDIA = RestrictedTerms(
    what="news media",
    terms=("新闻", "news", "新华社", "xinhua", "人民日报", "央视", "cctv", "日报"),
    allowed_categories=("news",),
)
RULES = NamingRules(
    restricted=(STATE_ORGANS, NEWS_MEDIA),
    refuse_urls=True,
    refuse_contact_details=True,
    max_digit_run=6,
)
CHECKER = NameChecker(RULES)


def fullwidth(text: str) -> str:
    return "".join(chr(ord(char) + 0xFEE0) for char in text)


def check(name: str, category: str = "business") -> str:
    return CHECKER.check(name, category=category, max_chars=MAX_CHARS)


def refusal(name: str, category: str = "business") -> PolicyRefusal:
    with pytest.raises(PolicyRefusal) as caught:
        check(name, category)
    return caught.value


@pytest.mark.parametrize(
    "name",
    [
        "新华社资讯",
        fullwidth("cctv") + "精选",
        "新 华 社",
        "新.华.社",
        "新\u200b华社",
        "新華社",
        "xinhuashe",
        "Xin Hua She 资讯",
        "新hua社",
        "\N{CYRILLIC SMALL LETTER ES}ctv",
        "CCTV-13 fans",
        "Xinhua Daily",
        "每日News",
        "人民日報",
    ],
)
def test_news_media_terms_are_refused_however_disguised(name: str) -> None:
    error = refusal(name)
    assert error.code == "name_restricted"
    assert "reserved for news media" in error.message


@pytest.mark.parametrize("name", ["國務院办公", "guowuyuan", "中 央 厨房", "Gong An 之家"])
def test_state_organ_terms_are_refused(name: str) -> None:
    error = refusal(name)
    assert error.code == "name_restricted"
    assert "reserved for state organs" in error.message


def test_the_refusal_quotes_the_applicants_own_spelling() -> None:
    error = refusal("看 Xin Hua She 资讯")
    assert "“Xin Hua She”" in error.message
    assert "“新\u200b華社”" in refusal("新\u200b華社").message


def test_a_category_allowed_the_terms_may_use_them() -> None:
    assert check("新华社资讯", category="news") == "新华社资讯"
    assert check("国务院公报", category="government") == "国务院公报"


def test_an_allowed_category_is_still_bound_by_the_other_groups() -> None:
    assert refusal("国务院新闻", category="news").code == "name_restricted"


@pytest.mark.parametrize(
    "name",
    [
        "上海咖啡馆",
        "Blue Whale Books",
        "心花怒放花店",
        "新华书店旁的面包",
        "QQ Music Fans",
        "Hotel 88",
    ],
)
def test_innocent_names_pass(name: str) -> None:
    assert check(name) == name


def test_pinyin_matches_latin_spellings_and_long_homophones_only() -> None:
    # 新华 alone is a road, a bookshop, a hospital, and 心花 only sounds like it: the latin
    # "xinhua" does not reach hanzi that short. Three syllables alike are an imitation.
    assert check("新华书店旁的面包") == "新华书店旁的面包"
    assert check("心花怒放花店") == "心花怒放花店"
    assert refusal("新hua咖啡").code == "name_restricted"
    assert refusal("Xinhua咖啡").code == "name_restricted"
    assert "“新化社”" in refusal("新化社资讯").message
    assert "“锅物院”" in refusal("锅物院餐厅").message  # guowuyuan


def test_a_pinyin_match_must_fall_on_whole_syllables() -> None:
    # 欣欢 reads "xinhuan": "xinhua" is in the letters but not in the syllables.
    assert check("欣欢书屋") == "欣欢书屋"


@pytest.mark.parametrize(
    "name",
    [
        "http://abc",
        "www abc",
        fullwidth("www") + "。abc",
        "abc.com",
        "ABC\N{FULLWIDTH FULL STOP}COM",
        "abc。cn",
        "好店.top",
        "shop.xyz精选",
    ],
)
def test_web_addresses_are_refused(name: str) -> None:
    assert refusal(name).code == "name_url"


@pytest.mark.parametrize(
    "name",
    [
        "wx: abc123",
        "加微信 abc123",
        "微信\N{FULLWIDTH COLON}shop_2024",
        "QQ 8848",
        "Tel:5551234",
        "138 1234 5678 水果",
        "138-1234-5678",
        fullwidth("13812345678"),
        "mail me a@b",
        "電話 1234",
    ],
)
def test_contact_details_are_refused(name: str) -> None:
    assert refusal(name).code == "name_contact_details"


def test_a_short_digit_run_is_fine() -> None:
    assert check("Room 101 咖啡 2024") == "Room 101 咖啡 2024"


def test_rules_can_be_switched_off() -> None:
    lenient = NameChecker(
        NamingRules(restricted=(), refuse_urls=False, refuse_contact_details=False, max_digit_run=6)
    )
    for name in ("abc.com", "wx: abc123", "13812345678", "新华社"):
        assert lenient.check(name, category="business", max_chars=MAX_CHARS) == name


@pytest.mark.parametrize("name", ["", "   ", "x" * (MAX_CHARS + 1), "abc\ndef", "a\x00b", "!!!"])
def test_invalid_names(name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check(name)
    assert caught.value.code == "name_invalid"


def test_the_cleaned_name_is_trimmed_and_composed() -> None:
    assert check("  e\N{COMBINING ACUTE ACCENT}cole  ") == "école"
    assert check("x" * MAX_CHARS) == "x" * MAX_CHARS


def test_a_term_with_no_letter_or_digit_is_a_pack_error() -> None:
    group = RestrictedTerms(what="nothing", terms=("!!",))
    with pytest.raises(ValueError, match="no letter or digit"):
        NameChecker(
            NamingRules(
                restricted=(group,), refuse_urls=True, refuse_contact_details=True, max_digit_run=6
            )
        )


def test_name_keys_collide_for_the_same_name_written_differently() -> None:
    assert name_key("新闻 " + fullwidth("ABC")) == name_key("新聞abc") == "新闻abc"
    assert name_key("Blue Whale") == name_key("blue-whale") == name_key("BLUE\u200bWHALE")
    assert name_key("Blue Whale") != name_key("Blue Whales")


@given(st.text(max_size=40))
def test_checking_any_name_raises_only_domain_errors(name: str) -> None:
    try:
        cleaned = check(name)
    except (InvalidInput, PolicyRefusal):
        return
    assert 0 < len(cleaned) <= MAX_CHARS
    assert name_key(cleaned)


def test_a_few_hundred_terms_check_quickly() -> None:
    terms = (*(f"term{n:03d}" for n in range(300)), "新华社")
    many = NameChecker(
        NamingRules(
            restricted=(RestrictedTerms(what="tests", terms=terms),),
            refuse_urls=True,
            refuse_contact_details=True,
            max_digit_run=6,
        )
    )
    assert many.check("上海咖啡馆", category="business", max_chars=MAX_CHARS) == "上海咖啡馆"
    with pytest.raises(PolicyRefusal):
        many.check("Term 299 粉丝", category="business", max_chars=MAX_CHARS)


@pytest.mark.parametrize("name", ["Gavin Newsom", "Newsletter club", "Cctvfan", "Xinhuanet fans"])
def test_latin_terms_match_whole_words_only(name: str) -> None:
    assert check(name) == name


@pytest.mark.parametrize("name", ["Good News", "news-daily", "N.E.W.S", "我爱news", "CCTV5"])
def test_latin_terms_as_words_of_their_own_are_refused(name: str) -> None:
    assert refusal(name).code == "name_restricted"


def test_without_a_category_every_reserved_term_is_refused() -> None:
    """A person's display name or a group's title: no category allows a reserved term."""
    with pytest.raises(PolicyRefusal) as caught:
        CHECKER.refuse("新华社读者", category=None)
    assert caught.value.code == "name_restricted"
    CHECKER.refuse("新华社读者", category="news")


def test_descriptions_are_held_to_contacts_and_links_only() -> None:
    CHECKER.refuse_contacts("每天转载新华社的好文章")
    with pytest.raises(PolicyRefusal) as caught:
        CHECKER.refuse_contacts("加微信 wx: books2024")
    assert caught.value.code == "name_contact_details"
