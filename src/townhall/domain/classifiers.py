"""Classifiers: the plug-in protocol, what their scores flag by the pack, and the pure parts of
training one on reviewers' decisions (examples, a stratified split, precision and recall)."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from townhall.domain.errors import Conflict, ErrorCode
from townhall.domain.moderation import ClassifierRule

UNNAMED = ""  # the key of the one score of a classifier that measures a single thing
# The built-in classifiers (services/classifier_plugins.py, with the `classifiers` extra).
PROFANITY_EN = "profanity_en"
ZH_NGRAM = "zh_ngram"
BUILT_IN = (PROFANITY_EN, ZH_NGRAM)


class Classifier(Protocol):
    """Scores texts by category, a batch at a time: one call per text is far slower."""

    name: str

    def predict_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """One dict per text, category (or UNNAMED) -> score in [0, 1]."""
        ...


@dataclass(frozen=True, slots=True)
class Flag:
    """A score at or above the pack's threshold: the text goes to review, nothing more."""

    classifier: str
    category: str
    score: float
    severity: str


def flags(scores: dict[str, float], classifier: str, rule: ClassifierRule) -> list[Flag]:
    """The scores that reach the rule's threshold, by category. The unnamed score takes the
    rule's category; a rule without one leaves it nothing to be filed under, so it flags nothing.
    """
    found = []
    for key, score in sorted(scores.items()):
        category = rule.category if key == UNNAMED else key
        if category is not None and score >= rule.threshold:
            found.append(Flag(classifier, category, score, rule.severity))
    return found


class NotEnoughTrainingData(Conflict):
    """Too few decided examples to train on; the code is always `not_enough_training_data`."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code=ErrorCode.NOT_ENOUGH_TRAINING_DATA)


@dataclass(frozen=True, slots=True)
class Example:
    """A decided text: removed for these categories, or approved (no categories), which makes it
    a negative for every category."""

    text: str
    removed_for: frozenset[str]


def labelled(examples: Sequence[Example], category: str) -> tuple[list[str], list[bool]]:
    """The texts that say something about one category: its removals (positive) and the
    approvals (negative). A removal for another category says nothing about this one."""
    texts, labels = [], []
    for example in examples:
        if category in example.removed_for or not example.removed_for:
            texts.append(example.text)
            labels.append(category in example.removed_for)
    return texts, labels


def stratified_split(
    examples: Sequence[Example], *, holdout: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """(training, validation): the same share of every kind of decision held out, the same way
    for the same examples and seed."""
    strata: dict[frozenset[str], list[Example]] = defaultdict(list)
    for example in examples:
        strata[example.removed_for].append(example)
    shuffler = random.Random(seed)
    training: list[Example] = []
    validation: list[Example] = []
    for key in sorted(strata, key=sorted):
        stratum = strata[key]
        shuffler.shuffle(stratum)
        held = round(len(stratum) * holdout)
        validation += stratum[:held]
        training += stratum[held:]
    return training, validation


def precision_recall(truth: Sequence[bool], predicted: Sequence[bool]) -> tuple[float, float]:
    """Of what was flagged, the share that was right; of what should be, the share flagged.
    Nothing flagged (or nothing to flag) counts as 0, never as perfect."""
    hits = sum(t and p for t, p in zip(truth, predicted, strict=True))
    flagged, actual = sum(predicted), sum(truth)
    return (hits / flagged if flagged else 0.0, hits / actual if actual else 0.0)


@dataclass(frozen=True, slots=True)
class CategoryResult:
    category: str
    training_positives: int
    training_negatives: int
    validation_positives: int
    validation_negatives: int
    precision: float
    recall: float


@dataclass(frozen=True, slots=True)
class TrainingReport:
    """What a trained classifier learnt from, and how it did on the decisions held out."""

    training_size: int
    validation_size: int
    threshold: float  # precision and recall are of flags at this score
    categories: tuple[CategoryResult, ...]
    left_out: dict[str, str]  # category -> why it was not trained

    def render(self) -> dict[str, Any]:
        return {
            "training_size": self.training_size,
            "validation_size": self.validation_size,
            "threshold": self.threshold,
            "categories": {
                result.category: {
                    "training_positives": result.training_positives,
                    "training_negatives": result.training_negatives,
                    "validation_positives": result.validation_positives,
                    "validation_negatives": result.validation_negatives,
                    "precision": result.precision,
                    "recall": result.recall,
                }
                for result in self.categories
            },
            "left_out": dict(self.left_out),
        }


def trainable_categories(
    training: Sequence[Example], validation: Sequence[Example], *, min_training_each: int
) -> tuple[list[str], dict[str, str]]:
    """(categories to train, category -> why not): a category needs `min_training_each`
    removals and approvals to learn from and at least one of each to be measured against."""
    categories = sorted({c for example in [*training, *validation] for c in example.removed_for})
    keep, left_out = [], {}
    for category in categories:
        learnt, measured = (labelled(part, category)[1] for part in (training, validation))
        removals, approvals = sum(learnt), len(learnt) - sum(learnt)
        if min(removals, approvals) >= min_training_each and any(measured) and not all(measured):
            keep.append(category)
            continue
        left_out[category] = (
            f"{removals} removal(s) and {approvals} approval(s) to learn from, "
            f"{sum(measured)} and {len(measured) - sum(measured)} to validate on; "
            f"needs {min_training_each} and 1 of each"
        )
    return keep, left_out
