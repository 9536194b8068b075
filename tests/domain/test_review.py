"""Review rules without a database: how urgent a case is, when it falls due, how long a reporter
of unfounded reports waits, and a pack's review section checked with the bad key named."""

from __future__ import annotations

import msgspec
import pytest

from townhall.domain.errors import InvalidInput
from townhall.domain.review import (
    REPORTS_COUNTED,
    CaseState,
    Correction,
    Outcome,
    ReporterLimit,
    ReviewRules,
    Source,
    Standing,
    check_finding,
    check_rules,
    due_at,
    graver,
    outcome_of,
    priority,
    reporter_wait_ms,
    severity_rank,
)
from townhall.packs import load_pack

PACK = load_pack("cn-2014")
RULES = PACK.review
CATEGORIES = PACK.moderation.categories
SEVERITIES = PACK.moderation.severities
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
NOW_MS = 1_700_000_000_000


def standing(
    *sources: str,
    severity: str | None = None,
    reports: int = 0,
    views: int = 0,
    forwards: int = 0,
) -> Standing:
    return Standing(
        frozenset(sources), severity_rank(severity, SEVERITIES), reports, views, forwards
    )


def rules(**changes: object) -> ReviewRules:
    return msgspec.structs.replace(RULES, **changes)


# Priority ---------------------------------------------------------------------------------------


def test_the_queue_order_is_severity_then_escalation_then_hold_then_reports() -> None:
    cases = {
        "a report": standing(Source.REPORT, reports=1),
        "a few reports": standing(Source.REPORT, reports=3),
        "a hold": standing(Source.HOLD),
        "an escalation": standing(Source.ESCALATION, views=5_000),
        "a low flag": standing(Source.FLAG, severity="low"),
        "a medium flag": standing(Source.FLAG, severity="medium"),
        "a critical flag": standing(Source.FLAG, severity="critical"),
    }
    most_urgent_first = sorted(cases, key=lambda name: priority(cases[name]), reverse=True)
    assert most_urgent_first == [
        "a critical flag",
        "a medium flag",
        "a low flag",
        "an escalation",
        "a hold",
        "a few reports",
        "a report",
    ]


def test_any_automated_match_outranks_the_widest_reach_and_a_pile_of_reports() -> None:
    viral = standing(Source.ESCALATION, views=10**9, forwards=10**9)
    piled_on = standing(Source.REPORT, reports=10_000)
    least_match = standing(Source.FLAG, severity=SEVERITIES[0])
    assert priority(least_match) > priority(viral)
    assert priority(least_match) > priority(piled_on)
    # A graver match outranks a lesser one that also spread widely.
    lesser_and_viral = standing(Source.FLAG, Source.ESCALATION, severity="low", views=10**9)
    assert priority(standing(Source.FLAG, severity="medium")) > priority(lesser_and_viral)


def test_a_widely_seen_post_outranks_the_same_post_barely_seen() -> None:
    barely = standing(Source.ESCALATION, views=5_000, forwards=0)
    widely = standing(Source.ESCALATION, views=50_000, forwards=500)
    assert priority(widely) > priority(barely)


def test_a_pile_on_of_reports_and_of_reach_stops_adding_urgency() -> None:
    many = standing(Source.REPORT, reports=REPORTS_COUNTED)
    assert priority(standing(Source.REPORT, reports=REPORTS_COUNTED + 1_000)) == priority(many)
    assert priority(standing(Source.REPORT, reports=REPORTS_COUNTED - 1)) < priority(many)
    huge = standing(Source.ESCALATION, views=10**9)
    assert priority(standing(Source.ESCALATION, views=10**12)) == priority(huge)


def test_a_case_raised_several_ways_adds_what_each_says() -> None:
    reported = standing(Source.REPORT, reports=2)
    also_held = standing(Source.REPORT, Source.HOLD, reports=2)
    also_escalated = standing(Source.REPORT, Source.HOLD, Source.ESCALATION, reports=2)
    assert priority(reported) < priority(also_held) < priority(also_escalated)
    assert priority(standing()) == 0


