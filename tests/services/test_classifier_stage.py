"""The classifier stage: texts scored in few batches on a thread of its own, flags handed on,
drained on stop, and a failing classifier, a failing hand-on or a full queue costing only what
they must."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from townhall.domain.classifiers import UNNAMED, Flag
from townhall.domain.moderation import SURFACES, ClassifierRule, ImageRules, ModerationRules
from townhall.services import classifiers
from townhall.services.classifier_plugins import EnglishProfanity
from townhall.services.classifiers import ClassifierStage, Subject, build_plugins


def rules(**classifiers: ClassifierRule) -> ModerationRules:
    return ModerationRules(
        categories=("violence", "gambling"),
        severities=("low", "medium"),
        surfaces={surface: {"low": "allow", "medium": "flag"} for surface in SURFACES},
        homophone_min_syllables=3,
        homophone_max_share=0.5,
        near_duplicate_threshold=0.7,
        near_duplicate_min_chars=30,
        images=ImageRules(31, 50, {"direct": "block", "group": "block", "public_post": "block"}),
        classifiers=classifiers,
    )


FLAG_BAD = ClassifierRule(threshold=0.5, severity="medium", category="violence")


class Spotter:
    """Scores 1 where a text says "bad"; remembers its batches and the threads they ran on."""

    def __init__(self, name: str = "spotter", *, fail_first: int = 0) -> None:
        self.name = name
        self.batches: list[list[str]] = []
        self.threads: set[int] = set()
        self._fail_first = fail_first

    def predict_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        self.threads.add(threading.get_ident())
        self.batches.append(list(texts))
        if len(self.batches) <= self._fail_first:
            raise RuntimeError("model exploded")
        return [{UNNAMED: 1.0 if "bad" in text else 0.0} for text in texts]


class Inbox:
    def __init__(self, *, fail_on: frozenset[int] = frozenset()) -> None:
        self.flagged: list[tuple[Subject, list[Flag]]] = []
        self._fail_on = fail_on

    async def __call__(self, subject: Subject, flags: list[Flag]) -> None:
        if subject.subject_id in self._fail_on:
            raise RuntimeError("review queue unavailable")
        self.flagged.append((subject, flags))

    @property
    def ids(self) -> list[int]:
        return [subject.subject_id for subject, _ in self.flagged]


def message(subject_id: int) -> Subject:
    return Subject("group", "message", subject_id, author_id=7)


def submit_all(stage: ClassifierStage, texts: list[str]) -> None:
    for number, text in enumerate(texts):
        stage.submit(text, message(number))


async def test_a_thousand_texts_run_in_a_few_batches_off_the_event_loop() -> None:
    spotter, inbox = Spotter(), Inbox()
    stage = ClassifierStage(rules(spotter=FLAG_BAD), [spotter], on_flag=inbox)
    stage.start()
    submit_all(stage, [f"text {n} {'bad' if n % 100 == 0 else 'fine'}" for n in range(1000)])
    await stage.stop()

    assert sum(map(len, spotter.batches)) == 1000
    assert len(spotter.batches) <= 5  # 256 at most each
    assert threading.get_ident() not in spotter.threads
    assert inbox.ids == list(range(0, 1000, 100))
    assert inbox.flagged[0][1] == [Flag("spotter", "violence", 1.0, "medium")]


async def test_texts_that_trickle_in_are_gathered_into_one_batch() -> None:
    spotter = Spotter()
    stage = ClassifierStage(rules(spotter=FLAG_BAD), [spotter], on_flag=Inbox(), batch_wait_ms=500)
    stage.start()
    for number in range(5):
        stage.submit("fine", message(number))
        await asyncio.sleep(0.005)
    await stage.stop()
    assert [len(batch) for batch in spotter.batches] == [5]


async def test_stop_scores_everything_already_submitted() -> None:
    spotter, inbox = Spotter(), Inbox()
    stage = ClassifierStage(rules(spotter=FLAG_BAD), [spotter], on_flag=inbox)
    stage.start()
    submit_all(stage, ["bad"] * 600)
    await stage.stop()
    assert len(inbox.flagged) == 600
    stage.submit("bad", message(600))
    assert stage.dropped == 1  # nothing is queued once stopped


async def test_a_failing_classifier_costs_its_batch_only(caplog: pytest.LogCaptureFixture) -> None:
    broken, healthy, inbox = Spotter("broken", fail_first=1), Spotter("healthy"), Inbox()
    stage = ClassifierStage(
        rules(broken=FLAG_BAD, healthy=FLAG_BAD), [broken, healthy], on_flag=inbox
    )
    stage.start()
    stage.submit("bad one", message(1))
    while not inbox.flagged:  # the first batch is done: the second text comes in a batch of its own
        await asyncio.sleep(0.001)
    stage.submit("bad two", message(2))
    await stage.stop()

    assert "classifier broken failed" in caplog.text
    assert [[flag.classifier for flag in flags] for _, flags in inbox.flagged] == [
        ["healthy"],
        ["broken", "healthy"],
    ]


async def test_a_failing_hand_on_does_not_stop_the_texts_after_it() -> None:
    inbox = Inbox(fail_on=frozenset({3}))
    stage = ClassifierStage(rules(spotter=FLAG_BAD), [Spotter()], on_flag=inbox)
    stage.start()
    submit_all(stage, ["bad"] * 6)
    await stage.stop()
    assert inbox.ids == [0, 1, 2, 4, 5]


async def test_a_full_queue_drops_and_counts_with_a_rate_limited_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    spotter = Spotter()
    stage = ClassifierStage(rules(spotter=FLAG_BAD), [spotter], on_flag=Inbox(), queue_max=10)
    stage.start()
    with caplog.at_level(logging.WARNING):
        submit_all(stage, ["fine"] * 25)  # no await: the worker cannot take any yet
    await stage.stop()
    assert stage.dropped == 15
    assert sum(map(len, spotter.batches)) == 10
    assert caplog.text.count("classifier queue full") == 1


async def test_only_the_classifiers_the_pack_names_run() -> None:
    named, unnamed, inbox = Spotter("named"), Spotter("unnamed"), Inbox()
    stage = ClassifierStage(rules(named=FLAG_BAD), [named, unnamed], on_flag=inbox)
    stage.start()
    submit_all(stage, ["bad", "fine"])
    await stage.stop()
    assert named.batches == [["bad", "fine"]]
    assert unnamed.batches == []


async def test_each_classifier_scores_only_the_surfaces_its_rule_names() -> None:
    public, everywhere, inbox = Spotter("public"), Spotter("everywhere"), Inbox()
    all_surfaces = ClassifierRule(0.5, "medium", category="violence", surfaces=SURFACES)
    stage = ClassifierStage(
        rules(public=FLAG_BAD, everywhere=all_surfaces), [public, everywhere], on_flag=inbox
    )
    stage.start()
    stage.submit("bad in a group", message(1))
    stage.submit("bad in private", Subject("direct", "message", 2, author_id=7))
    await stage.stop()
    assert public.batches == [["bad in a group"]]  # the default: group and public_post
    assert everywhere.batches == [["bad in a group", "bad in private"]]
    assert [
        (subject.subject_id, [f.classifier for f in flags]) for subject, flags in inbox.flagged
    ] == [
        (1, ["public", "everywhere"]),
        (2, ["everywhere"]),
    ]


async def test_a_surface_no_classifier_scores_is_not_even_queued() -> None:
    stage = ClassifierStage(rules(spotter=FLAG_BAD), [Spotter()], on_flag=Inbox(), queue_max=1)
    stage.start()
    for number in range(3):
        stage.submit("bad", Subject("direct", "message", number, author_id=7))
    await stage.stop()
    assert stage.dropped == 0


async def test_with_no_classifier_on_nothing_is_queued() -> None:
    stage = ClassifierStage(rules(), [Spotter()], on_flag=Inbox(), queue_max=1)
    stage.start()
    submit_all(stage, ["bad"] * 3)
    await stage.stop()
    assert stage.dropped == 0


def test_english_profanity_scores_abuse_high_and_kindness_low() -> None:
    abuse, kindness = EnglishProfanity().predict_batch(
        ["you are a fucking idiot", "have a nice day"]
    )
    assert abuse[UNNAMED] > 0.9
    assert kindness[UNNAMED] < 0.2


def test_the_chinese_model_stays_off_until_trained(tmp_path: Path) -> None:
    pack_rules = rules(
        profanity_en=FLAG_BAD,
        zh_ngram=ClassifierRule(threshold=0.7, severity="medium"),
        no_such=FLAG_BAD,
    )
    assert [plugin.name for plugin in build_plugins(pack_rules, tmp_path)] == ["profanity_en"]


async def test_a_classifier_scored_on_demand_answers_one_text_at_once_off_the_loop() -> None:
    spotter, inbox = Spotter("news_model"), Inbox()
    stage = ClassifierStage(rules(), [spotter], on_flag=inbox, on_demand=["news_model"])
    stage.start()
    assert await stage.score_now("news_model", "a bad headline") == {UNNAMED: 1.0}
    assert await stage.score_now("news_model", "a recipe") == {UNNAMED: 0.0}
    assert await stage.score_now("other_model", "a bad headline") is None  # not loaded
    stage.submit("bad", message(1))  # the pack does not flag with it
    await stage.stop()
    assert threading.get_ident() not in spotter.threads
    assert inbox.flagged == []


async def test_a_failing_classifier_on_demand_gives_no_score(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stage = ClassifierStage(
        rules(), [Spotter("news_model", fail_first=1)], on_flag=Inbox(), on_demand=["news_model"]
    )
    assert await stage.score_now("news_model", "bad") == {}
    assert "classifier news_model failed" in caplog.text
    assert await stage.score_now("news_model", "bad") == {UNNAMED: 1.0}
    await stage.stop()


class NewsModel:
    name = "news_model"

    def predict_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        return [{"news": 0.9} for _ in texts]


data_dirs_given: list[Path] = []


def news_model(data_dir: Path) -> NewsModel:
    data_dirs_given.append(data_dir)
    return NewsModel()


def misnamed(data_dir: Path) -> Spotter:
    return Spotter("something_else")


def test_an_operators_classifier_is_found_by_its_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    installed = [
        EntryPoint(name, f"{__name__}:{name}", classifiers.PLUGIN_GROUP)
        for name in ("news_model", "misnamed")
    ]
    monkeypatch.setattr(
        classifiers,
        "entry_points",
        lambda group, name=None: [e for e in installed if name in (None, e.name)],
    )
    loaded = build_plugins(rules(), tmp_path, on_demand=["news_model", "misnamed", "absent"])
    assert [plugin.name for plugin in loaded] == ["news_model"]
    assert data_dirs_given == [tmp_path]  # the factory finds its model files under the data dir
    assert "classifier misnamed" in caplog.text and "is not one of that name" in caplog.text
    assert "classifier absent, which does not exist; known: profanity_en, zh_ngram, " in caplog.text


async def test_without_the_classifiers_extra_no_worker_starts_and_the_log_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(classifiers, "built_in_classifiers_installed", lambda: False)
    spawned: list[object] = []
    monkeypatch.setattr(classifiers, "ProcessPoolExecutor", lambda **kw: spawned.append(kw))
    stage = ClassifierStage(
        rules(profanity_en=FLAG_BAD), [], on_flag=Inbox(), on_demand=["zh_ngram"]
    )
    with caplog.at_level(logging.WARNING):
        assert await stage.use_worker_process(tmp_path) == []
    assert spawned == []
    said = [r.getMessage() for r in caplog.records]
    assert any("profanity_en needs the classifiers extra" in line for line in said)
    assert any("zh_ngram needs the classifiers extra" in line for line in said)
    assert await stage.score_now("zh_ngram", "新闻") is None


def test_without_the_classifiers_extra_a_named_built_in_loads_as_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(classifiers, "built_in_classifiers_installed", lambda: False)
    assert build_plugins(rules(profanity_en=FLAG_BAD), tmp_path) == []
