"""The audit log's rows: appended in the caller's transaction, read back in order, and purged of
their content by retention (which keeps each purged row's leaf hash)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, insert, select, update

from townhall.domain.purge import PURGE_ACTION
from townhall.store.database import DbConnection
from townhall.store.records import record_or_none, records
from townhall.store.schema import audit_log

PAGE = 5_000


@dataclass(frozen=True, slots=True)
class StoredAuditEntry:
    """A row of the log; a purged one has lost its who, whom, why and details, and keeps
    `leaf_hash` instead."""

    seq: int
    at: int
    actor_id: int | None
    actor_role: str
    action: str
    subject_type: str | None
    subject_id: int | None
    reason: str | None
    details: str  # canonical JSON object
    chain_hash: str
    leaf_hash: str | None


async def head(conn: DbConnection) -> StoredAuditEntry | None:
    """The newest entry."""
    result = await conn.execute(select(audit_log).order_by(audit_log.c.seq.desc()).limit(1))
    return record_or_none(StoredAuditEntry, result.first())


async def append(conn: DbConnection, **values: Any) -> None:
    await conn.execute(insert(audit_log).values(**values))


@dataclass(frozen=True, slots=True)
class LogFilter:
    """The rows of one action, actor or subject; None matches any."""

    action: str | None = None
    actor_id: int | None = None
    subject_type: str | None = None
    subject_id: int | None = None


EVERY_ROW = LogFilter()


async def page(
    conn: DbConnection, *, after: int, limit: int, only: LogFilter = EVERY_ROW
) -> list[StoredAuditEntry]:
    wanted = [
        column == value
        for column, value in (
            (audit_log.c.action, only.action),
            (audit_log.c.actor_id, only.actor_id),
            (audit_log.c.subject_type, only.subject_type),
            (audit_log.c.subject_id, only.subject_id),
        )
        if value is not None
    ]
    result = await conn.execute(
        select(audit_log)
        .where(audit_log.c.seq > after, *wanted)
        .order_by(audit_log.c.seq)
        .limit(limit)
    )
    return records(StoredAuditEntry, result)


async def every_row(
    conn: DbConnection, *, through: int | None = None
) -> AsyncIterator[StoredAuditEntry]:
    """All rows (up to seq `through`) in order of seq, a page at a time (rowid order would hide a
    reorder of seq values, so the walk is by seq and the verifier checks they are consecutive)."""
    after = 0
    while True:
        rows = await page(conn, after=after, limit=PAGE)
        for row in rows:
            if through is not None and row.seq > through:
                return
            yield row
        if len(rows) < PAGE:
            return
        after = rows[-1].seq


def _in_range(first: int, last: int) -> ColumnElement[bool]:
    """Rows `first`..`last` but intact purge records: what a purge of that range clears."""
    intact_record = (audit_log.c.action == PURGE_ACTION) & audit_log.c.leaf_hash.is_(None)
    return audit_log.c.seq.between(first, last) & ~intact_record


async def first_young(conn: DbConnection, *, first: int, last: int, before_ms: int) -> int | None:
    """The first row from `first` to `last` (purge records aside) written at or after
    `before_ms`: a purge of a range stops short of it."""
    result = await conn.execute(
        select(func.min(audit_log.c.seq)).where(
            _in_range(first, last) & (audit_log.c.at >= before_ms)
        )
    )
    seq = result.scalar()
    return None if seq is None else int(seq)


async def count_in_range(conn: DbConnection, *, first: int, last: int) -> tuple[int, int]:
    """How many rows a purge of `first`..`last` would name, and the highest (0 when none)."""
    result = await conn.execute(
        select(func.count(), func.max(audit_log.c.seq)).where(_in_range(first, last))
    )
    count, highest = result.one()
    return int(count), int(highest or 0)


async def rows_in_range(
    conn: DbConnection, *, first: int, last: int, limit: int
) -> list[StoredAuditEntry]:
    """Up to `limit` rows a purge of `first`..`last` names, in seq order."""
    result = await conn.execute(
        select(audit_log).where(_in_range(first, last)).order_by(audit_log.c.seq).limit(limit)
    )
    return records(StoredAuditEntry, result)


async def mark_purged(conn: DbConnection, leaves: Sequence[tuple[int, str]]) -> None:
    """Clear each row's who, whom, why and details, and keep its leaf hash (seq, hex) instead."""
    if not leaves:
        return
    await conn.execute(
        update(audit_log)
        .where(audit_log.c.seq == bindparam("purged_seq"))
        .values(
            actor_id=None,
            subject_id=None,
            reason=None,
            details="{}",
            leaf_hash=bindparam("purged_leaf"),
        ),
        [{"purged_seq": seq, "purged_leaf": leaf} for seq, leaf in leaves],
    )


def _checkpoint_path(folder: Path, tree_size: int) -> Path:
    return folder / f"checkpoint-{tree_size:012d}.txt"


def size_named(path: Path) -> int:
    """The tree size a checkpoint file's name says it covers."""
    return int(path.stem.removeprefix("checkpoint-"))


def write_checkpoint_file(folder: Path, tree_size: int, text: str) -> Path:
    """Written under a temporary name and renamed, so a reader never sees half a checkpoint."""
    folder.mkdir(parents=True, exist_ok=True)
    path = _checkpoint_path(folder, tree_size)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    except OSError:
        temporary.unlink(missing_ok=True)  # a full disk leaves no half checkpoint behind
        raise
    return path


def checkpoint_files(folder: Path) -> list[Path]:
    """Smallest tree size first, by the size each file's name holds."""
    if not folder.is_dir():
        return []
    return sorted(
        (path for path in folder.glob("checkpoint-*.txt") if _is_sized(path)), key=size_named
    )


def _is_sized(path: Path) -> bool:
    size = path.stem.removeprefix("checkpoint-")
    return size.isascii() and size.isdigit()


def newest_checkpoint_file(folder: Path, *, at_most: int) -> Path | None:
    """The file of the largest checkpoint covering at most `at_most` rows; None when none does."""
    fitting = [path for path in checkpoint_files(folder) if size_named(path) <= at_most]
    return fitting[-1] if fitting else None


async def rows_of_action(conn: DbConnection, action: str) -> list[StoredAuditEntry]:
    """Every row of one action, in order: what an action recorded, to check against later."""
    result = await conn.execute(
        select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.seq)
    )
    return records(StoredAuditEntry, result)
