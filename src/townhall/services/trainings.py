"""The record of classifier trainings, so staff can read what each measured on the decisions
held out (precision and recall per category) without the model file or its libraries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from townhall.domain.permissions import Permission
from townhall.services.audit import AuditTrail
from townhall.services.principal import Principal, require
from townhall.store import moderation_runs as runs_store
from townhall.store.database import Database

LISTED = 10


@dataclass(frozen=True, slots=True)
class Training:
    id: int
    classifier: str
    trained_at: int
    report: dict[str, Any]  # TrainingReport.render(): counts and measures, never a text


class Trainings:
    def __init__(
        self, database: Database, audit: AuditTrail, *, clock: Callable[[], float]
    ) -> None:
        self._db = database
        self._audit = audit
        self._clock = clock

    async def record(self, classifier: str, report: dict[str, Any]) -> int:
        """A training the operator ran at the command line, with its report."""
        async with self._db.writing() as conn:
            training_id = await runs_store.insert_training(
                conn,
                classifier=classifier,
                trained_at=int(self._clock() * 1000),
                report=orjson.dumps(report).decode(),
            )
            await self._audit.record(
                conn,
                None,
                "classifier.train",
                subject=("training", training_id),
                details={
                    "classifier": classifier,
                    "training_size": report["training_size"],
                    "validation_size": report["validation_size"],
                },
            )
        return training_id

    async def latest(self, actor: Principal) -> list[Training]:
        require(actor, Permission.READ_LEXICON)
        async with self._db.reading() as conn:
            stored = await runs_store.latest_trainings(conn, limit=LISTED)
        return [
            Training(one.id, one.classifier, one.trained_at, orjson.loads(one.report))
            for one in stored
        ]
