"""Moderation decisions: the most restrictive decision any match calls for on a surface, every
match a reason; and the pack's moderation rules checked by key."""

from __future__ import annotations

import msgspec
import pytest

from townhall.domain.lexicon import Match
from townhall.domain.moderation import (
    SURFACES,
    ClassifierRule,
    Decision,
    ImageRules,
    ModerationRules,
    Reason,
    TermRule,
    Verdict,
    check_rules,
    decide,
    image_decision,
    strictest,
    too_common_to_bank,
)

RULES = ModerationRules(
    categories=("fraud", "gambling"),
    severities=("low", "medium", "high"),
    surfaces={
        **{surface: {"low": "allow", "medium": "flag", "high": "block"} for surface in SURFACES},
        "name": {"low": "allow", "medium": "block", "high": "block"},  # a name has no queue
    },
    homophone_min_syllables=3,
    homophone_max_share=0.5,
    near_duplicate_threshold=0.7,
    near_duplicate_min_chars=30,
    images=ImageRules(31, 50, {"direct": "flag", "group": "block", "public_post": "hold"}),
    terms=(TermRule("赌博", "gambling", "high"),),
)
TEXT = "今晚赌博, 明天刷单"


def match(severity: str, start: int = 2, end: int = 4, category: str = "gambling") -> Match:
    return Match(
        term="赌博", category=category, severity=severity, start=start, end=end, how="text"
    )


def test_no_match_is_allowed_without_reasons() -> None:
    verdict = decide(TEXT, [], "direct", RULES)
    assert (verdict.decision, verdict.reasons) == (Decision.ALLOW, ())


def test_matches_that_the_surface_allows_leave_no_reasons() -> None:
    assert decide(TEXT, [match("low")], "direct", RULES).reasons == ()


@pytest.mark.parametrize(
    ("severities", "decision"),
    [
        (["medium"], Decision.FLAG),
        (["high"], Decision.BLOCK),
        (["low", "medium"], Decision.FLAG),
        (["medium", "high", "low"], Decision.BLOCK),
    ],
)
def test_the_most_restrictive_decision_wins(severities: list[str], decision: str) -> None:
    verdict = decide(TEXT, [match(s) for s in severities], "group", RULES)
    assert verdict.decision == decision
    assert len(verdict.reasons) == len(severities)


def test_each_reason_quotes_the_authors_own_text_and_says_where() -> None:
    verdict = decide(TEXT, [match("high"), match("medium", 8, 10, "fraud")], "direct", RULES)
    assert verdict.reasons == (
        Reason("gambling", "high", "赌博", "赌博", "text", 2, 4),
        Reason("fraud", "medium", "赌博", "刷单", "text", 8, 10),
    )
    for reason in verdict.reasons:
        assert reason.start is not None and reason.end is not None
        assert TEXT[reason.start : reason.end] == reason.excerpt
    assert verdict.categories == ["fraud", "gambling"]
    assert verdict.automated is True


def rules_with(**changes: object) -> ModerationRules:
    return msgspec.structs.replace(RULES, **changes)