def test_severity_rank_and_the_graver_of_two() -> None:
    assert severity_rank(None, SEVERITIES) == 0
    assert [severity_rank(s, SEVERITIES) for s in SEVERITIES] == [1, 2, 3, 4]
    assert graver("low", "high", SEVERITIES) == "high"
    assert graver("critical", "medium", SEVERITIES) == "critical"
    assert graver(None, "low", SEVERITIES) == "low"
    assert graver("medium", None, SEVERITIES) == "medium"
    assert graver(None, None, SEVERITIES) is None


# Due times --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "hours"),
    [(Source.HOLD, 1), (Source.ESCALATION, 1), (Source.FLAG, 24), (Source.REPORT, 24)],
)
def test_a_case_is_due_within_its_sources_service_hours(source: str, hours: int) -> None:
    assert RULES.service_hours[source] == hours
    assert due_at(NOW_MS, source, RULES) == NOW_MS + hours * HOUR_MS


def test_service_hours_may_be_a_fraction_of_an_hour() -> None:
    quick = rules(service_hours={**RULES.service_hours, Source.REPORT: 0.25})
    assert due_at(NOW_MS, Source.REPORT, quick) == NOW_MS + 15 * 60_000


def test_the_reporter_learns_the_outcome_as_the_case_ends() -> None:
    assert outcome_of("open") == "pending"
    assert outcome_of("escalated") == "pending"
    assert outcome_of("approved") == "no_violation"
    assert outcome_of("removed") == "action_taken"
    assert outcome_of("upheld") == "action_taken"  # a founded report of a user, group, account


# Reporters of unfounded reports -----------------------------------------------------------------

LIMIT = ReporterLimit(unfounded=5, window_days=30, per_day=3)


def test_a_reporter_with_few_unfounded_reports_files_freely() -> None:
    busy_day = [NOW_MS - minutes * 60_000 for minutes in range(50)]
    assert reporter_wait_ms(4, busy_day, NOW_MS, LIMIT) is None


def test_a_limited_reporter_files_per_day_reports_then_waits_for_the_oldest_to_age() -> None:
    assert reporter_wait_ms(5, [], NOW_MS, LIMIT) is None
    two = [NOW_MS - 3 * HOUR_MS, NOW_MS - HOUR_MS]
    assert reporter_wait_ms(5, two, NOW_MS, LIMIT) is None
    three = [NOW_MS - 10 * HOUR_MS, NOW_MS - 3 * HOUR_MS, NOW_MS - HOUR_MS]
    # The third report before the newest two falls out of the last 24 h in 14 hours.
    assert reporter_wait_ms(5, three, NOW_MS, LIMIT) == 14 * HOUR_MS
    assert reporter_wait_ms(9, list(reversed(three)), NOW_MS, LIMIT) == 14 * HOUR_MS


def test_the_wait_counts_only_the_newest_per_day_reports() -> None:
    # Filed before the limit came on: five today, the newest three an hour or less ago.
    five = [NOW_MS - h * HOUR_MS for h in (20, 18, 1)] + [NOW_MS - 30 * 60_000, NOW_MS - 60_000]
    assert reporter_wait_ms(5, five, NOW_MS, LIMIT) == 23 * HOUR_MS


def test_a_wait_is_never_zero() -> None:
    at_the_edge = [NOW_MS - DAY_MS, NOW_MS - DAY_MS, NOW_MS - DAY_MS]
    assert reporter_wait_ms(5, at_the_edge, NOW_MS, LIMIT) == 1
    one_a_day = ReporterLimit(unfounded=1, window_days=1, per_day=1)
    assert reporter_wait_ms(1, [NOW_MS], NOW_MS, one_a_day) == DAY_MS


# The pack's review section ----------------------------------------------------------------------


