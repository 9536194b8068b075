"""What the supervising authority's auditor reads: the period a question covers, how long each
case took against its due time, the figures per category and period (REGULATION.md, "Records"),
and the load of each review desk's queue per period. Pure: the rows come from
store/regulator.py.

Dates are read in the pack's time zone: an authority's "day" is its own local day, not UTC's.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from townhall.domain.enforcement import KINDS_BY_SUBJECT, AppealState
from townhall.domain.errors import ErrorCode, InvalidInput
from townhall.domain.review import PENDING, CaseState, Outcome

UNSPECIFIED = "unspecified"  # the category of a record that names none
# Every kind of sanction, once, in the ladder's order: the figures count each.
SANCTION_KINDS = tuple(dict.fromkeys(k for kinds in KINDS_BY_SUBJECT.values() for k in kinds))


class Granularity(StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO weeks, from Monday
    MONTH = "month"


GRANULARITIES = tuple(Granularity)


@dataclass(frozen=True, slots=True)
class Window:
    """A period in ms since the epoch: `since` inclusive, `until` exclusive; None is open."""

    since_ms: int | None = None
    until_ms: int | None = None

    def render(self, tz: ZoneInfo) -> dict[str, str | None]:
        return {"since": _iso(self.since_ms, tz), "until": _iso(self.until_ms, tz)}


def parse_window(since: str | None, until: str | None, tz: ZoneInfo) -> Window:
    """`since` and `until` as ISO dates (`2024-05-01`, whole days, `until` included) or ISO
    date-times (an instant; without an offset, in the pack's zone)."""
    window = Window(
        None if since is None else _bound(since, "since", tz, end=False),
        None if until is None else _bound(until, "until", tz, end=True),
    )
    since_ms, until_ms = window.since_ms, window.until_ms
    if since_ms is not None and until_ms is not None and since_ms >= until_ms:
        raise InvalidInput("since must come before until", code=ErrorCode.PERIOD_INVALID)
    return window


# What a period may name: nothing Townhall holds is older, and every day up to this one can be
# rendered in any zone (Python's dates end at 9999-12-31).
EARLIEST = datetime(1969, 12, 31, tzinfo=UTC)  # 1970-01-01 in every zone
LATEST = datetime(9999, 1, 1, tzinfo=UTC)


def _bound(text: str, name: str, tz: ZoneInfo, *, end: bool) -> int:
    text = text.strip()
    try:
        if len(text) == 10:  # a date: the whole day counts, so `until` ends at the next midnight
            day = date.fromisoformat(text) + timedelta(days=1 if end else 0)
            moment = datetime.combine(day, time(), tzinfo=tz)
        else:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=tz)
        in_range = EARLIEST <= moment <= LATEST
    except (ValueError, OverflowError) as exc:
        raise InvalidInput(
            f"{name} must be an ISO date (2024-05-01) or date-time", code=ErrorCode.DATE_INVALID
        ) from exc
    if not in_range:
        raise InvalidInput(
            f"{name} must be between 1970-01-01 and 9998-12-31", code=ErrorCode.DATE_INVALID
        )
    return int(moment.timestamp() * 1000)


def _iso(ms: int | None, tz: ZoneInfo) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz).isoformat(timespec="seconds")


def utc_date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


def period_start(ms: int, granularity: str, tz: ZoneInfo) -> date:
    day = datetime.fromtimestamp(ms / 1000, tz).date()
    if granularity == Granularity.WEEK:
        return day - timedelta(days=day.weekday())
    if granularity == Granularity.MONTH:
        return day.replace(day=1)
    return day


# Handling time -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Handling:
    handling_ms: int | None  # opened to decided; None while pending
    decided_in_time: bool | None  # decided by its due time; None while pending
    overdue: bool  # pending past its due time, or decided after it


def handling(
    *, opened_at: int, due_at: int, decided_at: int | None, state: str, now_ms: int
) -> Handling:
    if state in PENDING or decided_at is None:
        return Handling(None, None, due_at < now_ms)
    in_time = decided_at <= due_at
    return Handling(decided_at - opened_at, in_time, not in_time)