def test_sound_rules_pass() -> None:
    assert check_rules(RULES) is None


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"categories": ()}, "moderation:"),
        ({"surfaces": {"direct": RULES.surfaces["direct"]}}, "moderation.surfaces:"),
        (
            {"surfaces": {**RULES.surfaces, "group": {"low": "allow", "medium": "flag"}}},
            "moderation.surfaces.group:",
        ),
        (
            {
                "surfaces": {
                    **RULES.surfaces,
                    "name": {"low": "quarantine", "medium": "flag", "high": "block"},
                }
            },
            "moderation.surfaces.name.low:",
        ),
        ({"terms": (TermRule("x", "gossip", "high"),)}, "moderation.terms[0]:"),
        ({"terms": (TermRule("x", "fraud", "extreme"),)}, "moderation.terms[0]:"),
        (
            {"classifiers": {"zh": ClassifierRule(threshold=1.5, severity="low")}},
            "moderation.classifiers.zh.threshold:",
        ),
        (
            {"classifiers": {"zh": ClassifierRule(threshold=0.9, severity="extreme")}},
            "moderation.classifiers.zh.severity:",
        ),
        (
            {"classifiers": {"en": ClassifierRule(0.9, "low", category="gossip")}},
            "moderation.classifiers.en.category:",
        ),
        ({"homophone_min_syllables": 1}, "moderation.homophone_min_syllables:"),
        ({"homophone_max_share": 0}, "moderation.homophone_max_share:"),
        ({"homophone_max_share": 1.5}, "moderation.homophone_max_share:"),
        ({"near_duplicate_threshold": 0}, "moderation.near_duplicate_threshold:"),
        ({"near_duplicate_threshold": 1.2}, "moderation.near_duplicate_threshold:"),
        ({"near_duplicate_min_chars": 5}, "moderation.near_duplicate_min_chars:"),
        (
            {"images": msgspec.structs.replace(RULES.images, max_distance=65)},
            "moderation.images.max_distance:",
        ),
        (
            {"images": msgspec.structs.replace(RULES.images, min_quality=101)},
            "moderation.images.min_quality:",
        ),
        (
            {"images": msgspec.structs.replace(RULES.images, on_match={"direct": "block"})},
            "moderation.images.on_match:",
        ),
        (
            {
                "images": msgspec.structs.replace(
                    RULES.images, on_match={**RULES.images.on_match, "group": "quarantine"}
                )
            },
            "moderation.images.on_match.group:",
        ),
    ],
)
def test_unsound_rules_are_named_by_key(changes: dict[str, object], named: str) -> None:
    problem = check_rules(rules_with(**changes))
    assert problem is not None and problem.startswith(named)


@pytest.mark.parametrize("decision", [Decision.FLAG, Decision.HOLD])
@pytest.mark.parametrize("severity", ["low", "medium", "high"])
def test_a_name_is_only_allowed_or_blocked(decision: str, severity: str) -> None:
    # A name is taken or refused at once: nothing could be queued or released later.
    surfaces = {**RULES.surfaces, "name": {**RULES.surfaces["name"], severity: decision}}
    problem = check_rules(rules_with(surfaces=surfaces))
    assert problem is not None and problem.startswith(f"moderation.surfaces.name.{severity}:")


@pytest.mark.parametrize("decision", [Decision.FLAG, Decision.HOLD])
def test_flag_and_hold_stay_allowed_on_content_surfaces(decision: str) -> None:
    for surface in ("direct", "group", "public_post"):
        surfaces = {**RULES.surfaces, surface: {**RULES.surfaces[surface], "low": decision}}
        assert check_rules(rules_with(surfaces=surfaces)) is None


# Images ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("surface", "opinion", "decision"),
    [
        ("group", "POSITIVE_CLASS", Decision.BLOCK),
        ("group", "INVESTIGATION_SEED", Decision.HOLD),
        ("group", "DISPUTED", Decision.HOLD),
        ("direct", "INVESTIGATION_SEED", Decision.FLAG),  # short of a block: as the pack says
        ("public_post", "POSITIVE_CLASS", Decision.HOLD),
    ],
)
def test_a_copy_of_a_hash_its_list_is_unsure_of_is_held_where_the_pack_blocks(
    surface: str, opinion: str, decision: str
) -> None:
    assert image_decision(RULES.images, surface, opinion) == decision


def test_the_strictest_of_a_text_s_and_its_images_verdicts_wins_with_all_their_reasons() -> None:
    text = Verdict(Decision.FLAG, (Reason("fraud", "medium", "刷单", "刷单", "text", 0, 2),))
    image = Verdict(Decision.HOLD, (Reason("gambling", "high", "review", "media 7", "image_hash"),))
    both = strictest(text, image)
    assert both.decision == Decision.HOLD
    assert both.reasons == (*text.reasons, *image.reasons)
    assert strictest(Verdict(Decision.ALLOW), Verdict(Decision.ALLOW)).reasons == ()
    assert strictest(Verdict(Decision.ALLOW), image) == image


@pytest.mark.parametrize(
    ("skeleton", "too_common"),
    [
        ("ok", True),
        ("hellobob", True),  # "hello bob": removing it once must not block it for everyone
        ("a" * 15, True),
        ("buycheappillsnow", False),  # 16 letters
        ("借我点钱给你", True),  # 6 characters: 12
        ("借我点钱给你好吗", False),  # 8 characters: 16
    ],
)
def test_a_short_removed_text_is_not_banked(skeleton: str, too_common: bool) -> None:
    assert too_common_to_bank(skeleton) is too_common
