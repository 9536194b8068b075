"""The enforcement ladder's pure rules: strike points that fade, the credit score and its bands,
the rung recommended next, what each sanction withholds, and the pack checks."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from townhall.domain.enforcement import (
    CAPABILITIES,
    DAY_MS,
    KINDS_BY_SUBJECT,
    MAX_DAYS,
    RUNG_ORDER,
    WITHHELD_BY_USER_SANCTION,
    Capability,
    CreditBand,
    EnforcementRules,
    Kind,
    LadderRung,
    Strike,
    SubjectType,
    band_of,
    check_rules,
    credit_score,
    decayed_points,
    recommend,
    warning_required,
)
from townhall.packs import load_pack

CN = load_pack("cn-2014").enforcement
EU = load_pack("eu-dsa").enforcement
SEVERITIES = ("low", "medium", "high", "critical")
DECAY_DAYS = CN.decay_days
NOW = 1_800_000_000_000  # ms

strikes_st = st.lists(
    st.builds(
        Strike,
        points=st.integers(min_value=0, max_value=50),
        at_ms=st.integers(min_value=NOW - 400 * DAY_MS, max_value=NOW),
    ),
    max_size=8,
)


def with_changes(rules: EnforcementRules = CN, **changes: object) -> EnforcementRules:
    return msgspec.structs.replace(rules, **changes)


def advise(points_now: float, severity: str | None = None, **options: Any) -> tuple:
    options.setdefault("rules", CN)
    options.setdefault("subject_type", SubjectType.USER)
    options.setdefault("warned_before", True)
    advice = recommend(points_now=points_now, severity=severity, **options)
    return advice.sanction, advice.days


# Strike points ------------------------------------------------------------------------------------


def test_a_strike_weighs_fully_when_fresh_and_fades_linearly_to_nothing() -> None:
    strike = Strike(points=4, at_ms=NOW)
    assert decayed_points([strike], NOW, DECAY_DAYS) == 4
    assert decayed_points([strike], NOW + DECAY_DAYS * DAY_MS // 2, DECAY_DAYS) == 2
    assert decayed_points([strike], NOW + DECAY_DAYS * DAY_MS * 3 // 4, DECAY_DAYS) == 1
    assert decayed_points([strike], NOW + DECAY_DAYS * DAY_MS - 1, DECAY_DAYS) == 0
    assert decayed_points([strike], NOW + DECAY_DAYS * DAY_MS, DECAY_DAYS) == 0
    assert decayed_points([strike], NOW + 10 * DECAY_DAYS * DAY_MS, DECAY_DAYS) == 0
    assert decayed_points([], NOW, DECAY_DAYS) == 0


def test_strikes_add_up_and_one_from_the_future_counts_in_full() -> None:
    strikes = [Strike(2, NOW), Strike(8, NOW - DECAY_DAYS * DAY_MS // 2), Strike(4, NOW + DAY_MS)]
    assert decayed_points(strikes, NOW, DECAY_DAYS) == 2 + 4 + 4
    assert decayed_points(strikes, NOW, 1) == 2 + 4  # a one-day window forgets the older one


@given(strikes_st, st.integers(0, 400 * DAY_MS), st.integers(0, 400 * DAY_MS))
def test_decayed_points_never_grow_as_time_passes(strikes: list[Strike], a: int, b: int) -> None:
    early, late = NOW + min(a, b), NOW + max(a, b)
    assert decayed_points(strikes, early, DECAY_DAYS) >= decayed_points(strikes, late, DECAY_DAYS)


@given(strikes_st, st.integers(0, 400 * DAY_MS))
def test_decayed_points_lie_between_nothing_and_the_full_points(
    strikes: list[Strike], later: int
) -> None:
    now = NOW + later
    points = decayed_points(strikes, now, DECAY_DAYS)
    assert 0 <= points <= sum(s.points for s in strikes)
    assert decayed_points(strikes, now + DECAY_DAYS * DAY_MS, DECAY_DAYS) == 0
    fresh = [Strike(s.points, now) for s in strikes]
    assert decayed_points(fresh, now, DECAY_DAYS) == sum(s.points for s in strikes)


@given(strikes_st, st.integers(0, 400 * DAY_MS))
def test_decayed_points_of_several_strikes_are_the_sum_of_each(
    strikes: list[Strike], later: int
) -> None:
    each = sum(decayed_points([s], NOW + later, DECAY_DAYS) for s in strikes)
    together = decayed_points(strikes, NOW + later, DECAY_DAYS)
    assert together == pytest.approx(each, abs=0.01 * max(1, len(strikes)))


# Credit -------------------------------------------------------------------------------------------


def test_the_credit_score_falls_by_points_and_stops_at_zero() -> None:
    assert credit_score(0, CN) == 100
    assert credit_score(4, CN) == 80
    assert credit_score(6, CN) == 70
    assert credit_score(1.24, CN) == 94  # 93.8, rounded
    assert credit_score(20, CN) == 0
    assert credit_score(1000, CN) == 0
    assert credit_score(50, with_changes(credit_per_point=0)) == 100


@pytest.mark.parametrize(
    ("score", "band", "withheld"),
    [
        (100, "good", set()),
        (80, "good", set()),
        (79, "watched", {Capability.CREATE_GROUP, Capability.APPLY_PUBLIC_ACCOUNT}),
        (60, "watched", {Capability.CREATE_GROUP, Capability.APPLY_PUBLIC_ACCOUNT}),
        (
            59,
            "poor",
            {Capability.CREATE_GROUP, Capability.APPLY_PUBLIC_ACCOUNT, Capability.SEND_GROUP},
        ),
        (
            0,
            "poor",
            {Capability.CREATE_GROUP, Capability.APPLY_PUBLIC_ACCOUNT, Capability.SEND_GROUP},
        ),
    ],
)
def test_the_band_is_the_best_one_the_score_reaches(
    score: int, band: str, withheld: set[str]
) -> None:
    reached = band_of(score, CN)
    assert (reached.name, set(reached.withheld)) == (band, withheld)


@given(st.floats(min_value=0, max_value=100, allow_nan=False), st.floats(0, 100))
def test_more_points_never_raise_the_score_or_the_band(a: float, b: float) -> None:
    fewer, more = min(a, b), max(a, b)
    assert 0 <= credit_score(more, CN) <= credit_score(fewer, CN) <= CN.credit_start
    low, high = band_of(credit_score(more, CN), CN), band_of(credit_score(fewer, CN), CN)
    assert low.min_score <= high.min_score
    assert set(high.withheld) <= set(low.withheld)


@given(st.integers(min_value=0, max_value=200))
def test_band_of_names_the_highest_band_at_or_below_the_score(score: int) -> None:
    band = band_of(score, CN)
    assert band.min_score <= score
    assert all(b.min_score <= band.min_score for b in CN.credit_bands if b.min_score <= score)


# The recommended rung -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("points_now", "severity", "expected"),
    [
        (0, None, (Kind.WARNING, None)),
        (0, "medium", (Kind.WARNING, None)),
        (0, "high", (Kind.LIMIT_PUBLICATION, 7)),
        (2, "medium", (Kind.LIMIT_PUBLICATION, 7)),
        (6, "medium", (Kind.SUSPEND_UPDATES, 30)),
        (7.99, None, (Kind.LIMIT_PUBLICATION, 7)),
        (8, None, (Kind.SUSPEND_UPDATES, 30)),
        (8, "critical", (Kind.CLOSE, None)),
        (40, "low", (Kind.CLOSE, None)),
        (3, "no-such-severity", (Kind.WARNING, None)),  # an unknown severity gives no strike
    ],
)
def test_the_recommendation_is_the_highest_rung_the_points_reach(
    points_now: float, severity: str | None, expected: tuple[str, int | None]
) -> None:
    assert advise(points_now, severity) == expected


def test_the_recommendation_reports_its_points_and_why() -> None:
    advice = recommend(
        subject_type=SubjectType.USER,
        points_now=2.5,
        severity="medium",
        warned_before=True,
        rules=CN,
    )
    assert (advice.points_now, advice.points_after) == (2.5, 4.5)
    assert "4.5 strike points" in advice.why
    assert "limit_publication" in advice.why


def test_below_the_first_rung_the_first_rung_is_recommended() -> None:
    rules = with_changes(
        ladder=(LadderRung(2, Kind.WARNING), LadderRung(5, Kind.LIMIT_PUBLICATION, 3))
    )
    assert advise(0, rules=rules) == (Kind.WARNING, None)
    assert advise(4, "low", rules=rules) == (Kind.LIMIT_PUBLICATION, 3)


@given(
    st.floats(min_value=0, max_value=60, allow_nan=False),
    st.floats(min_value=0, max_value=60, allow_nan=False),
    st.sampled_from([None, *SEVERITIES]),
)
def test_the_recommendation_only_climbs_as_points_grow(
    a: float, b: float, severity: str | None
) -> None:
    lower, higher = advise(min(a, b), severity), advise(max(a, b), severity)
    assert RUNG_ORDER.index(lower[0]) <= RUNG_ORDER.index(higher[0])


def test_a_pack_that_requires_a_warning_first_gives_one_to_the_never_warned() -> None:
    assert EU.require_warning_before_suspension
    never_warned = recommend(
        subject_type=SubjectType.USER,
        points_now=20,
        severity="high",
        warned_before=False,
        rules=EU,
    )
    assert (never_warned.sanction, never_warned.days) == (Kind.WARNING, None)
    assert "prior warning" in never_warned.why
    assert advise(20, "high", rules=EU) == (Kind.CLOSE, None)
    assert advise(6, "medium", rules=EU) == (Kind.SUSPEND_UPDATES, 30)
    # A limit is no suspension: it comes without a warning.
    assert advise(2, "medium", rules=EU, warned_before=False) == (Kind.LIMIT_PUBLICATION, 7)
    # The Chinese pack needs no warning first.
    assert advise(6, "medium", warned_before=False) == (Kind.SUSPEND_UPDATES, 30)
    group = advise(6, "medium", rules=EU, warned_before=False, subject_type=SubjectType.GROUP)
    assert group == (Kind.WARNING, None)


BLACKLISTING = with_changes(
    ladder=(*CN.ladder, LadderRung(min_points=30, sanction=Kind.BLACKLIST_IDENTITY))
)


@pytest.mark.parametrize(
    ("points_now", "public_account", "group"),
    [
        (0, (Kind.WARNING, None), (Kind.WARNING, None)),
        (4, (Kind.LIMIT_PUBLICATION, 7), (Kind.SUSPEND_POSTING, 7)),
        (8, (Kind.SUSPEND_UPDATES, 30), (Kind.SUSPEND_POSTING, 30)),
        (16, (Kind.CLOSE, None), (Kind.CLOSE_GROUP, None)),
        (30, (Kind.CLOSE, None), (Kind.CLOSE_GROUP, None)),
    ],
)
def test_public_accounts_and_groups_get_the_nearest_sanction_they_can_take(
    points_now: float,
    public_account: tuple[str, int | None],
    group: tuple[str, int | None],
) -> None:
    options = {"rules": BLACKLISTING}
    assert advise(points_now, subject_type=SubjectType.PUBLIC_ACCOUNT, **options) == public_account
    assert advise(points_now, subject_type=SubjectType.GROUP, **options) == group
    for subject_type, (kind, _) in (
        (SubjectType.PUBLIC_ACCOUNT, public_account),
        (SubjectType.GROUP, group),
    ):
        assert kind in KINDS_BY_SUBJECT[subject_type]


def test_a_limit_without_days_suspends_a_group_for_a_week() -> None:
    rules = with_changes(
        ladder=(LadderRung(0, Kind.WARNING), LadderRung(4, Kind.LIMIT_PUBLICATION))
    )
    assert advise(4, subject_type=SubjectType.GROUP, rules=rules) == (Kind.SUSPEND_POSTING, 7)
    assert advise(4, rules=rules) == (Kind.LIMIT_PUBLICATION, None)


def test_a_warning_is_required_only_before_a_suspension_and_only_where_the_pack_says() -> None:
    for kind in (Kind.SUSPEND_UPDATES, Kind.CLOSE, Kind.SUSPEND_POSTING, Kind.CLOSE_GROUP):
        assert warning_required(kind, False, EU)
        assert not warning_required(kind, True, EU)
        assert not warning_required(kind, False, CN)
    for kind in (Kind.WARNING, Kind.LIMIT_PUBLICATION, Kind.REMOVE_RIGHTS):
        assert not warning_required(kind, False, EU)


# What each sanction withholds ---------------------------------------------------------------------


def test_each_user_sanction_withholds_what_it_names_and_nothing_more() -> None:
    assert WITHHELD_BY_USER_SANCTION[Kind.WARNING] == frozenset()
    limited = WITHHELD_BY_USER_SANCTION[Kind.LIMIT_PUBLICATION]
    assert Capability.SEND_DIRECT not in limited
    assert {Capability.SEND_GROUP, Capability.CREATE_GROUP, Capability.PUBLISH_POST} <= limited
    assert Capability.APPLY_PUBLIC_ACCOUNT in limited
    # A suspension stops updates; the account still opens chats, subscribes and reports.
    assert WITHHELD_BY_USER_SANCTION[Kind.SUSPEND_UPDATES] == CAPABILITIES - {Capability.INTERACT}
    for kind in (Kind.CLOSE, Kind.BLACKLIST_IDENTITY):
        assert WITHHELD_BY_USER_SANCTION[kind] == CAPABILITIES
    assert set(WITHHELD_BY_USER_SANCTION) == set(KINDS_BY_SUBJECT[SubjectType.USER])


# The pack's enforcement section -------------------------------------------------------------------


def test_the_shipped_packs_pass_their_checks() -> None:
    assert check_rules(CN, SEVERITIES) is None
    assert check_rules(EU, SEVERITIES) is None


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        (
            {"strike_points": {"low": 1, "medium": 2, "high": 4}},
            "enforcement.strike_points: must list exactly low, medium, high, critical",
        ),
        (
            {"strike_points": {"low": -1, "medium": 2, "high": 4, "critical": 8}},
            "enforcement.strike_points.low: must be >= 0",
        ),
        ({"decay_days": 0}, "enforcement.decay_days: must be >= 1"),
        ({"appeal_window_days": 0}, "enforcement.appeal_window_days: must be >= 1"),
        ({"credit_start": 0}, "enforcement.credit_start: must be >= 1"),
        ({"credit_per_point": -0.5}, "enforcement.credit_per_point: must be >= 0"),
        ({"ladder": ()}, "enforcement.ladder: lists no rung"),
        (
            {"ladder": (LadderRung(0, Kind.WARNING), LadderRung(4, Kind.SUSPEND_POSTING, 3))},
            "enforcement.ladder[1].sanction: 'suspend_posting' is not one of",
        ),
        (
            {"ladder": (LadderRung(-1, Kind.WARNING),)},
            "enforcement.ladder[0].min_points: must be >= 0",
        ),
        (
            {"ladder": (LadderRung(0, Kind.WARNING), LadderRung(8, Kind.SUSPEND_UPDATES))},
            "enforcement.ladder[1].days: a suspension needs its length",
        ),
        (
            {"ladder": (LadderRung(0, Kind.WARNING, 3),)},
            "enforcement.ladder[0].days: only",
        ),
        (
            {"ladder": (LadderRung(0, Kind.LIMIT_PUBLICATION, 0),)},
            "enforcement.ladder[0].days: only",
        ),
        (
            {"ladder": (LadderRung(0, Kind.SUSPEND_UPDATES, MAX_DAYS + 1),)},
            "enforcement.ladder[0].days: only",
        ),
        (
            {"ladder": (LadderRung(0, Kind.CLOSE, 30),)},
            "enforcement.ladder[0].days: only",
        ),
        (
            {"ladder": (LadderRung(4, Kind.LIMIT_PUBLICATION, 7), LadderRung(0, Kind.WARNING))},
            "enforcement.ladder: rungs must be in order of min_points",
        ),
        (
            {"credit_bands": (CreditBand("good", 80),)},
            "enforcement.credit_bands: needs a band with min_score 0 or less",
        ),
        (
            {"credit_bands": ()},
            "enforcement.credit_bands: needs a band with min_score 0 or less",
        ),
        (
            {"credit_bands": (CreditBand("all", 0, ("send_direct", "fly")),)},
            "enforcement.credit_bands[0].withheld: unknown 'fly'",
        ),
    ],
)
def test_a_bad_enforcement_section_is_named_by_its_key(
    changes: dict[str, object], problem: str
) -> None:
    found = check_rules(with_changes(**changes), SEVERITIES)
    assert found is not None
    assert found.startswith(problem), found


def test_the_longest_suspension_a_rung_may_name_is_accepted() -> None:
    rules = with_changes(
        ladder=(LadderRung(0, Kind.WARNING), LadderRung(1, Kind.SUSPEND_UPDATES, MAX_DAYS))
    )
    assert check_rules(rules, SEVERITIES) is None
