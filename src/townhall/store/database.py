"""The database handle: engine, the one-writer discipline, and its stream positions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import stat
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine, Executable, create_engine, event, func, make_url, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool, StaticPool

from townhall.store.positions import (
    POSITIONS_CHANNEL,
    SETTLED_TOP,
    ClusterPositions,
    SingleWriterPositions,
)
from townhall.store.prepared import Plans
from townhall.store.reachability import Reachability
from townhall.store.schema import events, messages
from townhall.store.storage import StorageWatch

log = logging.getLogger(__name__)
T = TypeVar("T")


class DbConnection(Protocol):
    """What the repositories use of a connection: the async engine's for writes, an inline
    reader's for reads."""

    async def execute(self, statement: Executable, parameters: Any = None) -> Any: ...

    async def scalar(self, statement: Executable, parameters: Any = None) -> Any: ...


Effect = Callable[[], None]


class AfterCommit:
    """The effects outside the database that wait for a transaction to commit: bus publishes,
    cache forgets, notices rung. They run once, in the order they were added, after the commit;
    a rollback drops them. One that fails is logged and the rest still run: what is committed
    stays committed, and the caller is answered."""

    __slots__ = ("_effects",)

    def __init__(self) -> None:
        self._effects: list[Effect] = []

    def add(self, effect: Effect) -> None:
        self._effects.append(effect)

    def run(self) -> None:
        effects, self._effects = self._effects, []
        for effect in effects:
            try:
                effect()
            except Exception:
                log.exception("an effect after commit failed")


class Transaction:
    """A write transaction as a service sees it: the statements it runs, and `after_commit` for
    what may only happen once they are committed. The one place where effects wait for a
    commit: a bus between processes and cross-process cache invalidation hook in here."""

    __slots__ = ("_connection", "_effects")

    def __init__(self, connection: DbConnection, effects: AfterCommit) -> None:
        self._connection = connection
        self._effects = effects

    async def execute(self, statement: Executable, parameters: Any = None) -> Any:
        return await self._connection.execute(statement, parameters)

    async def scalar(self, statement: Executable, parameters: Any = None) -> Any:
        return await self._connection.scalar(statement, parameters)

    def after_commit(self, effect: Effect) -> None:
        """Run `effect` once the transaction commits (never, if it rolls back)."""
        self._effects.add(effect)


class InlineReader:
    """A read transaction run on the event loop's own thread.

    An indexed SQLite read takes microseconds, while handing each step of a query to aiosqlite's
    thread and back cost ~0.5 ms of CPU per query. Readers never wait for the writer in WAL mode,
    but a read holds up the event loop for as long as it runs: keep reads indexed and bounded.
    Writes keep the async engine (they may wait for a lock held by another process).

    A read marked `prepared` runs on the stdlib connection itself (store/prepared.py); any other
    through SQLAlchemy, on the same connection. The block's first read begins its transaction,
    whichever kind it is (a prepared one on the connection, which SQLAlchemy's begin then leaves
    be), so that all its reads see one snapshot; the block's end rolls it back.
    """

    def __init__(self, connection: ReadConnection, plans: Plans) -> None:
        self._connection = connection
        self._plans = plans

    async def execute(self, statement: Executable, parameters: Any = None) -> Any:
        plan = self._plans.plan_for(statement)
        if plan is None:
            return self._connection.sqlalchemy().execute(statement, parameters)
        driver = self._connection.driver
        if not driver.in_transaction:
            driver.execute("BEGIN")
        return plan.run(driver, parameters)

    async def scalar(self, statement: Executable, parameters: Any = None) -> Any:
        return (await self.execute(statement, parameters)).scalar()


class ReadConnection:
    """One stdlib connection that inline reads run on, kept open between read blocks, and an
    engine of its own over it (a StaticPool: that one connection) for what is not prepared.

    A block of prepared reads then costs no pool checkout and no SQLAlchemy `Connection`: those
    took about 20 µs of CPU a block, more than a prepared read itself."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Opened here, outside any block: giving the pool's connection back rolls it back.
        pooled = engine.raw_connection()  # with the engine's pragmas
        self.driver = _stdlib(pooled.driver_connection)
        pooled.close()  # back to the StaticPool, which keeps it open
        self._sqlalchemy: Connection | None = None

    def sqlalchemy(self) -> Connection:
        if self._sqlalchemy is None:
            self._sqlalchemy = self.engine.connect()
        return self._sqlalchemy

    def end(self) -> None:
        """The block's transaction rolled back (a read has nothing to keep)."""
        if self._sqlalchemy is not None:
            self._sqlalchemy.close()  # the pool's reset on return rolls back
            self._sqlalchemy = None
        if self.driver.in_transaction:
            self.driver.rollback()


