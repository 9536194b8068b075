"""The moderation pipeline's long runs, as any process may show them: rescans with their
progress, and classifier trainings with what they measured."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select, update

from townhall.store.database import DbConnection
from townhall.store.records import record_or_none, records
from townhall.store.schema import classifier_trainings, rescans


@dataclass(frozen=True, slots=True)
class StoredRescan:
    id: int
    requested_by: int | None  # None: the operator at the command line
    since_at: int
    state: str
    total: int
    scanned: int
    queued: int
    decisions: str  # JSON object: decision -> count
    started_at: int
    heartbeat_at: int
    finished_at: int | None


@dataclass(frozen=True, slots=True)
class StoredTraining:
    id: int
    classifier: str
    trained_at: int
    report: str  # JSON: the training report, counts and measures only


async def insert_rescan(conn: DbConnection, **values: object) -> int:
    result = await conn.execute(insert(rescans).values(**values).returning(rescans.c.id))
    rescan_id: int = result.scalar_one()
    return rescan_id


async def update_rescan(conn: DbConnection, rescan_id: int, **values: object) -> None:
    await conn.execute(update(rescans).where(rescans.c.id == rescan_id).values(**values))


async def rescan(conn: DbConnection, rescan_id: int) -> StoredRescan | None:
    row = (await conn.execute(select(rescans).where(rescans.c.id == rescan_id))).first()
    return record_or_none(StoredRescan, row)


async def latest_rescans(
    conn: DbConnection, *, limit: int, state: str | None = None
) -> list[StoredRescan]:
    query = select(rescans).order_by(rescans.c.id.desc()).limit(limit)
    if state is not None:
        query = query.where(rescans.c.state == state)
    return records(StoredRescan, await conn.execute(query))


async def insert_training(conn: DbConnection, **values: object) -> int:
    result = await conn.execute(
        insert(classifier_trainings).values(**values).returning(classifier_trainings.c.id)
    )
    training_id: int = result.scalar_one()
    return training_id


async def latest_trainings(conn: DbConnection, *, limit: int) -> list[StoredTraining]:
    query = select(classifier_trainings).order_by(classifier_trainings.c.id.desc()).limit(limit)
    return records(StoredTraining, await conn.execute(query))
