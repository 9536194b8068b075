"""Moderation decisions: what a lexicon match does on each surface, and the reasons recorded."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import msgspec

from townhall.domain.hash_lists import Opinion
from townhall.domain.lexicon import Homophones, Match
from townhall.domain.near_duplicates import CHUNK_CHARS


class Decision:
    ALLOW = "allow"
    FLAG = "flag"  # delivered, and queued for review
    HOLD = "hold"  # delivered only once approved
    BLOCK = "block"  # refused: nothing delivered


# Least to most restrictive: the most restrictive decision of any match wins.
DECISION_ORDER = (Decision.ALLOW, Decision.FLAG, Decision.HOLD, Decision.BLOCK)


class Surface(StrEnum):
    DIRECT = "direct"
    GROUP = "group"
    PUBLIC_POST = "public_post"
    NAME = "name"  # public-account names and descriptions, display names


SURFACES = (Surface.DIRECT, Surface.GROUP, Surface.PUBLIC_POST, Surface.NAME)
# Where images are attached: names carry none.
IMAGE_SURFACES = (Surface.DIRECT, Surface.GROUP, Surface.PUBLIC_POST)
IMAGE_MATCH = "image_hash"  # a reason's `how` when an image is a copy of a banked one
# A hash list's opinions short of certainty: a copy of such a hash is held for a reviewer where
# the pack would block it (a hash to verify, or one the list's sources disagree on).
IMAGE_HOLD_OPINIONS = frozenset({Opinion.INVESTIGATION_SEED, Opinion.DISPUTED})
# Past this many bits unrelated photos begin to match (PDQ suggests 31; unrelated hashes lie
# some 128 bits apart, but real photos less evenly than random bits).
MAX_IMAGE_DISTANCE = 64


class RescanState(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # read, never stored: the process running it stopped beating


# A running rescan writes its progress at least this often (a page of posts takes seconds).
RESCAN_HEARTBEAT_MS = 60_000


def rescan_state(stored: str, heartbeat_at: int, now_ms: int) -> RescanState:
    """A run still marked running whose process stopped writing was interrupted."""
    if stored == RescanState.RUNNING and now_ms - heartbeat_at > RESCAN_HEARTBEAT_MS:
        return RescanState.INTERRUPTED
    return RescanState(stored)


class TermRule(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    text: str
    category: str
    severity: str


class ClassifierRule(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """When a classifier's score flags a delivered text for review."""

    threshold: float  # a score at or above it flags
    severity: str  # the flag's severity in the review queue
    category: str | None = None  # what a classifier with one unnamed score measures
    surfaces: tuple[str, ...] = ("group", "public_post")  # where it scores what was delivered


class ImageRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """When an image attached to a message or post is a copy of one in the image hash bank."""

    # PDQ bits an image's hash may differ from a banked one's and still be its copy.
    max_distance: int
    # PDQ quality (0-100) below which an image is too flat to tell copies from chance: it is
    # neither looked up nor banked.
    min_quality: int
    # Surface (direct, group, public_post) -> what a copy does there. A hash its list holds as
    # INVESTIGATION_SEED or DISPUTED is held where this says block (IMAGE_HOLD_OPINIONS).
    on_match: dict[str, str]


class ModerationRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    categories: tuple[str, ...]
    severities: tuple[str, ...]  # least severe first
    surfaces: dict[str, dict[str, str]]  # surface -> severity -> decision
    # Hanzi terms of this many characters or more also match written partly with homophones,
    # at most this share of their characters replaced.
    homophone_min_syllables: int
    homophone_max_share: float
    # A text at least this long (normalized) whose shingles are this alike (estimated Jaccard)
    # to a removed text's is blocked like an exact copy.
    near_duplicate_threshold: float
    near_duplicate_min_chars: int
    images: ImageRules
    terms: tuple[TermRule, ...] = ()
    allowlist: tuple[str, ...] = ()
    classifiers: dict[str, ClassifierRule] = {}  # classifier name -> rule; unnamed: off

    @property
    def homophones(self) -> Homophones:
        return Homophones(self.homophone_min_syllables, self.homophone_max_share)