def test_the_default_pack_passes() -> None:
    assert check_rules(RULES, CATEGORIES) is None
    assert set(RULES.report_reasons) == {*CATEGORIES, "other"}


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"service_hours": {"hold": 1, "flag": 24, "report": 24}}, "review.service_hours"),
        (
            {"service_hours": {"hold": 1, "flag": 24, "report": 24, "escalation": 1, "x": 1}},
            "review.service_hours",
        ),
        (
            {"service_hours": {"hold": 1, "flag": 0, "report": 24, "escalation": 1}},
            "review.service_hours.flag",
        ),
        (
            {"service_hours": {"hold": -1, "flag": 1, "report": 24, "escalation": 1}},
            "review.service_hours.hold",
        ),
        ({"report_reasons": ()}, "review.report_reasons"),
        ({"report_reasons": ("fraud", "gossip")}, "'gossip'"),
        ({"reporter_limit": ReporterLimit(0, 30, 3)}, "review.reporter_limit"),
        ({"reporter_limit": ReporterLimit(5, 0, 3)}, "review.reporter_limit"),
        ({"reporter_limit": ReporterLimit(5, 30, 0)}, "review.reporter_limit"),
        ({"claim_minutes": 0}, "claim_minutes"),
        ({"bulk_max": 0}, "bulk_max"),
        ({"max_detail_chars": 0}, "max_detail_chars"),
        ({"correction_categories": ("gossip",)}, "review.correction_categories"),
    ],
)
def test_a_bad_review_section_is_named(changes: dict[str, object], named: str) -> None:
    problem = check_rules(rules(**changes), CATEGORIES)
    assert problem is not None
    assert named in problem


def test_report_reasons_are_categories_of_the_pack_or_other() -> None:
    assert check_rules(rules(report_reasons=("other",)), CATEGORIES) is None
    only_fraud = rules(report_reasons=("fraud",), correction_categories=())
    assert check_rules(only_fraud, ("fraud",)) is None
    problem = check_rules(rules(report_reasons=("fraud",)), ("gambling",))
    assert problem is not None and "'fraud'" in problem


# Findings and corrections -----------------------------------------------------------------------

STATEMENT = Correction("经核实此为谣言")


@pytest.mark.parametrize(
    ("decision", "category", "correction", "code"),
    [
        ("approve", "rumour", None, "category_not_applicable"),
        ("escalate", "fraud", None, "category_not_applicable"),
        ("remove", "gossip", None, "category_invalid"),
        ("mark_false", None, STATEMENT, "category_required"),
        ("mark_false", "fraud", STATEMENT, "category_required"),
        ("mark_false", "rumour", None, "correction_required"),
        ("remove", "rumour", None, "correction_required"),
        ("remove", "fraud", STATEMENT, "correction_not_applicable"),
        ("remove", None, STATEMENT, "correction_not_applicable"),
        ("uphold", "rumour", STATEMENT, "correction_not_applicable"),
        ("remove", "rumour", Correction("  "), "statement_invalid"),
        ("remove", "rumour", Correction("谣" * 2001), "statement_invalid"),
    ],
)
def test_a_finding_and_its_correction_must_go_together(
    decision: str, category: str | None, correction: Correction | None, code: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_finding(decision, category, correction, RULES, CATEGORIES)
    assert refused.value.code == code


@pytest.mark.parametrize(
    ("decision", "category", "correction"),
    [
        ("approve", None, None),
        ("remove", None, None),
        ("remove", "fraud", None),
        ("uphold", "defamation", None),
        ("remove", "rumour", STATEMENT),
        ("mark_false", "rumour", Correction("不实", refuting_post_id=7)),
    ],
)
def test_findings_that_hold_together_pass(
    decision: str, category: str | None, correction: Correction | None
) -> None:
    check_finding(decision, category, correction, RULES, CATEGORIES)


def test_a_false_item_is_action_taken_for_its_reporters() -> None:
    assert outcome_of(CaseState.MARKED_FALSE) == Outcome.ACTION_TAKEN
