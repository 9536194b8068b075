"""Reach: unique views and forwards of a post, the thresholds that make an item "serious", and
when an author's rolling totals are escalated."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import msgspec
import orjson

DAY_MS = 86_400_000
# The author's posts an evidence snapshot of their totals freezes, most reached first: enough to
# judge what carried the author over, bounded so one snapshot stays a readable size.
EVIDENCE_POSTS_MAX = 20


class ReachRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    serious_views: int
    serious_forwards: int
    window_days: int  # per-author totals are summed over this rolling window


class Measure:
    VIEWS = "views"  # unique viewers
    FORWARDS = "forwards"  # distinct forwarders: one user forwarding 500 times is one


@dataclass(frozen=True, slots=True)
class Reach:
    views: int  # unique viewers
    forwards: int  # every forward, kept as evidence
    forwarders: int  # distinct forwarders: what the forward threshold counts
    forward_depth: int

    def counted(self, measure: str) -> int:
        return self.views if measure == Measure.VIEWS else self.forwarders

    def render(self) -> dict[str, int]:
        return {
            "views": self.views,
            "forwards": self.forwards,
            "forwarders": self.forwarders,
            "forward_depth": self.forward_depth,
        }


def threshold_of(measure: str, rules: ReachRules) -> int:
    return rules.serious_views if measure == Measure.VIEWS else rules.serious_forwards


def crossed(before: int, after: int, threshold: int) -> bool:
    """True for the one change that takes a count to the threshold or past it (inclusive)."""
    return before < threshold <= after


def day_of(ms: int) -> int:
    """The UTC day number: per-author totals are kept per day and summed over the window."""
    return ms // DAY_MS


def window_start_day(now_ms: int, window_days: int) -> int:
    """The first day the rolling per-author window counts (today is its last)."""
    return day_of(now_ms) - window_days + 1


def author_due(
    total: int, threshold: int, last_escalated_ms: int | None, now_ms: int, window_days: int
) -> bool:
    """An author's rolling total at the threshold is escalated once per window: again only when
    no escalation of that measure falls within the window any more."""
    if total < threshold:
        return False
    return last_escalated_ms is None or day_of(last_escalated_ms) < window_start_day(
        now_ms, window_days
    )


def evidence_digest(snapshot: dict[str, Any]) -> str:
    """SHA-256 over the snapshot's canonical bytes (sorted keys), so any later edit shows."""
    return hashlib.sha256(orjson.dumps(snapshot, option=orjson.OPT_SORT_KEYS)).hexdigest()