def _stdlib(driver: Any) -> sqlite3.Connection:
    """The stdlib connection under one of SQLite's synchronous engines."""
    if not isinstance(driver, sqlite3.Connection):
        raise TypeError(f"a pysqlite connection was expected, not {type(driver).__name__}")
    return driver


READERS_KEPT = 8  # read connections kept open between blocks; more are opened when needed
RECONNECT_PAUSE_SECONDS = 1.0
# Work on a connection of a process's own (Database.keep_connected): the connection, and an
# event set when it is lost.
UseConnection = Callable[[Any, asyncio.Event], Awaitable[None]]


class Database:
    def __init__(self, engine: AsyncEngine, *, sqlite_synchronous: str = "NORMAL") -> None:
        self.engine = engine
        # SQLite: one writing process per database; PostgreSQL: as many as share it.
        self.single_process = engine.dialect.name == "sqlite"
        self._sqlite_synchronous = sqlite_synchronous
        self.positions: SingleWriterPositions | ClusterPositions = (
            SingleWriterPositions() if self.single_process else ClusterPositions()
        )
        self.storage = StorageWatch(_database_folder(engine))
        self.reachability = Reachability()
        self._write_lock = asyncio.Lock()
        # SQLite reads run inline (see InlineReader), PostgreSQL's on the async engine. A read
        # block that finds no idle connection opens one: one that had to wait would block the
        # event loop.
        self._idle_readers: list[ReadConnection] = []
        self._plans = Plans(self._read_engine().dialect) if self.single_process else None

    @asynccontextmanager
    async def write_turn(self) -> AsyncIterator[None]:
        """The one writer's turn. SQLite admits one writer at a time anyway, and holding the turn
        while taking positions and committing keeps position order and commit order the same."""
        async with self._write_lock:
            yield
            self.positions.turn_ended()

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[Transaction]:
        """A write transaction in the writer's turn, holding SQLite's write lock from its start:
        a transaction that reads before it writes would otherwise fail at once ("database is
        locked") when another process (a CLI command) commits in between. Its effects after
        commit run once the turn is over, when readers see what it wrote. A write the disk has
        no room for rolls back whole and raises `StorageFull`."""
        effects = AfterCommit()
        with self.storage.guarding(), self.reachability.guarding():
            async with self.write_turn(), self.engine.connect() as conn:
                await conn.execution_options(**{WRITES: True})
                async with conn.begin():
                    yield Transaction(conn, effects)
                    if isinstance(self.positions, ClusterPositions):
                        await self.positions.announce(conn)
        self.storage.wrote()
        effects.run()

    def sync_engine_for_writer(self) -> Engine:
        """A synchronous engine on the same database, for a dedicated writer thread."""
        return self._sync_engine(NullPool)

    def _sync_engine(
        self, poolclass: type, *, inline_reads: bool = False, **pool_options: Any
    ) -> Engine:
        url = self.engine.url.set(drivername=SYNC_DRIVERS[self.engine.dialect.name])
        engine = create_engine(url, poolclass=poolclass, hide_parameters=True, **pool_options)
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine, self._sqlite_synchronous, inline_reads=inline_reads)
        return engine

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[DbConnection]:
        """One consistent snapshot for the queries inside the block."""
        if self._plans is None:
            with self.reachability.guarding():
                async with self.engine.connect() as conn:
                    await conn.execution_options(isolation_level="REPEATABLE READ")
                    async with conn.begin():
                        yield conn
            return
        idle = self._idle_readers
        connection = idle.pop() if idle else ReadConnection(self._read_engine())
        try:
            yield InlineReader(connection, self._plans)
        finally:
            connection.end()
            if len(idle) < READERS_KEPT:
                idle.append(connection)
            else:
                connection.engine.dispose()

    def _read_engine(self) -> Engine:
        return self._sync_engine(StaticPool, inline_reads=True)

    async def load_positions(self) -> None:
        """Carry on above the highest message id and stream position stored."""
        if isinstance(self.positions, ClusterPositions):
            self.positions.load(await self._settled_top())
            return

        async def read() -> tuple[int | None, int | None, int | None]:
            async with self._write_lock, self.engine.connect() as conn:
                return (
                    await conn.scalar(select(func.max(messages.c.id))),
                    await conn.scalar(select(func.max(messages.c.position))),
                    await conn.scalar(select(func.max(events.c.position))),
                )

        max_message, max_message_position, max_event_position = await outwaiting_writers(
            read, "reading the stream positions"
        )
        self.positions.load(
            top_position=max(max_message_position or 0, max_event_position or 0),
            top_message_id=max_message or 0,
        )

    async def _settled_top(self) -> int:
        async with self.engine.connect() as conn:
            await conn.execution_options(**{WRITES: True})
            async with conn.begin():
                return int(await conn.scalar(SETTLED_TOP))

    async def follow_positions(self) -> None:
        """Hear every position another process commits, for as long as the task runs: on
        PostgreSQL, LISTEN on the channel commits announce on (store/positions.py); a lost
        connection is made again, and what was missed meanwhile is read from the database."""
        if isinstance(self.positions, ClusterPositions):
            await self.keep_connected(
                partial(self._listen, self.positions), "listening for stream positions"
            )

    async def keep_connected(self, use: UseConnection, what: str) -> None:
        """A PostgreSQL connection of this process's own, outside the pool, for as long as the
        task runs: `use(connection, lost)` runs on each one made (`lost` is set when it
        closes). When it returns or fails, or no connection can be made, another is made a
        second later; a loss is logged, and the first failure in a row."""
        warned = False
        while True:
            try:
                await self._on_own_connection(use)
                log.warning("%s: the connection was lost; making another", what)
                warned = False
            except Exception as error:
                if not warned:
                    log.warning("%s: the connection failed (%s); trying again each second",
                                what, type(error).__name__)  # fmt: skip
                    warned = True
            await asyncio.sleep(RECONNECT_PAUSE_SECONDS)

    async def _on_own_connection(self, use: UseConnection) -> None:
        import asyncpg  # the postgresql extra; only a PostgreSQL database gets here

        connection = await asyncpg.connect(self.asyncpg_dsn())
        try:
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _conn: lost.set())
            await use(connection, lost)
        finally:
            connection.terminate()

    def asyncpg_dsn(self) -> str:
        """The database's URL as asyncpg takes it, for connections of its own."""
        return self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    async def _listen(
        self, positions: ClusterPositions, listener: Any, lost: asyncio.Event
    ) -> None:
        """Until the connection is lost."""
        await listener.add_listener(POSITIONS_CHANNEL, lambda *args: positions.heard(args[-1]))
        positions.load(await self._settled_top())
        await lost.wait()

    async def dispose(self) -> None:
        for connection in self._idle_readers:
            connection.engine.dispose()
        self._idle_readers.clear()
        await self.engine.dispose()


