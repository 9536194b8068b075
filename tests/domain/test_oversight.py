"""The auditor's pure rules: periods in the pack's time zone, handling times, the figures per
period and category, the load of each desk's queue, and statements of reasons without personal
data."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from townhall.domain import dsa
from townhall.domain.errors import InvalidInput
from townhall.domain.oversight import (
    CaseFact,
    Dated,
    Desk,
    Facts,
    Queued,
    handling,
    p90,
    parse_window,
    period_start,
    queue_load,
    stats,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR = 3_600_000


def ms(text: str, tz: ZoneInfo = SHANGHAI) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=tz).timestamp() * 1000)


def test_dates_are_whole_local_days_and_until_is_included() -> None:
    window = parse_window("2024-05-01", "2024-05-01", SHANGHAI)
    assert window.since_ms == ms("2024-05-01T00:00")
    assert window.until_ms == ms("2024-05-02T00:00")
    instant = parse_window("2024-05-01T08:30:00+00:00", None, SHANGHAI)
    assert instant.since_ms == ms("2024-05-01T16:30") and instant.until_ms is None
    for since, until, code in [
        ("May 1st", None, "date_invalid"),
        ("2024-05-02", "2024-05-01", "period_invalid"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            parse_window(since, until, SHANGHAI)
        assert refused.value.code == code


def test_periods_start_on_the_local_day_monday_and_first_of_the_month() -> None:
    late_sunday = ms("2024-05-05T23:30")  # Sunday in Shanghai, still Sunday 15:30 in UTC
    assert str(period_start(late_sunday, "day", SHANGHAI)) == "2024-05-05"
    assert str(period_start(late_sunday, "week", SHANGHAI)) == "2024-04-29"
    assert str(period_start(late_sunday, "month", SHANGHAI)) == "2024-05-01"


def test_handling_time_and_overdue() -> None:
    late = handling(opened_at=0, due_at=HOUR, decided_at=2 * HOUR, state="removed", now_ms=0)
    assert (late.handling_ms, late.decided_in_time, late.overdue) == (2 * HOUR, False, True)
    waiting = handling(opened_at=0, due_at=HOUR, decided_at=None, state="open", now_ms=2 * HOUR)
    assert (waiting.handling_ms, waiting.decided_in_time, waiting.overdue) == (None, None, True)
    assert p90([]) is None and p90([5]) == 5 and p90(list(range(1, 11))) == 9


def test_figures_count_each_record_in_its_period_and_each_of_its_categories() -> None:
    day = ms("2024-05-01T10:00")
    facts = Facts(
        cases=[
            CaseFact(day, day + HOUR, day + 2 * HOUR, "removed", ("fraud", "gambling")),
            CaseFact(day, day + HOUR, day + HOUR // 2, "approved", ("fraud",)),
            CaseFact(day, day + HOUR, None, "open", ()),
        ],
        reports=[Dated(day, ("fraud",)), Dated(day + 31 * 24 * HOUR, ("fraud",))],
        sanctions=[Dated(day, ("fraud",), "warning")],
        appeals=[Dated(day, ("fraud",), "reversed"), Dated(day, ("fraud",), "pending")],
    )
    rows = stats(
        facts, granularity="month", tz=SHANGHAI, now_ms=day + 3 * HOUR, sanction_kinds=["warning"]
    )
    by_key = {(row["period_start"], row["category"]): row for row in rows}
    fraud = by_key[("2024-05-01", "fraud")]
    assert (fraud["cases_opened"], fraud["removed"], fraud["approved"]) == (2, 1, 1)
    assert (fraud["overdue"], fraud["handling_ms_median"], fraud["handling_ms_p90"]) == (
        1,
        round(1.25 * HOUR),
        2 * HOUR,
    )
    assert (fraud["reports"], fraud["sanctions_warning"]) == (1, 1)
    assert (fraud["appeals"], fraud["reversals"]) == (2, 1)
    assert by_key[("2024-05-01", "unspecified")]["pending"] == 1
    assert by_key[("2024-05-01", "gambling")]["removed"] == 1
    assert by_key[("2024-05-01", "gambling")]["reports"] == 0
    assert by_key[("2024-05-01", "gambling")]["handling_ms_p90"] == 2 * HOUR
    assert by_key[("2024-06-01", "fraud")]["reports"] == 1
    only = stats(
        facts, granularity="day", tz=SHANGHAI, now_ms=day, sanction_kinds=[], category="gambling"
    )
    assert [row["category"] for row in only] == ["gambling"]


def test_reports_found_unfounded_count_on_their_own_line() -> None:
    day = ms("2024-05-01T10:00")
    outcomes = ["", "no_violation", "no_violation", "action_taken"]  # "": pending
    facts = Facts(
        cases=[],
        reports=[Dated(day, ("fraud",), outcome) for outcome in outcomes],
        sanctions=[],
        appeals=[],
    )
    (row,) = stats(facts, granularity="day", tz=SHANGHAI, now_ms=day, sanction_kinds=[])
    assert (row["reports"], row["reports_unfounded"]) == (2, 2)


def test_queue_load_counts_each_desk_in_the_local_week_its_entries_entered() -> None:
    monday, sunday_night = ms("2024-04-29T00:30"), ms("2024-05-05T23:30")  # one Shanghai week
    next_week = ms("2024-05-06T09:00")
    rows = queue_load(
        {
            Desk.CASES: [
                Queued(monday, decided=True, waiting=False, overdue=True),
                Queued(sunday_night, decided=False, waiting=True, overdue=True),
                Queued(next_week, decided=False, waiting=True),
            ],
            Desk.APPEALS: [Queued(sunday_night, decided=True, waiting=False)],
            Desk.APPLICATIONS: [Queued(next_week, decided=False, waiting=False)],  # withdrawn
        },
        granularity="week",
        tz=SHANGHAI,
    )
    idle = {"entered": 0, "decided": 0, "waiting": 0, "overdue": None}
    assert rows == [
        {
            "period_start": "2024-04-29",
            "cases": {"entered": 2, "decided": 1, "waiting": 1, "overdue": 2},
            "identities": idle,
            "applications": idle,
            "appeals": {"entered": 1, "decided": 1, "waiting": 0, "overdue": None},
        },
        {
            "period_start": "2024-05-06",
            "cases": {"entered": 1, "decided": 0, "waiting": 1, "overdue": 0},
            "identities": idle,
            "applications": {"entered": 1, "decided": 0, "waiting": 0, "overdue": None},
            "appeals": idle,
        },
    ]


def test_redaction_takes_out_names_numbers_and_addresses() -> None:
    text = "zhang3-4567890 (Zhang) called +86 138 0013 8000, wrote z@example.cn in case 12"
    assert dsa.redact(text, ["zhang3-4567890", "Zhang", "Al", None]) == (
        "[redacted] ([redacted]) called [redacted], wrote [redacted] in case 12"
    )


def test_sanctions_map_onto_the_databases_decisions_and_a_warning_onto_none() -> None:
    suspended = dsa.sanction_restriction("user", "suspend_updates", 5)
    assert suspended == dsa.Restriction(account=dsa.AccountDecision.SUSPENDED, ends_at=5)
    closed = dsa.sanction_restriction("public_account", "close", None)
    assert closed is not None and closed.account == dsa.AccountDecision.TERMINATED
    limited = dsa.sanction_restriction("group", "suspend_posting", 5)
    assert limited is not None and limited.provision == dsa.Provision.PARTIAL_SUSPENSION
    assert dsa.sanction_restriction("user", "warning", None) is None
    assert "warning" not in dsa.RESTRICTING_KINDS
    assert dsa.dsa_category(["gambling", "fraud"]) == "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
    assert dsa.dsa_category([]) == dsa.OTHER_CATEGORY
    assert dsa.puid(b"k" * 32, "case", 1) != dsa.puid(b"k" * 32, "sanction", 1)
    assert dsa.puid(b"k" * 32, "case", 1) == dsa.puid(b"k" * 32, "case", 1)


def test_an_automated_decision_s_facts_say_what_it_matched_against_and_not_the_text() -> None:
    reasons = [
        {"category": "fraud", "severity": "critical", "excerpt": "media 7", "how": "image_hash"},
        {"category": "fraud", "severity": "high", "excerpt": "刷单返利", "how": "text"},
    ]
    facts = dsa.screen_facts("group", "block", reasons)
    assert "the image hash bank" in facts and "the lexicon" in facts
    assert "fraud (critical)" in facts and "刷单返利" not in facts and "media 7" not in facts
