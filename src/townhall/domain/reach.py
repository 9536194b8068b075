"""Reach: unique views and forwards of a post, the thresholds that make an item "serious"."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
import orjson

DAY_MS = 86_400_000


class ReachRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    serious_views: int
    serious_forwards: int
    window_days: int  # per-author totals are summed over this rolling window


class Measure:
    VIEWS = "views"
    FORWARDS = "forwards"


def crossed(before: int, after: int, threshold: int) -> bool:
    """True for the one change that takes a count to the threshold or past it (inclusive)."""
    return before < threshold <= after


def day_of(ms: int) -> int:
    """The UTC day number: per-author totals are kept per day and summed over the window."""
    return ms // DAY_MS


def evidence_digest(snapshot: dict[str, Any]) -> str:
    """SHA-256 over the snapshot's canonical bytes (sorted keys), so any later edit shows."""
    return hashlib.sha256(orjson.dumps(snapshot, option=orjson.OPT_SORT_KEYS)).hexdigest()