@dataclass(frozen=True, slots=True)
class Reason:
    """One ground of a decision, as the statement of reasons records it."""

    category: str
    severity: str
    term: str
    excerpt: str  # what matched, in the author's own text
    how: str  # a lexicon Match's how; "hash" or "near_duplicate" for a removed text's copy
    # Where the excerpt lies in the text judged (code points); None when the ground is not a
    # place in the text (a copy of removed text, a classifier's score).
    start: int | None = None
    end: int | None = None

    def render(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "severity": self.severity,
            "term": self.term,
            "excerpt": self.excerpt,
            "how": self.how,
            "start": self.start,
            "end": self.end,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: str
    reasons: tuple[Reason, ...] = ()
    automated: bool = True

    @property
    def categories(self) -> list[str]:
        return sorted({reason.category for reason in self.reasons})


ALLOWED = Verdict(Decision.ALLOW)


def strictest(first: Verdict, *others: Verdict) -> Verdict:
    """One verdict of several checks of the same content (its text, its images): the most
    restrictive decision, with every reason of those that did not allow it."""
    verdicts = (first, *others)
    decision = max((verdict.decision for verdict in verdicts), key=DECISION_ORDER.index)
    if decision == Decision.ALLOW:
        return ALLOWED
    shown = [verdict for verdict in verdicts if verdict.decision != Decision.ALLOW]
    return Verdict(
        decision,
        tuple(reason for verdict in shown for reason in verdict.reasons),
        automated=all(verdict.automated for verdict in shown),
    )


def image_decision(rules: ImageRules, surface: str, opinion: str) -> str:
    """What a copy of a banked image does on the surface, by what its list thinks of it."""
    decision = rules.on_match[surface]
    if decision == Decision.BLOCK and opinion in IMAGE_HOLD_OPINIONS:
        return Decision.HOLD
    return decision


# A removed text shorter than this is not banked: removing "hello bob" or "ok" in one context
# must not block it for everyone. A wide (CJK) character holds about a word: it counts two, so
# 16 Latin letters or digits, or 8 Chinese characters.
MIN_BANKED_WIDTH = 16


def too_common_to_bank(skeleton: str) -> bool:
    """Whether a removed text's skeleton is too short to block everywhere it is said."""
    width = sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in skeleton)
    return width < MIN_BANKED_WIDTH


def decide(text: str, matches: Sequence[Match], surface: str, rules: ModerationRules) -> Verdict:
    """The most restrictive decision any match calls for on this surface, with every match as
    a reason."""
    if not matches:
        return ALLOWED
    by_severity = rules.surfaces[surface]
    decision = max((by_severity[match.severity] for match in matches), key=DECISION_ORDER.index)
    if decision == Decision.ALLOW:
        return ALLOWED
    reasons = tuple(
        Reason(m.category, m.severity, m.term, text[m.start : m.end], m.how, m.start, m.end)
        for m in matches
    )
    return Verdict(decision, reasons)


def check_rules(rules: ModerationRules) -> str | None:
    """The first problem with a pack's moderation section, as `key: what`, or None."""
    if not rules.categories or not rules.severities:
        return "moderation: categories and severities must each list at least one name"
    if set(rules.surfaces) != set(SURFACES):
        return f"moderation.surfaces: must list exactly {', '.join(SURFACES)}"
    for surface, by_severity in rules.surfaces.items():
        if set(by_severity) != set(rules.severities):
            return f"moderation.surfaces.{surface}: must map every severity to a decision"
        for severity, decision in by_severity.items():
            if decision not in DECISION_ORDER:
                return (
                    f"moderation.surfaces.{surface}.{severity}: {decision!r} is not one of "
                    f"{', '.join(DECISION_ORDER)}"
                )
            if surface == Surface.NAME and decision not in (Decision.ALLOW, Decision.BLOCK):
                # A name is taken or refused at once: there is no content to queue or release.
                return f"moderation.surfaces.name.{severity}: a name is only allowed or blocked"
    similarity = _similarity_problem(rules) or _images_problem(rules.images)
    if similarity is not None:
        return similarity
    for position, term in enumerate(rules.terms):
        if term.category not in rules.categories or term.severity not in rules.severities:
            return f"moderation.terms[{position}]: unknown category or severity"
    for name, rule in rules.classifiers.items():
        if not 0 < rule.threshold <= 1:
            return f"moderation.classifiers.{name}.threshold: must be in (0, 1]"
        if rule.severity not in rules.severities:
            return f"moderation.classifiers.{name}.severity: unknown severity {rule.severity!r}"
        if rule.category is not None and rule.category not in rules.categories:
            return f"moderation.classifiers.{name}.category: unknown category {rule.category!r}"
        unknown = [surface for surface in rule.surfaces if surface not in SURFACES]
        if unknown:
            return f"moderation.classifiers.{name}.surfaces: unknown surface {unknown[0]!r}"
    return None


def _images_problem(rules: ImageRules) -> str | None:
    if not 0 <= rules.max_distance <= MAX_IMAGE_DISTANCE:
        return f"moderation.images.max_distance: must be 0 to {MAX_IMAGE_DISTANCE}"
    if not 0 <= rules.min_quality <= 100:
        return "moderation.images.min_quality: must be 0 to 100"
    if set(rules.on_match) != set(IMAGE_SURFACES):
        return f"moderation.images.on_match: must list exactly {', '.join(IMAGE_SURFACES)}"
    for surface, decision in rules.on_match.items():
        if decision not in DECISION_ORDER:
            return (
                f"moderation.images.on_match.{surface}: {decision!r} is not one of "
                f"{', '.join(DECISION_ORDER)}"
            )
    return None


def _similarity_problem(rules: ModerationRules) -> str | None:
    if rules.homophone_min_syllables < 2:
        # One character's homophones are other words, not the term written otherwise.
        return "moderation.homophone_min_syllables: must be at least 2"
    if not 0 < rules.homophone_max_share <= 1:
        return "moderation.homophone_max_share: must be in (0, 1]"
    if not 0 < rules.near_duplicate_threshold <= 1:
        return "moderation.near_duplicate_threshold: must be in (0, 1]"
    if rules.near_duplicate_min_chars < CHUNK_CHARS:
        # A shorter text has no chunk to be looked up by.
        return f"moderation.near_duplicate_min_chars: must be at least {CHUNK_CHARS}"
    return None
