"""The message log: sends are appended many to a transaction (group commit), acked after commit.

One writer task drains everything queued while the previous batch was being written, so under
load a batch grows and the cost of a commit is shared; when idle a message is written alone at
once. Callbacks see each committed batch in commit order before any sender is answered, so
live delivery follows the same order as the stream in the database.

Each message's text goes into the search index (store/search.py) in its batch's transaction.

A send may carry rows to write in its message's own transaction (`written_with`: the review case
and statement of reasons it raised, the forward it records), so the message and they commit
together or not at all. A batch holding such sends writes its messages on the writer's thread
as any other, then those rows through the same open transaction, then commits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from operator import attrgetter
from typing import Any, Protocol, TypeGuard

from sqlalchemy import (
    Connection,
    Dialect,
    Executable,
    Row,
    bindparam,
    func,
    insert,
    select,
    tuple_,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from townhall.domain.errors import Conflict, DomainError, ErrorCode
from townhall.store import search
from townhall.store.database import WRITES, AfterCommit, Database, Transaction
from townhall.store.group_commit import GroupCommit
from townhall.store.positions import ClusterPositions, SingleWriterPositions
from townhall.store.reachability import database_unavailable
from townhall.store.schema import inbox, messages
from townhall.store.storage import storage_full

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
    attachment: str | None = None  # JSON, e.g. the post a forward carries
    moderation: str | None = None  # None, "held" (its sender alone sees it) or "removed"
    reply_to: int | None = None  # the message of the same conversation it replies to
    mentions: str | None = None  # JSON: {"user_ids": [...], "everyone": bool}
    recalled_at: int | None = None  # recalled by its sender: members no longer see its text
    media: str | None = None  # JSON: the media objects it carries, as clients see them


@dataclass(frozen=True, slots=True)
class Appended:
    message: StoredMessage
    recipients: tuple[int, ...]
    duplicate: bool
    origin: object = None  # the sender's connection, handed back untouched to on-commit callbacks


WrittenWith = Callable[[Transaction, StoredMessage], Awaitable[None]]
"""Rows a send writes in its message's own transaction, given the message as stored."""


def together(first: WrittenWith | None, then: WrittenWith | None) -> WrittenWith | None:
    """One `written_with` that writes `first`, then `then` (None: nothing to write)."""
    if first is None or then is None:
        return first or then

    async def write_both(conn: Transaction, message: StoredMessage) -> None:
        await first(conn, message)
        await then(conn, message)

    return write_both


@dataclass(slots=True)
class _Request:
    conversation_id: int
    sender_id: int
    client_id: str
    text: str
    recipients: tuple[int, ...]
    origin: object
    attachment: str | None
    moderation: str | None
    written_with: WrittenWith | None
    reply_to: int | None
    mentions: str | None
    media: str | None


OnCommit = Callable[[Sequence[Appended]], None]


class MessageWriter(Protocol):
    """The port messages are written through (docs/architecture.md, "Ports").

    `append` queues the message; its future is done once the message is committed with its id,
    its per-conversation `seq` and its stream position, and readable (at or below
    `StreamPositions.persisted_upto()`); the `on_commit` callbacks have then seen it, batches in
    commit order. `written_with` writes the caller's rows (a review case, a forward's record) in
    the message's own transaction. A resend with the same `(sender_id, client_id)` returns the
    stored message as a duplicate and writes nothing.
    """

    def append(
        self,
        *,
        conversation_id: int,
        sender_id: int,
        client_id: str,
        text: str,
        recipients: tuple[int, ...],
        origin: object = None,
        attachment: str | None = None,
        moderation: str | None = None,
        written_with: WrittenWith | None = None,
        reply_to: int | None = None,
        mentions: str | None = None,
        media: str | None = None,
    ) -> asyncio.Future[Appended]: ...

    def on_commit(self, callback: OnCommit) -> None: ...

    @property
    def alive(self) -> bool:
        """Whether the writer is running and can take messages."""

    @property
    def queue_depth(self) -> int:
        """Messages waiting to be written."""


