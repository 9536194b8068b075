"""The classifier stage: delivered texts scored in micro-batches off the event loop, and the
ones a pack rule flags handed on for review. The lexicon and hash bank, before delivery, are
the blocking controls; this stage only ever flags."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from townhall.domain.classifiers import Classifier, Flag, flags
from townhall.domain.moderation import ClassifierRule, ModerationRules
from townhall.services.classifier_plugins import (
    PROFANITY_EN,
    ZH_NGRAM,
    ChineseNgram,
    EnglishProfanity,
    zh_ngram_path,
)

log = logging.getLogger(__name__)

DROP_WARNING_INTERVAL_SECONDS = 60.0
KNOWN = f"{PROFANITY_EN}, {ZH_NGRAM}"


@dataclass(frozen=True, slots=True)
class Subject:
    """What a scored text belongs to, for the review case a flag opens."""

    surface: str
    subject_type: str
    subject_id: int
    author_id: int | None


OnFlag = Callable[[Subject, list[Flag]], Awaitable[None]]
Item = tuple[str, Subject]


class ClassifierStage:
    """One worker task gathers what was submitted into batches (up to `batch_max`, waiting up to
    `batch_wait_ms` for more) and scores each batch on one thread of its own."""

    def __init__(
        self,
        rules: ModerationRules,
        plugins: Sequence[Classifier],
        *,
        on_flag: OnFlag,
        batch_max: int = 256,
        batch_wait_ms: float = 5.0,
        queue_max: int = 10_000,
    ) -> None:
        self._rules = rules
        self._active: list[tuple[Classifier, ClassifierRule]] = []
        self.use(plugins)
        self._on_flag = on_flag
        self._batch_max = batch_max
        self._batch_wait = batch_wait_ms / 1000
        self._queue: asyncio.Queue[Item] = asyncio.Queue(maxsize=queue_max)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="classifiers")
        self._worker: asyncio.Task[None] | None = None
        self._stopping = False
        self._dropped = 0
        self._last_drop_warning = float("-inf")

    def use(self, plugins: Sequence[Classifier]) -> None:
        """Run these from now on (the server loads them after it started: that takes a second)."""
        self._active = [
            (p, self._rules.classifiers[p.name])
            for p in plugins
            if p.name in self._rules.classifiers
        ]

    @property
    def dropped(self) -> int:
        """Texts never scored: the queue was full, or the stage was stopping."""
        return self._dropped

    def start(self) -> None:
        self._worker = asyncio.create_task(self._run(), name="classifier-stage")

    async def stop(self) -> None:
        """Score what is queued, then end the worker and its thread."""
        self._stopping = True
        if self._worker is not None:
            if not self._worker.done():  # a worker cancelled from outside would never drain
                await self._queue.join()
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        self._executor.shutdown()

    def submit(self, text: str, subject: Subject) -> None:
        """Queue a delivered text; never waits. A full queue drops it: the stage only flags."""
        if not self._active:
            return
        if self._stopping:
            self._dropped += 1
            return
        try:
            self._queue.put_nowait((text, subject))
        except asyncio.QueueFull:
            self._dropped += 1
            self._warn_dropped()

    def _warn_dropped(self) -> None:
        now = time.monotonic()
        if now - self._last_drop_warning >= DROP_WARNING_INTERVAL_SECONDS:
            self._last_drop_warning = now
            log.warning(
                "classifier queue full (%d): %d text(s) dropped unscored so far",
                self._queue.maxsize,
                self._dropped,
            )

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._next_batch()
            try:
                texts = [text for text, _ in batch]
                found = await loop.run_in_executor(self._executor, self._score, texts)
                await self._hand_on(batch, found)
            except Exception:
                log.exception("classifier batch of %d failed", len(batch))
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _next_batch(self) -> list[Item]:
        batch = [await self._queue.get()]
        self._take_queued(batch)
        if len(batch) < self._batch_max and self._batch_wait > 0:
            # Sleep the window out, then take what came: one timer per batch, not one per item.
            await asyncio.sleep(self._batch_wait)
            self._take_queued(batch)
        return batch

    def _take_queued(self, batch: list[Item]) -> None:
        while len(batch) < self._batch_max and not self._queue.empty():
            batch.append(self._queue.get_nowait())

    def _score(self, texts: list[str]) -> list[list[Flag]]:
        """On the stage's thread: every active classifier over the batch, and what flags."""
        found: list[list[Flag]] = [[] for _ in texts]
        for plugin, rule in self._active:
            for text_flags, scores in zip(found, self._predict(plugin, texts), strict=True):
                text_flags += flags(scores, plugin.name, rule)
        return found

    @staticmethod
    def _predict(plugin: Classifier, texts: list[str]) -> list[dict[str, float]]:
        """The plugin's scores, or none for this batch if it fails: the others still run."""
        try:
            scores = plugin.predict_batch(texts)
        except Exception:
            log.exception("classifier %s failed on a batch of %d", plugin.name, len(texts))
            return [{} for _ in texts]
        if len(scores) != len(texts):
            log.error(
                "classifier %s gave %d results for %d texts", plugin.name, len(scores), len(texts)
            )
            return [{} for _ in texts]
        return scores

    async def _hand_on(self, batch: list[Item], found: list[list[Flag]]) -> None:
        for (_, subject), text_flags in zip(batch, found, strict=True):
            if not text_flags:
                continue
            try:
                await self._on_flag(subject, text_flags)
            except Exception:
                log.exception("handing on the flags of %s failed", subject)


def build_plugins(rules: ModerationRules, data_dir: Path) -> list[Classifier]:
    """The classifiers the pack turns on that can run: zh_ngram only once it has been trained.
    Loading takes a second or so; call it at start-up, not on the event loop's hot path."""
    plugins: list[Classifier] = []
    for name, rule in rules.classifiers.items():
        plugin = _load(name, rule, data_dir)
        if plugin is not None:
            plugins.append(plugin)
    log.info("classifiers on: %s", ", ".join(p.name for p in plugins) or "none")
    return plugins


def _load(name: str, rule: ClassifierRule, data_dir: Path) -> Classifier | None:
    if name == PROFANITY_EN:
        if rule.category is None:
            log.warning("classifier %s has no category in the pack: it can flag nothing", name)
        return EnglishProfanity()
    if name == ZH_NGRAM:
        path = zh_ngram_path(data_dir)
        if not path.exists():
            log.info("classifier %s is off until trained (townhall moderation train)", name)
            return None
        try:
            model = ChineseNgram.load(path)
        except Exception:
            log.exception("classifier %s: %s cannot be loaded; it stays off", name, path)
            return None
        log.info(
            "classifier %s trained on %s decisions",
            name,
            model.report.get("training_size", "?"),
        )
        return model
    log.warning("the pack names classifier %s, which does not exist; known: %s", name, KNOWN)
    return None
