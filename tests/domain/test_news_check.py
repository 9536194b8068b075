"""The current-affairs check: weighted patterns and terms over the folded text, the reasons a
post that reads like news is held for, the classifier's say, and the section checked by key."""

from __future__ import annotations

import pytest

from townhall.domain.moderation import Decision, Reason, Verdict
from townhall.domain.news_check import (
    CLASSIFIER,
    PATTERN,
    TERM,
    UNLICENSED_NEWS,
    NewsCheckRules,
    NewsClassifier,
    NewsDetector,
    NewsPattern,
    Signal,
    check_rules,
    classifier_signal,
    held_for_news,
    hold_reasons,
)
from townhall.domain.public_accounts import SourcePost, news_check_applies
from townhall.packs import load_pack

RULES = NewsCheckRules(
    enabled=True,
    hold_at=3,
    severity="medium",
    terms=("记者", "发言人", "reuters"),
    patterns=(
        NewsPattern("wire_byline", r"新华社[^\s,。]{0,12}?\d{1,2}月\d{1,2}日电", 3),
        NewsPattern("reporter_learned", r"记者[^,。]{0,25}?获悉", 2),
        NewsPattern("wire_byline_en", r"\((?:reuters|xinhua)\)\s*-{1,2}", 3),
    ),
)
DETECTOR = NewsDetector(RULES)
CN_2014 = load_pack("cn-2014").public_accounts


def weight(text: str, detector: NewsDetector = DETECTOR) -> int:
    return sum(signal.weight for signal in detector.signals(text))


def test_a_wire_byline_is_found_in_full_width_and_traditional_disguise() -> None:
    text = "竹編博覽會開幕\n新華社杭州\uff15月\uff13日電\uff08記者 周文瀾\uff09博覽會\uff13日開幕。"
    signals = DETECTOR.signals(text)
    assert [(s.how, s.name, s.weight) for s in signals] == [
        (PATTERN, "wire_byline", 3),
        (TERM, "记者", 1),
    ]
    # The excerpt is the author's own text, as written.
    assert signals[0].excerpt == "新華社杭州\uff15月\uff13日電"
    assert signals[1].excerpt == "記者"


def test_an_english_wire_byline_is_found_whatever_its_case() -> None:
    (pattern, term) = DETECTOR.signals("Port strike\nROTTERDAM, June 12 (REUTERS) - Dockers ...")
    assert (pattern.name, pattern.excerpt) == ("wire_byline_en", "(REUTERS) -")
    assert (term.name, term.excerpt) == ("reuters", "REUTERS")


def test_each_term_counts_once_however_often_it_appears() -> None:
    assert weight("记者问记者,记者答记者") == 1


def test_a_pattern_counts_once_however_often_it_matches() -> None:
    assert weight("记者从A获悉,又从B获悉") == 2 + 1  # the pattern once, and 记者


def test_the_signals_weigh_against_hold_at() -> None:
    below = DETECTOR.signals("记者从省教育厅获悉")  # pattern 2 + term 1 = 3: held
    assert sum(s.weight for s in below) == 3
    reasons = hold_reasons(below, RULES)
    assert [(r.category, r.severity, r.term, r.how) for r in reasons] == [
        (UNLICENSED_NEWS, "medium", "reporter_learned", PATTERN),
        (UNLICENSED_NEWS, "medium", "记者", TERM),
    ]
    assert hold_reasons(DETECTOR.signals("小时候想当记者"), RULES) == ()


def test_ordinary_commentary_that_mentions_the_news_is_not_held() -> None:
    text = "看了一条新闻,想说几句\n昨天刷到一条新闻,评论区吵翻了。我想说,效率不是唯一的价值。"
    assert hold_reasons(DETECTOR.signals(text), RULES) == ()


def test_a_classifier_score_at_its_threshold_is_a_signal() -> None:
    rule = NewsClassifier(name="news_zh", threshold=0.8, weight=3, score="news")
    assert classifier_signal(rule, {"news": 0.79}) is None
    assert classifier_signal(rule, {"other": 0.99}) is None
    assert classifier_signal(rule, {"news": 0.8}) == Signal(CLASSIFIER, "news_zh 0.80", 3, "")
    unnamed = NewsClassifier(name="news_zh", threshold=0.5, weight=1)
    assert classifier_signal(unnamed, {"": 0.6}) is not None


def test_a_post_held_for_news_keeps_the_content_checks_reasons() -> None:
    news = (Reason(UNLICENSED_NEWS, "medium", "wire_byline", "新华社北京5月3日电", PATTERN),)
    gambling = Reason("gambling", "medium", "百家乐", "百家乐", "text")
    assert held_for_news(Verdict(Decision.ALLOW), news) == Verdict(Decision.HOLD, news)
    assert held_for_news(Verdict(Decision.FLAG, (gambling,)), news) == Verdict(
        Decision.HOLD, (gambling, *news)
    )
    assert held_for_news(Verdict(Decision.FLAG, (gambling,)), ()).decision == Decision.FLAG
    assert held_for_news(Verdict(Decision.HOLD), news).categories == [UNLICENSED_NEWS]


