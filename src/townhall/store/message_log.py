"""The message log: sends are appended many to a transaction (group commit), acked after commit.

One writer task drains everything queued while the previous batch was being written, so under
load a batch grows and the cost of a commit is shared; when idle a message is written alone at
once. Callbacks see each committed batch in commit order before any sender is answered, so
live delivery follows the same order as the stream in the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Row, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from townhall.domain.errors import Conflict, DomainError
from townhall.store.database import Database
from townhall.store.schema import inbox, messages

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: int
    conversation_id: int
    seq: int
    sender_id: int
    client_id: str
    text: str
    created_at_ms: int
    position: int


@dataclass(frozen=True, slots=True)
class Appended:
    message: StoredMessage
    recipients: tuple[int, ...]
    duplicate: bool
    origin: object = None  # the sender's connection, handed back untouched to on-commit callbacks


@dataclass(slots=True)
class _Request:
    conversation_id: int
    sender_id: int
    client_id: str
    text: str
    recipients: tuple[int, ...]
    origin: object
    future: asyncio.Future[Appended] = field(repr=False)


OnCommit = Callable[[Sequence[Appended]], None]


class MessageLog:
    def __init__(self, database: Database, *, batch_max: int, clock: Callable[[], float]) -> None:
        self._db = database
        self._batch_max = batch_max
        self._clock = clock
        self._queue: deque[_Request] = deque()
        self._wakeup = asyncio.Event()
        self._last_seq: dict[int, int] = {}
        self._on_commit: list[OnCommit] = []
        self._task: asyncio.Task[None] | None = None

    def on_commit(self, callback: OnCommit) -> None:
        self._on_commit.append(callback)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="message-log-writer")

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._task is None:
            return
        while self._queue:
            await asyncio.sleep(0.01)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    async def append(
        self,
        *,
        conversation_id: int,
        sender_id: int,
        client_id: str,
        text: str,
        recipients: tuple[int, ...],
        origin: object = None,
    ) -> Appended:
        future: asyncio.Future[Appended] = asyncio.get_running_loop().create_future()
        self._queue.append(
            _Request(conversation_id, sender_id, client_id, text, recipients, origin, future)
        )
        self._wakeup.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                size = min(len(self._queue), self._batch_max)
                batch = [self._queue.popleft() for _ in range(size)]
                await self._commit(batch)

    async def _commit(self, batch: list[_Request]) -> None:
        try:
            outcomes = await self._write(batch)
        except Exception:
            self._last_seq.clear()  # the failed batch advanced it; re-read from the database
            if len(batch) > 1:
                # Isolate the request that broke the batch: the others must not fail with it.
                for request in batch:
                    await self._commit([request])
                return
            log.exception("message append failed")
            _settle(
                batch[0].future,
                error=Conflict("the message could not be stored", code="message_not_stored"),
            )
            return
        fresh = [o for o in outcomes if isinstance(o, Appended) and not o.duplicate]
        if fresh:
            for callback in self._on_commit:
                callback(fresh)
        for request, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, DomainError):
                _settle(request.future, error=outcome)
            else:
                _settle(request.future, result=outcome)

    async def _write(self, batch: list[_Request]) -> list[Appended | DomainError]:
        now_ms = int(self._clock() * 1000)
        async with self._db.writing() as conn:
            known = await self._already_stored(conn, batch)
            counters = self._db.counters
            outcomes: list[Appended | DomainError] = []
            message_rows: list[dict] = []
            inbox_rows: list[dict] = []
            for request in batch:
                key = (request.sender_id, request.client_id)
                prior = known.get(key)
                if prior is not None:
                    outcomes.append(_resend(prior, request))
                    continue
                message = StoredMessage(
                    id=counters.take_message_id(),
                    conversation_id=request.conversation_id,
                    seq=await self._next_seq(conn, request.conversation_id),
                    sender_id=request.sender_id,
                    client_id=request.client_id,
                    text=request.text,
                    created_at_ms=now_ms,
                    position=counters.take_position(),
                )
                known[key] = message
                message_rows.append(_message_row(message))
                inbox_rows.extend(
                    {
                        "account_id": account_id,
                        "position": message.position,
                        "message_id": message.id,
                    }
                    for account_id in request.recipients
                )
                outcomes.append(Appended(message, request.recipients, False, request.origin))
            if message_rows:
                await conn.execute(insert(messages), message_rows)
                await conn.execute(insert(inbox), inbox_rows)
        return outcomes

    async def _already_stored(
        self, conn: AsyncConnection, batch: list[_Request]
    ) -> dict[tuple[int, str], StoredMessage]:
        """Messages already stored under a (sender, client_id) of this batch: resends."""
        wanted = {(r.sender_id, r.client_id) for r in batch}
        result = await conn.execute(
            select(messages).where(
                messages.c.sender_id.in_({sender for sender, _ in wanted}),
                messages.c.client_id.in_({client_id for _, client_id in wanted}),
            )
        )
        found = {}
        for row in result:
            if (row.sender_id, row.client_id) in wanted:
                found[(row.sender_id, row.client_id)] = stored_message(row)
        return found

    async def _next_seq(self, conn: AsyncConnection, conversation_id: int) -> int:
        seq = self._last_seq.get(conversation_id)
        if seq is None:
            seq = (
                await conn.scalar(
                    select(func.max(messages.c.seq)).where(
                        messages.c.conversation_id == conversation_id
                    )
                )
                or 0
            )
        seq += 1
        self._last_seq[conversation_id] = seq
        return seq


def stored_message(row: Row) -> StoredMessage:
    return StoredMessage(
        id=row.id,
        conversation_id=row.conversation_id,
        seq=row.seq,
        sender_id=row.sender_id,
        client_id=row.client_id,
        text=row.text,
        created_at_ms=row.created_at,
        position=row.position,
    )


def _resend(prior: StoredMessage, request: _Request) -> Appended | DomainError:
    """A resend with the same client_id gets the stored message; a different one is refused."""
    if prior.conversation_id != request.conversation_id or prior.text != request.text:
        return Conflict(
            "client_id was already used for a different message", code="client_id_reused"
        )
    return Appended(prior, request.recipients, True, request.origin)


def _message_row(message: StoredMessage) -> dict:
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "sender_id": message.sender_id,
        "client_id": message.client_id,
        "text": message.text,
        "created_at": message.created_at_ms,
        "position": message.position,
    }


def _settle(
    future: asyncio.Future[Appended],
    *,
    result: Appended | None = None,
    error: BaseException | None = None,
) -> None:
    if future.done():  # the sender went away; the message is stored all the same
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]
