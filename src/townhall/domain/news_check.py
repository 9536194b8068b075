"""The current-affairs check on posts of accounts without news entitlement: the pack's weighted
patterns and terms (wire bylines, datelines, reporters, official sources) read on the folded text,
and the reasons a post that reads like news is held for.

The author's `content_class` is not trusted: a post labelled `commentary` that carries a wire
byline is held for a reviewer like one labelled `news` would be refused."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

import msgspec

from townhall.domain.moderation import DECISION_ORDER, Decision, Reason, Verdict
from townhall.domain.normalize import Normalized, fold, normalize

# The reason a post is held for, in its statement of reasons, its review case and the answer.
UNLICENSED_NEWS = "possible_unlicensed_news"
PATTERN = "news_pattern"  # how a reason was found: a pattern, a term, or a classifier's score
TERM = "news_term"
CLASSIFIER = "classifier"

Weight = Annotated[int, msgspec.Meta(ge=1)]
Name = Annotated[str, msgspec.Meta(min_length=1)]
Threshold = Annotated[float, msgspec.Meta(gt=0, le=1)]


class NewsPattern(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Name  # what it finds, as the statement of reasons names it: "wire_byline"
    pattern: str  # a regular expression over the folded text, matched case-insensitively
    weight: Weight = 1


class NewsClassifier(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A model's say: a score at or above `threshold` adds `weight`."""

    name: Name  # a classifier plugin (docs/moderation.md)
    threshold: Threshold
    weight: Weight
    score: str = ""  # which of its scores; "" its one unnamed score


class NewsCheckRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The pack's `public_accounts.news_check`; off unless the pack turns it on."""

    enabled: bool = False
    hold_at: Weight = 1  # a post whose signals weigh this much in all is held
    severity: str | None = None  # the hold's severity in the review queue; needed when enabled
    exempt_entitlements: tuple[str, ...] = ("originate", "repost")
    terms: tuple[str, ...] = ()  # each distinct one found adds term_weight
    term_weight: Weight = 1
    patterns: tuple[NewsPattern, ...] = ()  # each that matches adds its weight, once
    classifier: NewsClassifier | None = None

    def public(self) -> dict[str, object]:
        """That posts are read for news, and whose; not with what: a pattern shown is evaded."""
        return {"enabled": self.enabled, "exempt_entitlements": list(self.exempt_entitlements)}

    def classifiers_used(self) -> tuple[str, ...]:
        """The classifier to load for scoring posts as they are published, if any."""
        if not self.enabled or self.classifier is None:
            return ()
        return (self.classifier.name,)


@dataclass(frozen=True, slots=True)
class Signal:
    """One sign that a text is news, with what it weighs."""

    how: str  # PATTERN, TERM or CLASSIFIER
    name: str  # the pattern's name, the term, or the classifier and its score
    weight: int
    excerpt: str  # what matched, in the author's own text


class NewsDetector:
    """The pack's patterns and terms compiled once, read over a text's folded form: NFKC (so
    full-width letters, digits and punctuation are ASCII), casefolded, traditional characters
    simplified, zero-width characters gone; spaces, punctuation and line breaks stay, as bylines
    and datelines need them."""

    def __init__(self, rules: NewsCheckRules) -> None:
        self._patterns = [
            (pattern, re.compile(pattern.pattern, re.IGNORECASE)) for pattern in rules.patterns
        ]
        folded = sorted({fold(term).text for term in rules.terms}, key=len, reverse=True)
        # One alternation, longest first: 新闻发布会 is one term where 发布会 is also listed.
        self._terms = re.compile("|".join(map(re.escape, folded))) if folded else None
        self._term_weight = rules.term_weight

    def signals(self, text: str) -> list[Signal]:
        folded = fold(text)
        found = [
            Signal(PATTERN, pattern.name, pattern.weight, _excerpt(text, folded, match))
            for pattern, compiled in self._patterns
            if (match := compiled.search(folded.text)) is not None
        ]
        if self._terms is not None:
            seen: set[str] = set()
            for match in self._terms.finditer(folded.text):
                if match.group() not in seen:
                    seen.add(match.group())
                    excerpt = _excerpt(text, folded, match)
                    found.append(Signal(TERM, match.group(), self._term_weight, excerpt))
        return found


def _excerpt(text: str, folded: Normalized, match: re.Match[str]) -> str:
    if match.end() == match.start():
        return ""
    start, end = folded.span(match.start(), match.end())
    return text[start:end]


def classifier_signal(rule: NewsClassifier, scores: dict[str, float]) -> Signal | None:
    """The classifier's score as a signal, when it reaches the rule's threshold."""
    score = scores.get(rule.score)
    if score is None or score < rule.threshold:
        return None
    return Signal(CLASSIFIER, f"{rule.name} {score:.2f}", rule.weight, "")


def hold_reasons(signals: Sequence[Signal], rules: NewsCheckRules) -> tuple[Reason, ...]:
    """Every signal as a reason when together they reach `hold_at`; else none."""
    if sum(signal.weight for signal in signals) < rules.hold_at or rules.severity is None:
        return ()
    return tuple(
        Reason(UNLICENSED_NEWS, rules.severity, signal.name, signal.excerpt, signal.how)
        for signal in signals
    )


def held_for_news(verdict: Verdict, reasons: tuple[Reason, ...]) -> Verdict:
    """The content check's verdict, held at least, with the news reasons added."""
    if not reasons:
        return verdict
    decision = max(verdict.decision, Decision.HOLD, key=DECISION_ORDER.index)
    return Verdict(decision, verdict.reasons + reasons, verdict.automated)


def check_rules(rules: NewsCheckRules) -> str | None:
    """The first problem with the section, as `key: what`, or None. The severity and the
    entitlements are checked against the rest of the pack in domain/policy.py."""
    key = "public_accounts.news_check"
    if rules.enabled and not (rules.patterns or rules.terms or rules.classifier):
        return f"{key}: enabled, but it has no patterns, terms or classifier to find news with"
    if rules.enabled and rules.severity is None:
        return f"{key}.severity: needed when the check is enabled"
    names = [pattern.name for pattern in rules.patterns]
    for position, pattern in enumerate(rules.patterns):
        problem = _pattern_problem(pattern.pattern)
        if problem is not None:
            return f"{key}.patterns[{position}].pattern: {problem}"
        if names.index(pattern.name) != position:
            return f"{key}.patterns[{position}].name: {pattern.name!r} is used twice"
    for position, term in enumerate(rules.terms):
        if not normalize(term).text:  # punctuation alone would find every post
            return f"{key}.terms[{position}]: {term!r} has no letter, digit or character"
    return None


def _pattern_problem(pattern: str) -> str | None:
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except re.error as error:
        return f"not a regular expression ({error})"
    if compiled.search("") is not None:
        return "matches the empty text, so it would hold every post"
    # ASCII letters fold to lower case, which IGNORECASE covers; any other character the
    # folding changes can never be met in the text the pattern reads.
    for char in pattern:
        if not char.isascii() and fold(char).text != char:
            return (
                f"{char!r} never occurs in folded text; write {re.escape(fold(char).text)!r} "
                "(full-width forms, traditional characters and look-alike letters are folded)"
            )
    return None