class MessageLog:
    """The adapter of `MessageWriter`: one writer task per process, handing each batch to
    `SqliteBatches` or `PostgresBatches`."""

    def __init__(self, database: Database, *, batch_max: int, clock: Callable[[], float]) -> None:
        self._db = database
        self._clock = clock
        self._group: GroupCommit[_Request, Appended] = GroupCommit(
            self._commit, batch_max=batch_max, name="message-log-writer"
        )
        self._on_commit: list[OnCommit] = []
        self._batches: SqliteBatches | PostgresBatches = (
            SqliteBatches(database) if database.single_process else PostgresBatches(database)
        )

    def on_commit(self, callback: OnCommit) -> None:
        self._on_commit.append(callback)

    @property
    def alive(self) -> bool:
        return self._group.alive

    @property
    def queue_depth(self) -> int:
        return self._group.queue_depth

    def start(self) -> None:
        self._group.start()

    async def stop(self) -> None:
        """Write everything queued, answer its senders, then stop."""
        if not self._group.running:
            return
        await self._group.stop()
        await self._batches.close()

    def append(
        self,
        *,
        conversation_id: int,
        sender_id: int,
        client_id: str,
        text: str,
        recipients: tuple[int, ...],
        origin: object = None,
        attachment: str | None = None,
        moderation: str | None = None,
        written_with: WrittenWith | None = None,
        reply_to: int | None = None,
        mentions: str | None = None,
        media: str | None = None,
    ) -> asyncio.Future[Appended]:
        """Queue the message to be stored (a resend of a stored one writes nothing, not even
        `written_with`): the future has it once it is committed and delivered."""
        return self._group.queued(
            _Request(
                conversation_id,
                sender_id,
                client_id,
                text,
                recipients,
                origin,
                attachment,
                moderation,
                written_with,
                reply_to,
                mentions,
                media,
            )
        )

    async def _commit(self, batch: Sequence[_Request]) -> list[Appended | DomainError]:
        now_ms = int(self._clock() * 1000)
        effects = AfterCommit()
        try:
            outcomes = await self._batches.write(batch, now_ms, effects)
        except Exception as error:
            if self._db.storage.refuses(error):  # none of the batch is to blame, none fits
                return [storage_full() for _ in batch]
            if self._db.reachability.refuses(error):  # nor when the database is away
                return [database_unavailable() for _ in batch]
            if len(batch) > 1:
                # Isolate the request that broke the batch: the others must not fail with it.
                return [outcome for request in batch for outcome in await self._commit([request])]
            if isinstance(error, DomainError):  # refused by what it writes with its message
                return [error]
            log.exception("message append failed")
            return [Conflict("the message could not be stored", code=ErrorCode.MESSAGE_NOT_STORED)]
        self._db.storage.wrote()
        fresh = [o for o in outcomes if isinstance(o, Appended) and not o.duplicate]
        if fresh:  # stored is stored: a failed push must not stall the log
            for callback in self._on_commit:
                effects.add(partial(callback, fresh))
        effects.run()
        return outcomes


class SqliteBatches:
    """A batch on SQLite: in the writer's turn, on the one thread that owns the writer's
    connection (a batch costs one hop off the event loop)."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._writer = BatchWriter(database)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="message-log")

    async def write(
        self, batch: Sequence[_Request], now_ms: int, effects: AfterCommit
    ) -> list[Appended | DomainError]:
        async with self._db.write_turn():
            if any(request.written_with is not None for request in batch):
                return await self._write_with(batch, now_ms, effects)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._thread, self._writer.write, batch, now_ms)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._writer.close)
        self._thread.shutdown()

    async def _write_with(
        self, batch: Sequence[_Request], now_ms: int, effects: AfterCommit
    ) -> list[Appended | DomainError]:
        """The batch's messages, then what each fresh one is written with, in one transaction."""
        loop = asyncio.get_running_loop()
        writer = self._writer
        outcomes = await loop.run_in_executor(
            self._thread, partial(writer.write, batch, now_ms, commit=False)
        )
        try:
            conn = Transaction(_OnWriterThread(writer.connection, self._thread), effects)
            await _write_what_comes_with(conn, batch, outcomes)
            await loop.run_in_executor(self._thread, writer.commit)
        except BaseException:
            await loop.run_in_executor(self._thread, writer.rollback)
            raise
        return outcomes


async def _write_what_comes_with(
    conn: Transaction, batch: Sequence[_Request], outcomes: Sequence[Appended | DomainError]
) -> None:
    for request, outcome in zip(batch, outcomes, strict=True):
        if request.written_with is not None and _fresh(outcome):
            await request.written_with(conn, outcome.message)


def _fresh(outcome: Appended | DomainError) -> TypeGuard[Appended]:
    return isinstance(outcome, Appended) and not outcome.duplicate


