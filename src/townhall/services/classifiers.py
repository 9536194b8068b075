"""The classifier stage: delivered texts scored in micro-batches off the event loop, and the
ones a pack rule flags handed on for review. The lexicon and hash bank, before delivery, are
the blocking controls; this stage only ever flags.

The server scores in a worker process of its own: model code holds the interpreter lock for
milliseconds a batch and the models take ~100 MB, which on the event loop's process cost a
fifth of the message throughput. Plugins handed in directly run on a thread (tests, tools).

A check that must decide before a text is stored (the news gate of public posts) names its
classifier as scored on demand: it is loaded in the same worker and scores one text when asked.
Classifiers are the built-in ones or an operator's, installed as a package that declares them
under the `townhall.classifiers` entry-point group."""

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
from enum import StrEnum
from importlib.metadata import entry_points
from importlib.util import find_spec
from pathlib import Path

from townhall.domain.classifiers import (
    BUILT_IN,
    PROFANITY_EN,
    ZH_NGRAM,
    Classifier,
    Flag,
    flags,
)
from townhall.domain.moderation import ClassifierRule, ModerationRules
from townhall.logs import configure as configure_logs

log = logging.getLogger(__name__)

DROP_WARNING_INTERVAL_SECONDS = 60.0
PARENT_CHECK_SECONDS = 1.0
PLUGIN_GROUP = "townhall.classifiers"  # operators' classifiers: name -> callable(data_dir)
BUILT_IN_PACKAGES = ("sklearn", "skops", "profanity_check")
_NOT_INSTALLED = (
    "classifier %s needs the classifiers extra (pip install 'townhall[classifiers]'); it stays off"
)


class WorkerState(StrEnum):
    OFF = "off"  # no worker process: no classifier to run, or none can be installed
    LOADING = "loading"  # started, loading its models
    UP = "up"
    DOWN = "down"  # failed to start, or does not answer


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
OnDemand = dict[str, Classifier]


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
        on_demand: Sequence[str] = (),
        batch_max: int = 256,
        batch_wait_ms: float = 5.0,
        queue_max: int = 10_000,
    ) -> None:
        self._rules = rules
        self._on_demand = tuple(on_demand)
        self._on_flag = on_flag
        self._batch_max = batch_max
        self._batch_wait = batch_wait_ms / 1000
        self._queue: asyncio.Queue[Item] = asyncio.Queue(maxsize=queue_max)
        self._executor: Executor | None = None
        self._surfaces = {
            surface for rule in rules.classifiers.values() for surface in rule.surfaces
        }
        self._score: Callable[[list[Item]], list[list[Flag]]] = _score_in_worker
        self._score_one: Callable[[str, str], dict[str, float]] = _score_one_in_worker
        self._ready_on_demand: frozenset[str] = frozenset()
        self._process_state = WorkerState.OFF
        self._worker: asyncio.Task[None] | None = None
        self._stopping = False
        self._dropped = 0
        self._last_drop_warning = float("-inf")
        active = _active(rules, plugins)
        wanted = _on_demand(self._on_demand, plugins)
        if active or wanted:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="classifiers")
            self._score = functools.partial(score_batch, active)
            self._score_one = functools.partial(score_one, wanted)
            self._ready_on_demand = frozenset(wanted)

    async def use_worker_process(self, data_dir: Path) -> list[str]:
        """Load the pack's classifiers in a process of their own and score there from now on;
        returns the names of those that run (none: the process is ended again, or not started
        when none of the classifiers named can be installed here)."""
        wanted = {*self._rules.classifiers, *self._on_demand}
        if not built_in_classifiers_installed() and wanted <= set(BUILT_IN):
            for name in sorted(wanted):
                log.warning(_NOT_INSTALLED, name)
            return []
        self._process_state = WorkerState.LOADING
        process = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),  # no fork of a running event loop
            initializer=_load_in_worker,
            initargs=(self._rules, self._on_demand, data_dir, os.getpid()),
        )
        try:
            names = await asyncio.get_running_loop().run_in_executor(process, _names_in_worker)
        except BaseException:  # stopped while loading: the worker must not outlive us
            process.shutdown(wait=False, cancel_futures=True)
            self._process_state = WorkerState.DOWN
            raise
        if not names:
            process.shutdown()
            self._process_state = WorkerState.OFF
            return names
        if self._executor is not None:
            self._executor.shutdown(wait=False)
        self._executor, self._score = process, _score_in_worker
        self._score_one = _score_one_in_worker
        self._ready_on_demand = frozenset(self._on_demand) & frozenset(names)
        self._process_state = WorkerState.UP
        return names

    async def worker_process_state(self, timeout_seconds: float) -> WorkerState:
        """The worker process's state; one that runs is asked to answer within the timeout (it
        answers between batches), so a dead or stuck worker reads as down."""
        if self._process_state != WorkerState.UP or self._executor is None:
            return self._process_state
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout_seconds):
                await loop.run_in_executor(self._executor, _names_in_worker)
        except Exception:
            return WorkerState.DOWN
        return WorkerState.UP

    async def score_now(self, name: str, text: str) -> dict[str, float] | None:
        """One text scored at once by a classifier loaded on demand; None while it is not loaded
        (not yet, or it cannot be), or when scoring fails: the caller decides without it."""
        if self._executor is None or name not in self._ready_on_demand:
            return None
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self._score_one, name, text)
        except Exception:  # the worker itself failed; _predict already answers for the model
            log.exception("classifier %s could not score a text on demand", name)
            return None

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


