"""The built-in classifiers: English profanity (a shipped model) and a Chinese char n-gram model
trained here on reviewers' decisions, with its training."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import skops.io
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

from townhall.domain.classifiers import (
    PROFANITY_EN,
    UNNAMED,
    ZH_NGRAM,
    CategoryResult,
    Example,
    NotEnoughTrainingData,
    TrainingReport,
    labelled,
    precision_recall,
    stratified_split,
    trainable_categories,
)
from townhall.domain.normalize import skeleton
from townhall.store import training
from townhall.store.database import Database

if TYPE_CHECKING:
    from scipy.sparse import spmatrix

MODEL_FORMAT = 1
HOLDOUT = 0.2
SPLIT_SEED = 2014  # fixed: the same decisions give the same split and the same report
# Regularization is chosen per category by cross-validated log loss on the training split, so
# the scores a pack threshold cuts are as confident as the decisions warrant, no more.
REGULARIZATION_CANDIDATES = (0.1, 1.0, 10.0, 100.0)
FOLDS = 3


class EnglishProfanity:
    """alt-profanity-check: a linear model over English words, shipped inside the package."""

    name = PROFANITY_EN

    def __init__(self) -> None:
        # Imported here: the import loads the package's model (about a second).
        from profanity_check import predict_prob

        self._predict_prob = predict_prob

    def predict_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        if not texts:
            return []
        return [{UNNAMED: float(p)} for p in self._predict_prob(list(texts))]


def zh_ngram_path(data_dir: Path) -> Path:
    return data_dir / "classifiers" / f"{ZH_NGRAM}.skops"


class ChineseNgram:
    """Char 1-3-gram TF-IDF over the matching skeleton (so traditional, full-width and spaced-out
    forms read as what they spell) and one logistic regression per category."""

    name = ZH_NGRAM

    def __init__(
        self,
        vectorizer: TfidfVectorizer,
        models: dict[str, LogisticRegression],
        report: dict[str, Any] | None = None,
    ) -> None:
        self._vectorizer = vectorizer
        self._models = models
        self.report = report or {}

    @classmethod
    def fit(cls, examples: Sequence[Example], categories: Sequence[str]) -> ChineseNgram:
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
        vectorizer.fit([skeleton(example.text) for example in examples])
        models = {}
        for category in categories:
            texts, labels = labelled(examples, category)
            models[category] = _fit_category(vectorizer.transform(map(skeleton, texts)), labels)
        return cls(vectorizer, models)

    def predict_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        if not texts:
            return []
        features = self._vectorizer.transform([skeleton(text) for text in texts])
        by_category = {
            category: model.predict_proba(features)[:, list(model.classes_).index(True)]
            for category, model in self._models.items()
        }
        return [
            {category: float(scores[row]) for category, scores in by_category.items()}
            for row in range(len(texts))
        ]

    @classmethod
    def load(cls, path: Path) -> ChineseNgram:
        """Read a model file. skops, unlike pickle, builds only the types it trusts (numpy,
        scikit-learn, plain containers) and refuses a file that names anything else."""
        saved = skops.io.load(path)
        if saved.get("format") != MODEL_FORMAT:
            raise ValueError(f"{path}: not a {ZH_NGRAM} model of format {MODEL_FORMAT}")
        return cls(saved["vectorizer"], saved["models"], saved["report"])

    def save(self, path: Path) -> None:
        """Write the model whole or not at all: a running server may be reading the old one."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        saved = {
            "format": MODEL_FORMAT,
            "vectorizer": self._vectorizer,
            "models": self._models,
            "report": self.report,
        }
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                skops.io.dump(saved, file)
                file.flush()
                os.fsync(file.fileno())
            Path(temporary).replace(path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _fit_category(features: spmatrix, labels: list[bool]) -> LogisticRegression:
    # Balanced: approvals usually outnumber the removals of any one category by far.
    search = LogisticRegressionCV(
        Cs=REGULARIZATION_CANDIDATES,
        cv=FOLDS,
        scoring="neg_log_loss",
        class_weight="balanced",
        l1_ratios=(0.0,),
        use_legacy_attributes=False,
        max_iter=1000,
    ).fit(features, labels)
    # Refit plainly at the chosen strength: the search's per-fold paths would bloat the file.
    model = LogisticRegression(C=search.C_, class_weight="balanced", max_iter=1000)
    return model.fit(features, labels)


def train_zh_ngram(
    examples: Sequence[Example], *, min_examples: int, threshold: float
) -> ChineseNgram:
    """Train on 80 % of the decisions, measure on the rest at the flagging threshold; the model
    returned is the one measured, its report attached."""
    if len(examples) < min_examples:
        raise NotEnoughTrainingData(
            f"only {len(examples)} decided messages and posts to learn from, "
            f"at least {min_examples} needed"
        )
    training_set, validation_set = stratified_split(examples, holdout=HOLDOUT, seed=SPLIT_SEED)
    categories, left_out = trainable_categories(
        training_set, validation_set, min_training_each=FOLDS
    )
    if not categories:
        why = "; ".join(f"{category}: {reason}" for category, reason in left_out.items())
        raise NotEnoughTrainingData(f"no category has enough decisions to train on ({why})")
    model = ChineseNgram.fit(training_set, categories)
    results = tuple(
        _measure(model, category, training_set, validation_set, threshold)
        for category in categories
    )
    report = TrainingReport(len(training_set), len(validation_set), threshold, results, left_out)
    model.report = report.render()
    return model


def _measure(
    model: ChineseNgram,
    category: str,
    training_set: Sequence[Example],
    validation_set: Sequence[Example],
    threshold: float,
) -> CategoryResult:
    trained_on = labelled(training_set, category)[1]
    texts, truth = labelled(validation_set, category)
    predicted = [scores[category] >= threshold for scores in model.predict_batch(texts)]
    precision, recall = precision_recall(truth, predicted)
    return CategoryResult(
        category,
        training_positives=sum(trained_on),
        training_negatives=len(trained_on) - sum(trained_on),
        validation_positives=sum(truth),
        validation_negatives=len(truth) - sum(truth),
        precision=precision,
        recall=recall,
    )


async def train_from_decisions(
    database: Database, data_dir: Path, *, min_examples: int, threshold: float
) -> ChineseNgram:
    """`townhall moderation train`: the Chinese model from every decided message and post,
    written to the data dir, where the server finds it on its next start."""
    async with database.reading() as conn:
        examples = await training.decided_examples(conn)
    model = await asyncio.to_thread(
        train_zh_ngram, examples, min_examples=min_examples, threshold=threshold
    )
    await asyncio.to_thread(model.save, zh_ngram_path(data_dir))
    return model