class _OnWriterThread:
    """The writer's open transaction as the repositories use a connection: each statement runs
    on the writer's thread, which owns the connection, and comes back with its rows read."""

    def __init__(self, connection: Connection, thread: ThreadPoolExecutor) -> None:
        self._connection = connection
        self._thread = thread

    async def execute(self, statement: Executable, parameters: Any = None) -> Any:
        return await asyncio.get_running_loop().run_in_executor(
            self._thread, self._execute, statement, parameters
        )

    async def scalar(self, statement: Executable, parameters: Any = None) -> Any:
        return await asyncio.get_running_loop().run_in_executor(
            self._thread, self._connection.scalar, statement, parameters
        )

    def _execute(self, statement: Executable, parameters: Any) -> Any:
        result = self._connection.execute(statement, parameters)
        return result.freeze()() if result.returns_rows else result


class BatchWriter:
    """Writes a batch in one transaction on a connection used only by the writer thread.

    The statements are SQLAlchemy Core, compiled once for the dialect and run with the driver's
    executemany. A resend is caught by the (sender_id, client_id) unique key: the common batch
    holds none and needs no lookup; one that does is rolled back and planned again.
    """

    def __init__(self, database: Database) -> None:
        self._db = database
        self._engine = database.sync_engine_for_writer()
        self._connection: Connection | None = None
        self._open: Any = None  # SQLAlchemy's transaction, left open for `written_with` rows
        self._last_seq: dict[int, int] = {}
        dialect = self._engine.dialect
        self._insert_message = _compile(
            _insert_ignoring_conflicts(["sender_id", "client_id"]), dialect
        )
        self._insert_inbox = _compile(insert(inbox), dialect)
        self._insert_index = _compile(insert(search.message_search), dialect)
        self._message_values = _message_values(self._insert_message.params)
        self._max_seq = _compile(
            select(func.max(messages.c.seq)).where(
                messages.c.conversation_id == bindparam("conversation_id")
            ),
            dialect,
        )
        self._find_sent = _compile(
            select(*messages.c).where(
                messages.c.sender_id == bindparam("sender_id"),
                messages.c.client_id == bindparam("client_id"),
            ),
            dialect,
        )

    @property
    def connection(self) -> Connection:
        """The writer's connection; the batch's own statements go to its driver directly."""
        if self._connection is None:
            self._connection = self._engine.connect().execution_options(**{WRITES: True})
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._engine.dispose()

    def write(
        self, batch: Sequence[_Request], now_ms: int, *, commit: bool = True
    ) -> list[Appended | DomainError]:
        """Write the batch in one transaction and commit it. With `commit=False` the transaction
        stays open for more statements on `connection`; then `commit()` or `rollback()`."""
        cursor = self.connection.connection.cursor()
        try:
            self._begin(cursor, held=not commit)
            outcomes, message_rows, inbox_rows, index_rows = self._plan(cursor, batch, now_ms, {})
            cursor.executemany(self._insert_message.sql, message_rows)
            if cursor.rowcount != len(message_rows):  # a resend: plan again knowing the sent
                self.rollback()
                known = self._already_sent(cursor, batch)
                self._begin(cursor, held=not commit)
                outcomes, message_rows, inbox_rows, index_rows = self._plan(
                    cursor, batch, now_ms, known
                )
                cursor.executemany(self._insert_message.sql, message_rows)
            if inbox_rows:
                cursor.executemany(self._insert_inbox.sql, inbox_rows)
            if index_rows:
                cursor.executemany(self._insert_index.sql, index_rows)
            if commit:
                cursor.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise
        finally:
            cursor.close()
        return outcomes

    def _begin(self, cursor: Any, *, held: bool) -> None:
        if held:  # SQLAlchemy's own, so that the statements of `written_with` join it
            self._open = self.connection.begin()
        else:  # the common batch: its begin and commit cost one driver call each
            cursor.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        """Commit the transaction `write(commit=False)` left open."""
        transaction, self._open = self._open, None
        transaction.commit()

    def rollback(self) -> None:
        """Roll back the open transaction, if any."""
        self._last_seq.clear()  # the failed batch advanced it; re-read from the database
        transaction, self._open = self._open, None
        if transaction is not None:
            transaction.rollback()
            return
        driver = self.connection.connection.dbapi_connection
        if driver is not None and driver.in_transaction:
            driver.rollback()

    def _plan(
        self,
        cursor: Any,
        batch: Sequence[_Request],
        now_ms: int,
        known: dict[tuple[int, str], StoredMessage],
    ) -> tuple[
        list[Appended | DomainError],
        list[tuple[Any, ...]],
        list[tuple[Any, ...]],
        list[tuple[Any, ...]],
    ]:
        """Each request's outcome, and the rows of the messages, inbox and search index."""
        positions = self._db.positions
        assert isinstance(positions, SingleWriterPositions)

        def number(request: _Request) -> tuple[int, int, int]:
            return (
                positions.take_message_id(),
                self._next_seq(cursor, request.conversation_id),
                positions.take_now(),
            )

        outcomes, fresh = _planned(batch, now_ms, known, number)
        inbox_params = self._insert_inbox.params
        message_rows = [self._message_values(a.message) for a in fresh]
        inbox_rows = [tuple(row[name] for name in inbox_params) for row in _inbox_rows(fresh)]
        index_params = self._insert_index.params
        index_rows = [tuple(row[name] for name in index_params) for row in _index_rows(fresh)]
        return outcomes, message_rows, inbox_rows, index_rows

    def _next_seq(self, cursor: Any, conversation_id: int) -> int:
        seq = self._last_seq.get(conversation_id)
        if seq is None:
            cursor.execute(self._max_seq.sql, (conversation_id,))
            seq = cursor.fetchone()[0] or 0
        seq += 1
        self._last_seq[conversation_id] = seq
        return seq

    def _already_sent(
        self, cursor: Any, batch: Sequence[_Request]
    ) -> dict[tuple[int, str], StoredMessage]:
        found = {}
        columns = [column.name for column in messages.c]
        for sender_id, client_id in {(r.sender_id, r.client_id) for r in batch}:
            values = {"sender_id": sender_id, "client_id": client_id}
            cursor.execute(self._find_sent.sql, tuple(values[n] for n in self._find_sent.params))
            row = cursor.fetchone()
            if row is not None:
                stored = _renamed(dict(zip(columns, row, strict=True)))
                found[(sender_id, client_id)] = StoredMessage(**stored)
        return found