def _on_demand(names: Sequence[str], plugins: Sequence[Classifier]) -> OnDemand:
    return {p.name: p for p in plugins if p.name in names}


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


def score_one(on_demand: OnDemand, name: str, text: str) -> dict[str, float]:
    """The named classifier's scores of one text; none if it fails."""
    return _predict(on_demand[name], [text])[0]


# In the worker process: the classifiers it loaded at start.
_worker_active: Active = []
_worker_on_demand: OnDemand = {}


def _load_in_worker(
    rules: ModerationRules, on_demand: Sequence[str], data_dir: Path, server_pid: int
) -> None:
    configure_logs("info")
    threading.Thread(target=_exit_with, args=(server_pid,), daemon=True).start()
    plugins = build_plugins(rules, data_dir, on_demand=on_demand)
    _worker_active[:] = _active(rules, plugins)
    _worker_on_demand.update(_on_demand(on_demand, plugins))


def _exit_with(server_pid: int) -> None:
    """A server killed outright (SIGKILL, OOM) cannot stop its worker: the worker notices it
    was orphaned and ends, instead of living on and holding the server's output open."""
    while os.getppid() == server_pid:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _names_in_worker() -> list[str]:
    return sorted({plugin.name for plugin, _ in _worker_active} | set(_worker_on_demand))


def _score_in_worker(batch: list[Item]) -> list[list[Flag]]:
    return score_batch(_worker_active, batch)


def _score_one_in_worker(name: str, text: str) -> dict[str, float]:
    return score_one(_worker_on_demand, name, text)


def build_plugins(
    rules: ModerationRules, data_dir: Path, *, on_demand: Sequence[str] = ()
) -> list[Classifier]:
    """The classifiers the pack turns on (and those scored on demand) that can run: zh_ngram
    only once it has been trained. Loading takes a second or so; call it at start-up, not on
    the event loop's hot path."""
    plugins: list[Classifier] = []
    names = dict.fromkeys([*rules.classifiers, *on_demand])
    for name in names:
        plugin = _load(name, rules.classifiers.get(name), data_dir)
        if plugin is not None:
            plugins.append(plugin)
    log.info("classifiers on: %s", ", ".join(p.name for p in plugins) or "none")
    return plugins


def built_in_classifiers_installed() -> bool:
    """The built-in classifiers come with the `classifiers` extra (scikit-learn and the models):
    a default install leaves them out, and the lexicon and hash bank still block and hold."""
    return all(find_spec(package) is not None for package in BUILT_IN_PACKAGES)


def _load(name: str, rule: ClassifierRule | None, data_dir: Path) -> Classifier | None:
    if name in BUILT_IN and not built_in_classifiers_installed():
        log.warning(_NOT_INSTALLED, name)
        return None
    # Imported here, in the worker: scikit-learn alone is ~100 MB the server need not carry.
    from townhall.services.classifier_plugins import (
        ChineseNgram,
        EnglishProfanity,
        zh_ngram_path,
    )

    if name == PROFANITY_EN:
        if rule is not None and rule.category is None:
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
    return _installed(name, data_dir, built_in=BUILT_IN)


def _installed(name: str, data_dir: Path, *, built_in: Sequence[str]) -> Classifier | None:
    """An operator's classifier: a package declares `name = "module:factory"` under the
    `townhall.classifiers` entry-point group; the factory takes the data dir and returns an
    object with that `name` and `predict_batch` (domain/classifiers.py)."""
    declared = entry_points(group=PLUGIN_GROUP, name=name)
    if not declared:
        installed = sorted(entry.name for entry in entry_points(group=PLUGIN_GROUP))
        known = ", ".join([*built_in, *installed])
        log.warning("the pack names classifier %s, which does not exist; known: %s", name, known)
        return None
    entry = next(iter(declared))
    try:
        plugin = entry.load()(data_dir)
    except Exception:
        log.exception("classifier %s (%s) cannot be loaded; it stays off", name, entry.value)
        return None
    # Flags and on-demand scores are filed under the plugin's own name: it must be this one.
    if getattr(plugin, "name", None) != name or not hasattr(plugin, "predict_batch"):
        log.error("classifier %s (%s) is not one of that name; it stays off", name, entry.value)
        return None
    log.info("classifier %s loaded from %s", name, entry.value)
    return plugin
