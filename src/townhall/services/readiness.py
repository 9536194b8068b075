"""Whether this node can serve (`/readyz`): each thing it depends on, checked for real each time,
so a load balancer or an orchestrator sends no traffic to a node that would fail it."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from townhall.domain.errors import StorageFull
from townhall.services.classifiers import ClassifierStage, WorkerState
from townhall.store import keys as key_store
from townhall.store import readiness as readiness_store
from townhall.store.database import Database
from townhall.store.message_log import MessageWriter
from townhall.store.migrate import head_revision

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 2.0
DISK_FULL = "the disk is full: writes are refused until space is freed"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str  # what was found, for an operator; never a secret or personal data


class Readiness:
    def __init__(
        self,
        database: Database,
        writer: MessageWriter,
        classifiers: ClassifierStage,
        *,
        keys_dir: Path,
        audit_signing_key: Path,
        classifiers_enabled: bool,
        clock: Callable[[], float],
    ) -> None:
        self._db = database
        self._writer = writer
        self._classifiers = classifiers
        self._keys_dir = keys_dir
        self._audit_signing_key = audit_signing_key
        self._classifiers_enabled = classifiers_enabled
        self._clock = clock
        self._node = socket.gethostname()
        self._head = head_revision()

    async def checks(self) -> list[Check]:
        return [
            await self._database(),
            self._writer_check(),
            await self._migrations(),
            self._keys(),
            await self._classifier_worker(),
        ]

    async def _database(self) -> Check:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), self._db.writing() as conn:
                await readiness_store.record_probe(conn, self._node, int(self._clock() * 1000))
        except StorageFull:  # logged once, when writes began to fail
            return Check("database", False, DISK_FULL)
        except Exception as error:  # whatever stops a write makes the node unready
            log.warning("readiness: the database took no write (%s)", type(error).__name__)
            return Check("database", False, f"a write failed: {type(error).__name__}")
        if self._db.storage.full:  # the probe fitted, but the disk has no room for more
            return Check("database", False, DISK_FULL)
        return Check("database", True, "writable")

    def _writer_check(self) -> Check:
        if self._writer.alive:
            return Check("writer", True, "running")
        return Check("writer", False, "the message writer is not running")

    async def _migrations(self) -> Check:
        try:
            async with self._db.reading() as conn:
                revision = await readiness_store.schema_revision(conn)
        except Exception as error:
            return Check("migrations", False, f"unreadable: {type(error).__name__}")
        if revision != self._head:
            return Check(
                "migrations", False, f"schema at {revision}, this release needs {self._head}"
            )
        return Check("migrations", True, f"at {revision}")

    def _keys(self) -> Check:
        try:
            key_store.check_readable(self._keys_dir, self._audit_signing_key)
        except (OSError, ValueError) as error:
            return Check("keys", False, f"a key file cannot be read: {type(error).__name__}")
        return Check("keys", True, "readable")

    async def _classifier_worker(self) -> Check:
        if not self._classifiers_enabled:
            return Check("classifiers", True, "turned off in the settings")
        state = await self._classifiers.worker_process_state(CHECK_TIMEOUT_SECONDS)
        ok = state in (WorkerState.UP, WorkerState.OFF)
        meaning = {
            WorkerState.UP: "the worker process answers",
            WorkerState.OFF: "no classifier to run (see the start-up log)",
            WorkerState.LOADING: "the worker process is loading its models",
            WorkerState.DOWN: "the worker process does not answer",
        }
        return Check("classifiers", ok, meaning[state])