def _planned(
    batch: Sequence[_Request],
    now_ms: int,
    known: dict[tuple[int, str], StoredMessage],
    number: Callable[[_Request], tuple[int, int, int]],
) -> tuple[list[Appended | DomainError], list[Appended]]:
    """Each request's outcome, and the messages to write: a resend of a stored message (or of
    one earlier in the batch) is answered with it; `number` gives a new message its id, its
    per-conversation seq and its position."""
    outcomes: list[Appended | DomainError] = []
    fresh: list[Appended] = []
    for request in batch:
        key = (request.sender_id, request.client_id)
        prior = known.get(key)
        if prior is not None:
            outcomes.append(_resend(prior, request))
            continue
        message_id, seq, position = number(request)
        message = StoredMessage(
            id=message_id,
            conversation_id=request.conversation_id,
            seq=seq,
            sender_id=request.sender_id,
            client_id=request.client_id,
            text=request.text,
            created_at_ms=now_ms,
            position=position,
            attachment=request.attachment,
            moderation=request.moderation,
            reply_to=request.reply_to,
            mentions=request.mentions,
            media=request.media,
        )
        known[key] = message
        appended = Appended(message, request.recipients, False, request.origin)
        fresh.append(appended)
        outcomes.append(appended)
    return outcomes, fresh


def _index_rows(fresh: Sequence[Appended]) -> list[dict[str, Any]]:
    return search.index_rows((a.message.id, a.message.text) for a in fresh)


def _inbox_rows(fresh: Sequence[Appended]) -> list[dict[str, int]]:
    return [
        {"account_id": account_id, "position": a.message.position, "message_id": a.message.id}
        for a in fresh
        for account_id in a.recipients
    ]