def p90(values: Sequence[int]) -> int | None:
    """Nearest rank: the smallest value at least 90 % of the values do not exceed."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def middle(values: Sequence[int]) -> int | None:
    return None if not values else round(median(values))


# Figures per category and period ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseFact:
    opened_at: int
    due_at: int
    decided_at: int | None
    state: str
    categories: tuple[str, ...]

    def timing(self, now_ms: int) -> Handling:
        return handling(
            opened_at=self.opened_at,
            due_at=self.due_at,
            decided_at=self.decided_at,
            state=self.state,
            now_ms=now_ms,
        )


@dataclass(frozen=True, slots=True)
class Dated:
    """A report, a sanction or an appeal: when it began, its categories, what kind it is."""

    at: int
    categories: tuple[str, ...]
    kind: str = ""  # a sanction's kind, an appeal's state, a decided report's outcome


@dataclass(frozen=True, slots=True)
class Facts:
    cases: Sequence[CaseFact]
    reports: Sequence[Dated]
    sanctions: Sequence[Dated]
    appeals: Sequence[Dated]


_Key = tuple[date, str]


def stats(
    facts: Facts,
    *,
    granularity: str,
    tz: ZoneInfo,
    now_ms: int,
    sanction_kinds: Sequence[str],
    category: str | None = None,
) -> list[dict[str, Any]]:
    """One row per period and category. Each row counts what began in its period — cases
    opened, reports filed, sanctions applied, appeals lodged — with what has become of them
    since; a record of several categories counts in each. A report decided unfounded counts
    in `reports_unfounded` instead of `reports`: a flood of baseless reports is not read as
    harm found."""
    rows: defaultdict[_Key, Counter[str]] = defaultdict(Counter)
    handled: defaultdict[_Key, list[int]] = defaultdict(list)
    for case in facts.cases:
        for key in _keys(case.opened_at, case.categories, granularity, tz, category):
            _count_case(rows[key], handled[key], case, now_ms)
    for report in facts.reports:
        line = "reports_unfounded" if report.kind == Outcome.NO_VIOLATION else "reports"
        for key in _keys(report.at, report.categories, granularity, tz, category):
            rows[key][line] += 1
    for sanction in facts.sanctions:
        for key in _keys(sanction.at, sanction.categories, granularity, tz, category):
            rows[key]["sanctions"] += 1
            rows[key][f"sanctions_{sanction.kind}"] += 1
    for appeal in facts.appeals:
        for key in _keys(appeal.at, appeal.categories, granularity, tz, category):
            rows[key]["appeals"] += 1
            rows[key]["reversals"] += appeal.kind == AppealState.REVERSED
    return [_row(key, rows[key], handled[key], sanction_kinds) for key in sorted(rows)]


def _keys(
    at: int, categories: Iterable[str], granularity: str, tz: ZoneInfo, only: str | None
) -> list[_Key]:
    start = period_start(at, granularity, tz)
    names = sorted(set(categories)) or [UNSPECIFIED]
    return [(start, name) for name in names if only is None or name == only]


def _count_case(counts: Counter[str], handled: list[int], case: CaseFact, now_ms: int) -> None:
    counts["cases_opened"] += 1
    state = case.state if case.state not in PENDING else "pending"
    counts[state] += 1
    timing = case.timing(now_ms)
    counts["overdue"] += timing.overdue
    if timing.handling_ms is not None:
        handled.append(timing.handling_ms)


def _row(
    key: _Key, counts: Counter[str], handled: list[int], kinds: Sequence[str]
) -> dict[str, Any]:
    start, category = key
    row: dict[str, Any] = {"period_start": start.isoformat(), "category": category}
    decided = (CaseState.APPROVED, CaseState.REMOVED, CaseState.MARKED_FALSE, CaseState.UPHELD)
    for name in ("cases_opened", *(state.value for state in decided)):
        row[name] = counts[name]  # plain str keys: JSON encoders refuse an enum as a key
    row["pending"] = counts["pending"]
    row["overdue"] = counts["overdue"]
    row["handling_ms_median"] = middle(handled)
    row["handling_ms_p90"] = p90(handled)
    row["reports"] = counts["reports"]
    row["reports_unfounded"] = counts["reports_unfounded"]
    row["sanctions"] = counts["sanctions"]
    for kind in kinds:
        row[f"sanctions_{kind}"] = counts[f"sanctions_{kind}"]
    row["appeals"] = counts["appeals"]
    row["reversals"] = counts["reversals"]
    return row


def split_categories(names: str | None) -> tuple[str, ...]:
    return tuple(name for name in (names or "").split(",") if name)


# The load of each desk's queue per period ----------------------------------------------------


class Desk(StrEnum):
    """The console's review desks, each working one queue."""

    CASES = "cases"  # content: held, flagged, reported and escalated
    IDENTITIES = "identities"  # real names sent to a reviewer
    APPLICATIONS = "applications"  # public accounts applied for
    APPEALS = "appeals"


# The desks whose entries fall due: content cases, by the pack's `review.service_hours`. The
# packs set no time for deciding an identity, an application or an appeal.
DUE_DESKS = frozenset({Desk.CASES})
LOAD = ("entered", "decided", "waiting")


@dataclass(frozen=True, slots=True)
class Queued:
    """An entry of a desk's queue: when it entered, whether a reviewer has decided it, whether it
    still waits, and whether it ran (or runs) past its due time."""

    at: int
    decided: bool
    waiting: bool
    overdue: bool = False  # always, on a desk whose entries never fall due


def queue_load(
    entries: Mapping[Desk, Iterable[Queued]], *, granularity: str, tz: ZoneInfo
) -> list[dict[str, Any]]:
    """One row per period in which anything entered a queue, oldest first: for every desk, how
    many entries entered it in the period, how many of those have been decided since, how many
    still wait, and how many were or are overdue (None for a desk whose entries never fall
    due). An entry that left unanswered (its applicant gone) is neither decided nor waiting."""
    tallies: defaultdict[date, Counter[tuple[Desk, str]]] = defaultdict(Counter)
    for desk, queued in entries.items():
        for entry in queued:
            tally = tallies[period_start(entry.at, granularity, tz)]
            tally[desk, "entered"] += 1
            tally[desk, "decided"] += entry.decided
            tally[desk, "waiting"] += entry.waiting
            tally[desk, "overdue"] += entry.overdue
    return [_load_row(start, tallies[start]) for start in sorted(tallies)]


def _load_row(start: date, tally: Counter[tuple[Desk, str]]) -> dict[str, Any]:
    row: dict[str, Any] = {"period_start": start.isoformat()}
    for desk in Desk:
        load: dict[str, int | None] = {name: tally[desk, name] for name in LOAD}
        load["overdue"] = tally[desk, "overdue"] if desk in DUE_DESKS else None
        row[desk.value] = load  # plain str keys: JSON encoders refuse an enum as a key
    return row
