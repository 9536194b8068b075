"""The classifier stage: delivered texts scored in micro-batches off the event loop, and the
ones a pack rule flags handed on for review. The lexicon and hash bank, before delivery, are
the blocking controls; this stage only ever flags.

The server scores in a worker process of its own: model code holds the interpreter lock for
milliseconds a batch and the models take ~100 MB, which on the event loop's process cost a
fifth of the message throughput. Plugins handed in directly run on a thread (tests, tools)."""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from townhall.domain.classifiers import Classifier, Flag, flags
from townhall.domain.moderation import ClassifierRule, ModerationRules

log = logging.getLogger(__name__)

DROP_WARNING_INTERVAL_SECONDS = 60.0
PARENT_CHECK_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Subject:
    """What a scored text belongs to, for the review case a flag opens."""

    surface: str
    subject_type: str
    subject_id: int
    author_id: int | None


OnFlag = Callable[[Subject, list[Flag]], Awaitable[None]]
Item = tuple[str, Subject]
Active = list[tuple[Classifier, ClassifierRule]]


class ClassifierStage:
    """One task gathers what was submitted into batches (up to `batch_max`, waiting up to
    `batch_wait_ms` for more) and has each scored off the event loop: on a thread for plugins
    handed in, or in a worker process once `use_worker_process` started one."""

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
        self._on_flag = on_flag
        self._batch_max = batch_max
        self._batch_wait = batch_wait_ms / 1000
        self._queue: asyncio.Queue[Item] = asyncio.Queue(maxsize=queue_max)
        self._executor: Executor | None = None
        self._surfaces = {
            surface for rule in rules.classifiers.values() for surface in rule.surfaces
        }
        self._score: Callable[[list[Item]], list[list[Flag]]] = _score_in_worker
        self._worker: asyncio.Task[None] | None = None
        self._stopping = False
        self._dropped = 0
        self._last_drop_warning = float("-inf")
        active = _active(rules, plugins)
        if active:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="classifiers")
            self._score = functools.partial(score_batch, active)

    async def use_worker_process(self, data_dir: Path) -> list[str]:
        """Load the pack's classifiers in a process of their own and score there from now on;
        returns the names of those that run (none: the process is ended again)."""
        process = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),  # no fork of a running event loop
            initializer=_load_in_worker,
            initargs=(self._rules, data_dir, os.getpid()),
        )
        try:
            names = await asyncio.get_running_loop().run_in_executor(process, _names_in_worker)
        except BaseException:  # stopped while loading: the worker must not outlive us
            process.shutdown(wait=False, cancel_futures=True)
            raise
        if not names:
            process.shutdown()
            return names
        if self._executor is not None:
            self._executor.shutdown(wait=False)
        self._executor, self._score = process, _score_in_worker
        return names

    @property
    def dropped(self) -> int:
        """Texts never scored: the queue was full, or the stage was stopping."""
        return self._dropped

    def start(self) -> None:
        self._worker = asyncio.create_task(self._run(), name="classifier-stage")

    async def stop(self) -> None:
        """Score what is queued, then end the task and the thread or process."""
        self._stopping = True
        if self._worker is not None:
            if not self._worker.done():  # a worker cancelled from outside would never drain
                await self._queue.join()
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        if self._executor is not None:
            self._executor.shutdown()

    def submit(self, text: str, subject: Subject) -> None:
        """Queue a delivered text; never waits. A full queue drops it: the stage only flags."""
        if self._executor is None or subject.surface not in self._surfaces:
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
                found = await loop.run_in_executor(self._executor, self._score, batch)
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

    async def _hand_on(self, batch: list[Item], found: list[list[Flag]]) -> None:
        for (_, subject), text_flags in zip(batch, found, strict=True):
            if not text_flags:
                continue
            try:
                await self._on_flag(subject, text_flags)
            except Exception:
                log.exception("handing on the flags of %s failed", subject)


def _active(rules: ModerationRules, plugins: Sequence[Classifier]) -> Active:
    return [(p, rules.classifiers[p.name]) for p in plugins if p.name in rules.classifiers]


def score_batch(active: Active, batch: list[Item]) -> list[list[Flag]]:
    """Every active classifier over the texts of the surfaces it is for, and what flags."""
    found: list[list[Flag]] = [[] for _ in batch]
    for plugin, rule in active:
        mine = [i for i, (_, subject) in enumerate(batch) if subject.surface in rule.surfaces]
        if not mine:
            continue
        scored = _predict(plugin, [batch[i][0] for i in mine])
        for i, scores in zip(mine, scored, strict=True):
            found[i] += flags(scores, plugin.name, rule)
    return found


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


# In the worker process: the classifiers it loaded at start.
_worker_active: Active = []


def _load_in_worker(rules: ModerationRules, data_dir: Path, server_pid: int) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    threading.Thread(target=_exit_with, args=(server_pid,), daemon=True).start()
    _worker_active[:] = _active(rules, build_plugins(rules, data_dir))


def _exit_with(server_pid: int) -> None:
    """A server killed outright (SIGKILL, OOM) cannot stop its worker: the worker notices it
    was orphaned and ends, instead of living on and holding the server's output open."""
    while os.getppid() == server_pid:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _names_in_worker() -> list[str]:
    return [plugin.name for plugin, _ in _worker_active]


def _score_in_worker(batch: list[Item]) -> list[list[Flag]]:
    return score_batch(_worker_active, batch)


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
    # Imported here, in the worker: scikit-learn alone is ~100 MB the server need not carry.
    from townhall.services.classifier_plugins import (
        PROFANITY_EN,
        ZH_NGRAM,
        ChineseNgram,
        EnglishProfanity,
        zh_ngram_path,
    )

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
    known = f"{PROFANITY_EN}, {ZH_NGRAM}"
    log.warning("the pack names classifier %s, which does not exist; known: %s", name, known)
    return None