@pytest.mark.parametrize(
    ("entitlement", "content_class", "source_class", "applies"),
    [
        ("none", "commentary", None, True),
        ("none", "culture", "culture", True),  # a re-post of anything is read too
        ("repost", "commentary", None, False),
        ("originate", "commentary", None, False),
        ("repost", "news", "news", False),  # a news re-post the gate let through
    ],
)
def test_only_posts_of_accounts_without_entitlement_are_read(
    entitlement: str, content_class: str, source_class: str | None, applies: bool
) -> None:
    source = None if source_class is None else SourcePost(1, source_class, "originate")
    assert (
        news_check_applies(
            entitlement=entitlement, content_class=content_class, source=source, rules=CN_2014
        )
        is applies
    )


def test_nothing_is_read_where_the_pack_turns_the_check_off() -> None:
    eu = load_pack("eu-dsa").public_accounts
    assert not news_check_applies(
        entitlement="none", content_class="commentary", source=None, rules=eu
    )


@pytest.mark.parametrize(
    "text",
    [
        "新华社北京9月21日电 国家文物局与瓦尔多利亚文化部21日签署文化遗产保护合作协议。",
        "据新华社报道,全国铁路暑运7月1日启动,预计发送旅客8.6亿人次。",
        "记者从省教育厅获悉,今年全省将新建公办幼儿园200所,新增学位6万个。",
        "外交部发言人在例行记者会上表示,中方欢迎文化周在福州举办。",
        "国务院办公厅近日印发《关于发展银发经济的意见》,提出26项举措。",
        "据青禾市公安局交警支队通报,一男子醉酒驾驶撞上护栏,已被依法采取强制措施。",
        "BEIJING, May 3 (Xinhua) -- Valdoria held parliamentary elections on Sunday.",
        "(Reuters) - Northlos's central bank raised its benchmark rate on Thursday.",
        "A spokesperson for the Ministry of Foreign Affairs said on Tuesday that talks go on.",
    ],
)
def test_the_default_pack_holds_wire_copy_and_official_sources(text: str) -> None:
    rules = CN_2014.news_check
    assert hold_reasons(NewsDetector(rules).signals(text), rules) != ()


@pytest.mark.parametrize(
    "text",
    [
        "五花肉切块冷水下锅焯水,小火炖一个小时,最后大火收汁。",
        "最近读完一位老记者的回忆录,写得最动人的是他对职业操守的坚持。",
        "昨天刷到一条新闻,说外卖骑手因为超时被罚款。我想说,效率不是唯一的价值。",
        "我们的第二家门店将于本周六开业,前一百位顾客免费领取奶茶。",
        "Rewatching Spotlight, I was struck by how unglamorous journalism looks.",
        "I read about the new bridge this week. I hope the city keeps the old ferry running.",
    ],
)
def test_the_default_pack_lets_ordinary_posts_go_out(text: str) -> None:
    rules = CN_2014.news_check
    assert hold_reasons(NewsDetector(rules).signals(text), rules) == ()


def rules_with(**changes: object) -> NewsCheckRules:
    fields = {
        "enabled": True,
        "severity": "medium",
        "patterns": (NewsPattern("byline", "新华社"),),
        **changes,
    }
    return NewsCheckRules(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rules", "problem"),
    [
        (rules_with(patterns=()), "public_accounts.news_check: enabled, but it has no"),
        (rules_with(severity=None), "public_accounts.news_check.severity: needed"),
        (
            rules_with(patterns=(NewsPattern("byline", "新华社("),)),
            "public_accounts.news_check.patterns[0].pattern: not a regular expression",
        ),
        (
            rules_with(patterns=(NewsPattern("a", "新华社"), NewsPattern("b", "记者|"))),
            "public_accounts.news_check.patterns[1].pattern: matches the empty text",
        ),
        (
            rules_with(patterns=(NewsPattern("byline", "\uff08记者"),)),
            "public_accounts.news_check.patterns[0].pattern: '\uff08' never occurs in folded text; "
            "write '\\\\('",
        ),
        (
            rules_with(patterns=(NewsPattern("byline", "新華社"),)),
            "public_accounts.news_check.patterns[0].pattern: '華' never occurs",
        ),
        (
            rules_with(patterns=(NewsPattern("x", "新华社"), NewsPattern("x", "记者"))),
            "public_accounts.news_check.patterns[1].name: 'x' is used twice",
        ),
        (rules_with(terms=("记者", "。")), "public_accounts.news_check.terms[1]: "),
    ],
)
def test_a_bad_section_is_named_by_its_key(rules: NewsCheckRules, problem: str) -> None:
    found = check_rules(rules)
    assert found is not None
    assert found.startswith(problem)


def test_a_section_left_off_needs_nothing_else() -> None:
    assert check_rules(NewsCheckRules()) is None
    assert check_rules(rules_with(patterns=(), classifier=NewsClassifier("m", 0.5, 3))) is None
