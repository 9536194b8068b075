"""Classifier scores against the pack's rule, and the pure parts of training: which decisions
teach which category, a stratified split, precision and recall."""

from __future__ import annotations

import pytest

from townhall.domain.classifiers import (
    UNNAMED,
    Example,
    Flag,
    flags,
    labelled,
    precision_recall,
    stratified_split,
    trainable_categories,
)
from townhall.domain.moderation import ClassifierRule

PROFANITY = ClassifierRule(threshold=0.8, severity="medium", category="violence")


@pytest.mark.parametrize(("score", "flagged"), [(0.79, False), (0.8, True), (1.0, True)])
def test_a_score_flags_from_the_threshold_up(score: float, flagged: bool) -> None:
    found = flags({UNNAMED: score}, "profanity_en", PROFANITY)
    assert found == ([Flag("profanity_en", "violence", score, "medium")] if flagged else [])


def test_the_unnamed_score_is_filed_under_the_rules_category() -> None:
    assert flags({UNNAMED: 0.9}, "profanity_en", PROFANITY)[0].category == "violence"


def test_an_unnamed_score_without_a_category_flags_nothing() -> None:
    rule = ClassifierRule(threshold=0.5, severity="low")
    assert flags({UNNAMED: 1.0}, "profanity_en", rule) == []


def test_named_scores_flag_under_their_own_categories_each_against_the_threshold() -> None:
    rule = ClassifierRule(threshold=0.6, severity="high")
    found = flags({"gambling": 0.95, "fraud": 0.61, "pornography": 0.59}, "zh_ngram", rule)
    assert found == [
        Flag("zh_ngram", "fraud", 0.61, "high"),
        Flag("zh_ngram", "gambling", 0.95, "high"),
    ]


GAMBLING = Example("澳门赌场", frozenset({"gambling"}))
FRAUD = Example("刷单返利", frozenset({"fraud"}))
BOTH = Example("赌场刷单", frozenset({"fraud", "gambling"}))
FINE = Example("明天见", frozenset())


def test_a_category_learns_from_its_removals_and_every_approval_only() -> None:
    assert labelled([GAMBLING, FRAUD, BOTH, FINE], "gambling") == (
        ["澳门赌场", "赌场刷单", "明天见"],
        [True, True, False],
    )


def examples(removed: int, approved: int) -> list[Example]:
    return [Example(f"赌{i}", frozenset({"gambling"})) for i in range(removed)] + [
        Example(f"好{i}", frozenset()) for i in range(approved)
    ]


def test_the_split_holds_out_the_same_share_of_each_kind_of_decision() -> None:
    training, validation = stratified_split(examples(50, 200), holdout=0.2, seed=1)
    assert len(training) + len(validation) == 250
    assert sum(bool(e.removed_for) for e in validation) == 10
    assert sum(not e.removed_for for e in validation) == 40
    assert not set(training) & set(validation)


def test_the_split_is_the_same_for_the_same_seed_and_differs_for_another() -> None:
    data = examples(30, 30)
    assert stratified_split(data, holdout=0.2, seed=7) == stratified_split(
        data, holdout=0.2, seed=7
    )
    assert stratified_split(data, holdout=0.2, seed=7) != stratified_split(
        data, holdout=0.2, seed=8
    )


def test_precision_and_recall_count_hits_misses_and_false_alarms() -> None:
    truth = [True, True, True, False, False]
    predicted = [True, True, False, True, False]
    assert precision_recall(truth, predicted) == pytest.approx((2 / 3, 2 / 3))


def test_flagging_nothing_scores_zero_not_perfect() -> None:
    assert precision_recall([True, False], [False, False]) == (0.0, 0.0)


def test_a_category_needs_enough_to_learn_from_and_something_to_be_measured_on() -> None:
    training = [GAMBLING, GAMBLING, FRAUD, FRAUD, BOTH, FINE, FINE]
    keep, left_out = trainable_categories(training, [GAMBLING, FINE], min_training_each=2)
    assert keep == ["gambling"]
    assert left_out == {
        "fraud": "3 removal(s) and 2 approval(s) to learn from, 0 and 1 to validate on; "
        "needs 2 and 1 of each"
    }
    assert trainable_categories(training, [GAMBLING, FINE], min_training_each=3)[0] == []


def test_without_approvals_no_category_can_be_trained() -> None:
    keep, left_out = trainable_categories([GAMBLING, FRAUD], [GAMBLING, FRAUD], min_training_each=1)
    assert keep == []
    assert set(left_out) == {"gambling", "fraud"}
