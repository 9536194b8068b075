"""Moderation decisions: what a lexicon match does on each surface, and the reasons recorded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from townhall.domain.lexicon import Match


class Decision:
    ALLOW = "allow"
    FLAG = "flag"  # delivered, and queued for review
    HOLD = "hold"  # delivered only once approved
    BLOCK = "block"  # refused: nothing delivered


# Least to most restrictive: the most restrictive decision of any match wins.
DECISION_ORDER = (Decision.ALLOW, Decision.FLAG, Decision.HOLD, Decision.BLOCK)
# Hold needs the review queue's approval path, which is not built yet.
SUPPORTED_DECISIONS = (Decision.ALLOW, Decision.FLAG, Decision.BLOCK)


class Surface:
    DIRECT = "direct"
    GROUP = "group"
    PUBLIC_POST = "public_post"
    NAME = "name"  # public-account names and descriptions, display names


SURFACES = (Surface.DIRECT, Surface.GROUP, Surface.PUBLIC_POST, Surface.NAME)


class TermRule(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    text: str
    category: str
    severity: str


class ModerationRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    categories: tuple[str, ...]
    severities: tuple[str, ...]  # least severe first
    surfaces: dict[str, dict[str, str]]  # surface -> severity -> decision
    terms: tuple[TermRule, ...] = ()
    allowlist: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Reason:
    """One ground of a decision, as the statement of reasons records it."""

    category: str
    severity: str
    term: str
    excerpt: str  # what matched, in the author's own text
    how: str  # "text" or "pinyin"

    def render(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "severity": self.severity,
            "term": self.term,
            "excerpt": self.excerpt,
            "how": self.how,
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
        Reason(m.category, m.severity, m.term, text[m.start : m.end], m.how) for m in matches
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
            if decision not in SUPPORTED_DECISIONS:
                return (
                    f"moderation.surfaces.{surface}.{severity}: {decision!r} is not one of "
                    f"{', '.join(SUPPORTED_DECISIONS)}"
                )
    for position, term in enumerate(rules.terms):
        if term.category not in rules.categories or term.severity not in rules.severities:
            return f"moderation.terms[{position}]: unknown category or severity"
    return None