def _database_folder(engine: AsyncEngine) -> Path | None:
    """The folder of a SQLite database's files, whose disk may fill; None for a server."""
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return None
    return Path(engine.url.database).parent


def prepare_storage(data_dir: Path, url: str) -> None:
    """The data dir (0700) and, for SQLite, an empty database file (0600) before first use:
    SQLite gives its -wal and -shm files the database file's permissions. A data dir or database
    someone made beforehand with looser modes is closed down to these: it holds personal data."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    _only_owner(data_dir, 0o700)
    database_url = make_url(url)
    if database_url.get_backend_name() != "sqlite" or not database_url.database:
        return
    with contextlib.suppress(FileExistsError):
        os.close(os.open(database_url.database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    database = Path(database_url.database)
    for path in (database, *(database.with_name(database.name + end) for end in ("-wal", "-shm"))):
        _only_owner(path, 0o600)


def _only_owner(path: Path, mode: int) -> None:
    if not path.exists():
        return
    found = stat.S_IMODE(path.stat().st_mode)
    if found & 0o077:
        log.warning("%s was open to others (mode %o); now %o", path, found, mode)
        path.chmod(mode)


WRITES = "townhall_writes"  # execution option marking a write transaction
# How long start-up waits for another process's writes (a CLI command, a second server migrating
# the same fresh database) before it gives up: far longer than any one write transaction takes.
STARTUP_LOCK_WAIT_SECONDS = 120.0
LOCK_RETRY_PAUSE_SECONDS = 0.05


def is_locked(error: OperationalError) -> bool:
    """SQLite's "database is locked" (SQLITE_BUSY and its extended codes) from any driver."""
    code = getattr(error.orig, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


async def outwaiting_writers(
    attempt: Callable[[], Awaitable[T]],
    what: str,
    *,
    wait_seconds: float = STARTUP_LOCK_WAIT_SECONDS,
) -> T:
    """Run `attempt` (one whole transaction) again while another process holds the database's
    lock, for up to `wait_seconds`: start-up waits for a concurrent writer instead of dying on it.
    SQLite's busy timeout (5 s) already waits within one attempt; this covers a writer that holds
    its lock longer, or several writers in turn."""
    deadline = time.monotonic() + wait_seconds
    warned = False
    while True:
        try:
            return await attempt()
        except OperationalError as error:
            if not is_locked(error) or time.monotonic() > deadline:
                raise
            if not warned:
                log.warning("%s: another process is writing; waiting for it", what)
                warned = True
        await asyncio.sleep(LOCK_RETRY_PAUSE_SECONDS)


SYNC_DRIVERS = {"sqlite": "sqlite+pysqlite"}  # SQLite's inline reads and its writer thread
SYNCHRONOUS_PRAGMAS = {"NORMAL": "PRAGMA synchronous=NORMAL", "FULL": "PRAGMA synchronous=FULL"}


def open_database(
    url: str, *, sqlite_synchronous: str = "NORMAL", pool_size: int = 10, pool_overflow: int = 10
) -> Database:
    """`pool_size` and `pool_overflow`: PostgreSQL's connections kept open, and opened beyond
    those while busy."""
    # hide_parameters: a failed statement's error must not carry hashes or ciphertexts to logs.
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_async_engine(url, hide_parameters=True)
        _configure_sqlite(engine.sync_engine, sqlite_synchronous)
    else:
        engine = create_async_engine(
            url,
            hide_parameters=True,
            pool_size=pool_size,
            max_overflow=pool_overflow,
            **POSTGRESQL_ENGINE_OPTIONS,
        )
        _configure_postgresql(engine.sync_engine)
    return Database(engine, sqlite_synchronous=sqlite_synchronous)


# A request never hangs on a database that is away: connecting gives up after 5 s and a statement
# after 60 s (then 503 database_unavailable, store/reachability.py); a request waits at most 10 s
# for one of the pool's connections.
POSTGRESQL_ENGINE_OPTIONS: dict[str, Any] = {
    "pool_timeout": 10,
    "connect_args": {"timeout": 5, "command_timeout": 60},
}


# The key of the cluster's one write lock (a PostgreSQL advisory lock), any 64-bit number that
# nothing else on the server uses: "townhall" in ASCII.
WRITE_LOCK_KEY = int.from_bytes(b"townhall", "big") - 2**63


def _configure_postgresql(engine: Engine) -> None:
    # One writer at a time in the whole cluster, as SQLite has one per file: every write
    # transaction takes the same advisory lock at its start and holds it until it ends, so the
    # rules the services check before they write hold across processes, positions commit in the
    # order they were taken, and the audit log stays one chain (docs/architecture.md).
    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(WRITES, False):
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")


def _configure_sqlite(engine: Engine, synchronous: str, *, inline_reads: bool = False) -> None:
    # WAL lets readers run beside the writer. With synchronous=NORMAL a commit survives a crash
    # of the process (the WAL is written before commit returns) but the last transactions may
    # be lost on power loss; FULL also syncs the WAL on every commit (docs/durability.md).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(SYNCHRONOUS_PRAGMAS[synchronous])
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if inline_reads and _stdlib(conn.connection.driver_connection).in_transaction:
            return  # a prepared read began it (InlineReader)
        writes = conn.get_execution_options().get(WRITES, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")