class PostgresBatches:
    """A batch on PostgreSQL is a write transaction of the cluster (store/database.py holds its
    write lock, so what is read here stays true until the commit): ids and positions from the
    sequences in one round trip, the seqs from the stored maxima, resends found by their
    (sender_id, client_id) before anything is written."""

    def __init__(self, database: Database) -> None:
        positions = database.positions
        assert isinstance(positions, ClusterPositions)
        self._db = database
        self._positions = positions

    async def write(
        self, batch: Sequence[_Request], now_ms: int, _effects: AfterCommit
    ) -> list[Appended | DomainError]:
        """The batch's messages, then what each fresh one is written with, in one transaction;
        the effects of `written_with` run once it commits (the transaction's own), before the
        callbacks see the batch."""
        async with self._db.writing() as conn:
            outcomes = await self._messages(conn, batch, now_ms)
            await _write_what_comes_with(conn, batch, outcomes)
        return outcomes

    async def close(self) -> None:
        """Nothing of its own to close: its connections are the database's."""

    async def _messages(
        self, conn: Transaction, batch: Sequence[_Request], now_ms: int
    ) -> list[Appended | DomainError]:
        known = await self._already_sent(conn, batch)
        last_seq = await self._last_seqs(conn, {request.conversation_id for request in batch})
        numbers = iter(await self._positions.take_for_messages(conn, len(batch)))

        def number(request: _Request) -> tuple[int, int, int]:
            message_id, position = next(numbers)
            last_seq[request.conversation_id] = last_seq.get(request.conversation_id, 0) + 1
            return message_id, last_seq[request.conversation_id], position

        outcomes, fresh = _planned(batch, now_ms, known, number)
        if fresh:
            await conn.execute(insert(messages), [_message_row(a.message) for a in fresh])
        inbox_rows = _inbox_rows(fresh)
        if inbox_rows:
            await conn.execute(insert(inbox), inbox_rows)
        index_rows = _index_rows(fresh)
        if index_rows:
            await conn.execute(insert(search.message_search), index_rows)
        return outcomes

    @staticmethod
    async def _already_sent(
        conn: Transaction, batch: Sequence[_Request]
    ) -> dict[tuple[int, str], StoredMessage]:
        keys = {(request.sender_id, request.client_id) for request in batch}
        rows = await conn.execute(
            select(*messages.c).where(tuple_(messages.c.sender_id, messages.c.client_id).in_(keys))
        )
        return {(row.sender_id, row.client_id): stored_message(row) for row in rows}

    @staticmethod
    async def _last_seqs(conn: Transaction, conversation_ids: set[int]) -> dict[int, int]:
        rows = await conn.execute(
            select(messages.c.conversation_id, func.max(messages.c.seq))
            .where(messages.c.conversation_id.in_(conversation_ids))
            .group_by(messages.c.conversation_id)
        )
        return {conversation_id: seq for conversation_id, seq in rows}


@dataclass(frozen=True, slots=True)
class CompiledStatement:
    sql: str
    params: tuple[str, ...]  # bind names in positional order


def _compile(statement: Any, dialect: Dialect) -> CompiledStatement:
    compiled = statement.compile(dialect=dialect)
    return CompiledStatement(compiled.string, tuple(compiled.positiontup or ()))


def _insert_ignoring_conflicts(columns: list[str]) -> Any:
    return sqlite_insert(messages).on_conflict_do_nothing(index_elements=columns)


def _renamed(row: dict[str, Any]) -> dict[str, Any]:
    row["created_at_ms"] = row.pop("created_at")
    return row


def stored_message(row: Row[Any]) -> StoredMessage:
    """A row of the messages table as its record (`created_at` is `created_at_ms` there)."""
    return StoredMessage(
        id=row.id,
        conversation_id=row.conversation_id,
        seq=row.seq,
        sender_id=row.sender_id,
        client_id=row.client_id,
        text=row.text,
        created_at_ms=row.created_at,
        position=row.position,
        attachment=row.attachment,
        moderation=row.moderation,
        reply_to=row.reply_to,
        mentions=row.mentions,
        recalled_at=row.recalled_at,
        media=row.media,
    )


def _resend(prior: StoredMessage, request: _Request) -> Appended | DomainError:
    """A resend with the same client_id gets the stored message; a different one is refused."""
    if (prior.conversation_id, prior.text, prior.attachment, prior.reply_to, prior.media) != (
        request.conversation_id,
        request.text,
        request.attachment,
        request.reply_to,
        request.media,
    ):
        return Conflict(
            "client_id was already used for a different message", code=ErrorCode.CLIENT_ID_REUSED
        )
    return Appended(prior, request.recipients, True, request.origin)


# A message's columns, each with the StoredMessage attribute it is written from.
MESSAGE_COLUMNS = {
    "id": "id",
    "conversation_id": "conversation_id",
    "seq": "seq",
    "sender_id": "sender_id",
    "client_id": "client_id",
    "text": "text",
    "created_at": "created_at_ms",
    "position": "position",
    "attachment": "attachment",
    "moderation": "moderation",
    "reply_to": "reply_to",
    "mentions": "mentions",
    "recalled_at": "recalled_at",
    "media": "media",
}


def _message_row(message: StoredMessage) -> dict[str, Any]:
    return {column: getattr(message, name) for column, name in MESSAGE_COLUMNS.items()}


def _message_values(params: Sequence[str]) -> Callable[[StoredMessage], tuple[Any, ...]]:
    """A message's values in the order of `params` (a compiled statement's), in one call."""
    assert len(params) > 1  # attrgetter of one name would give a value, not a tuple
    return attrgetter(*(MESSAGE_COLUMNS[column] for column in params))
