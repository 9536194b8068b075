"""What the server measures of itself for `/metrics`, beyond the requests it answers: the
message writer, the bus, the classifier worker, the review queue and the audit log's
checkpoints."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from townhall.bus.base import Bus
from townhall.domain.audit import CheckpointError
from townhall.services.audit import AuditLog
from townhall.services.classifiers import ClassifierStage, WorkerState
from townhall.services.review import QueueSummary, ReviewDesk
from townhall.services.sync import SyncService
from townhall.store.message_log import Appended, MessageWriter

WORKER_ANSWER_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class VitalSigns:
    writer_queue_depth: int
    long_polls_waiting: int
    bus_connected: bool
    bus_dropped: int
    classifier_worker: WorkerState
    checkpoint_age_seconds: float | None  # None: no checkpoint yet, or none that verifies
    checkpoint_verifies: bool  # the newest checkpoint's signature checks (True when none yet)
    review: QueueSummary


class Vitals:
    def __init__(
        self,
        writer: MessageWriter,
        bus: Bus,
        sync: SyncService,
        classifiers: ClassifierStage,
        review: ReviewDesk,
        audit_log: AuditLog,
        *,
        clock: Callable[[], float],
    ) -> None:
        self._writer = writer
        self._bus = bus
        self._sync = sync
        self._classifiers = classifiers
        self._review = review
        self._audit_log = audit_log
        self._clock = clock

    def watch_batches(self, observe: Callable[[int], None]) -> None:
        """`observe` gets the size of each batch the message writer commits."""

        def on_commit(batch: Sequence[Appended]) -> None:
            observe(len(batch))

        self._writer.on_commit(on_commit)

    async def read(self) -> VitalSigns:
        try:
            newest = self._audit_log.newest_checkpoint()
        except CheckpointError:
            newest, verifies = None, False
        else:
            verifies = True
        age = None if newest is None else self._clock() - newest[0].at_ms / 1000
        return VitalSigns(
            writer_queue_depth=self._writer.queue_depth,
            long_polls_waiting=self._sync.waiting,
            bus_connected=self._bus.connected,
            bus_dropped=self._bus.dropped,
            classifier_worker=await self._classifiers.worker_process_state(WORKER_ANSWER_SECONDS),
            checkpoint_age_seconds=age,
            checkpoint_verifies=verifies,
            review=await self._review.counts(),
        )
