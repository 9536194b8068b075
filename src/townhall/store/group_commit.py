"""Group commit for small writes that arrive many at a time (messages, views of a post):
everything queued while one transaction runs goes into the next, and each caller gets its own
result — or its own error, when the commit returns an exception in that caller's place."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from townhall.domain.errors import DomainError

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    def __init__(
        self,
        commit: Callable[[Sequence[Item]], Awaitable[Sequence[Result | BaseException]]],
        *,
        batch_max: int,
        name: str,
    ) -> None:
        self._commit = commit
        self._batch_max = batch_max
        self._name = name
        self._queue: deque[tuple[Item, asyncio.Future[Result]]] = deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    @property
    def running(self) -> bool:
        return self._task is not None

    @property
    def queue_depth(self) -> int:
        """Items waiting for the next batch."""
        return len(self._queue)

    @property
    def alive(self) -> bool:
        """Started and its task has not ended (an unexpected exception would end it)."""
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        """Commit everything queued, answer its callers, then stop."""
        if self._task is None:
            return
        self._stopping = True
        self._wakeup.set()
        await self._task
        self._task = None

    async def submit(self, item: Item) -> Result:
        return await self.queued(item)

    def queued(self, item: Item) -> asyncio.Future[Result]:
        """Queue `item` for the next batch: the future has its result once that commits."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        self._wakeup.set()
        return future

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                size = min(len(self._queue), self._batch_max)
                await self._commit_batch([self._queue.popleft() for _ in range(size)])
            if self._stopping:
                return

    async def _commit_batch(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        """Every caller of the batch is answered, whatever happens: none waits forever, and the
        writer goes on to the next batch."""
        try:
            results = await self._commit([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{len(results)} results for a batch of {len(batch)}")
        except DomainError as refused:  # a refusal of the whole batch (a full disk): no bug
            results = [refused] * len(batch)
        except Exception as exc:
            log.exception("%s: a batch of %d failed", self._name, len(batch))
            results = [exc] * len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # the caller went away; the write stands
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
