"""Review cases, the reports deduplicated into them, and the hash bank of removed texts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from townhall.store.database import DbConnection
from townhall.store.on_conflict import insert_on_conflict
from townhall.store.records import record, record_or_none, records
from townhall.store.schema import hash_bank, reports, review_cases


@dataclass(frozen=True, slots=True)
class StoredCase:
    """A review case; `content` is what its target said when it opened (JSON)."""

    id: int
    target_type: str
    target_id: int
    author_id: int | None
    content: str
    sources: str  # comma-separated: hold, flag, report, ...
    categories: str  # comma-separated, sorted
    severity: str | None
    report_count: int
    views: int
    forwards: int
    priority: int
    state: str
    opened_at: int
    due_at: int
    claimed_by: int | None
    claimed_at: int | None
    decision: str | None
    decided_by: int | None
    decided_at: int | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class StoredReport:
    id: int
    case_id: int
    reporter_id: int
    reason: str
    detail: str | None
    created_at: int
    outcome: str | None  # what the reporter is told; None while undecided
    decided_at: int | None


@dataclass(frozen=True, slots=True)
class FiledReport(StoredReport):
    """A report with what it reported (its case's target)."""

    target_type: str
    target_id: int


@dataclass(frozen=True, slots=True)
class BankedText:
    """A removed text in the hash bank: its digest, category and near-duplicate sketch (None for
    texts banked before sketches were kept)."""

    digest: str
    category: str
    sketch: bytes | None


@dataclass(frozen=True, slots=True)
class BankEntry:
    """A banked text as staff see it: never the text, which only its case holds."""

    digest: str
    category: str
    case_id: int | None  # None: banked from the command line
    added_at: int
    near_copies: bool  # whether near copies are caught too (a sketch is kept)


async def case_for(conn: DbConnection, target_type: str, target_id: int) -> StoredCase | None:
    result = await conn.execute(
        select(review_cases).where(
            review_cases.c.target_type == target_type, review_cases.c.target_id == target_id
        )
    )
    return record_or_none(StoredCase, result.first())


async def get_case(conn: DbConnection, case_id: int) -> StoredCase | None:
    result = await conn.execute(select(review_cases).where(review_cases.c.id == case_id))
    return record_or_none(StoredCase, result.first())


async def existing_case(conn: DbConnection, case_id: int) -> StoredCase:
    """A case known to be there: just written, or named by a row that refers to it."""
    result = await conn.execute(select(review_cases).where(review_cases.c.id == case_id))
    return record(StoredCase, result.one())


async def cases(conn: DbConnection, case_ids: Sequence[int]) -> dict[int, StoredCase]:
    result = await conn.execute(select(review_cases).where(review_cases.c.id.in_(case_ids)))
    return {case.id: case for case in records(StoredCase, result)}


async def insert_case(conn: DbConnection, **values: Any) -> int:
    result = await conn.execute(insert(review_cases).values(**values))
    (case_id,) = result.inserted_primary_key
    return int(case_id)


async def update_case(conn: DbConnection, case_id: int, **values: Any) -> None:
    await conn.execute(update(review_cases).where(review_cases.c.id == case_id).values(**values))


async def queue(
    conn: DbConnection,
    *,
    states: Sequence[str],
    source: str | None,
    due_before: int | None,
    offset: int,
    limit: int,
) -> list[StoredCase]:
    """Most urgent first: priority, then the earliest due."""
    query = _filtered(select(review_cases), states, source, due_before)
    result = await conn.execute(
        query.order_by(review_cases.c.priority.desc(), review_cases.c.due_at, review_cases.c.id)
        .offset(offset)
        .limit(limit)
    )
    return records(StoredCase, result)


async def count(
    conn: DbConnection, *, states: Sequence[str], source: str | None, due_before: int | None
) -> int:
    query = _filtered(select(func.count()).select_from(review_cases), states, source, due_before)
    counted: int = (await conn.execute(query)).scalar_one()
    return counted


def _filtered(query: Any, states: Sequence[str], source: str | None, due_before: int | None) -> Any:
    query = query.where(review_cases.c.state.in_(states))
    if source is not None:
        # `sources` is a comma-separated list of names none of which contains another.
        query = query.where(review_cases.c.sources.contains(source))
    if due_before is not None:
        query = query.where(review_cases.c.due_at < due_before)
    return query


# Reports -----------------------------------------------------------------------------------------


async def report_by(conn: DbConnection, reporter_id: int, case_id: int) -> StoredReport | None:
    result = await conn.execute(
        select(reports).where(reports.c.reporter_id == reporter_id, reports.c.case_id == case_id)
    )
    return record_or_none(StoredReport, result.first())


async def insert_report(conn: DbConnection, **values: Any) -> StoredReport:
    result = await conn.execute(insert(reports).values(**values).returning(*reports.c))
    return record(StoredReport, result.one())


async def reports_of(conn: DbConnection, case_id: int) -> list[StoredReport]:
    result = await conn.execute(
        select(reports).where(reports.c.case_id == case_id).order_by(reports.c.id)
    )
    return records(StoredReport, result)


async def undecided_reports_of(conn: DbConnection, case_id: int) -> list[StoredReport]:
    result = await conn.execute(
        select(reports).where(reports.c.case_id == case_id, reports.c.outcome.is_(None))
    )
    return records(StoredReport, result)


async def settle_reports(
    conn: DbConnection, report_ids: Sequence[int], *, outcome: str, now_ms: int
) -> None:
    if report_ids:
        await conn.execute(
            update(reports)
            .where(reports.c.id.in_(report_ids))
            .values(outcome=outcome, decided_at=now_ms)
        )


async def reports_filed_by(conn: DbConnection, reporter_id: int, *, since_ms: int) -> list[int]:
    result = await conn.execute(
        select(reports.c.created_at).where(
            reports.c.reporter_id == reporter_id, reports.c.created_at >= since_ms
        )
    )
    return list(result.scalars())


async def unfounded_count(
    conn: DbConnection, reporter_id: int, *, outcome: str, since_ms: int
) -> int:
    result = await conn.execute(
        select(func.count())
        .select_from(reports)
        .where(
            reports.c.reporter_id == reporter_id,
            reports.c.outcome == outcome,
            reports.c.decided_at >= since_ms,
            # A report answered at once (the target was judged before) is no one's fault.
            reports.c.decided_at > reports.c.created_at,
        )
    )
    unfounded: int = result.scalar_one()
    return unfounded


async def reports_of_reporter(
    conn: DbConnection, reporter_id: int, *, before: int | None, limit: int
) -> list[FiledReport]:
    query = (
        select(reports, review_cases.c.target_type, review_cases.c.target_id)
        .join(review_cases, review_cases.c.id == reports.c.case_id)
        .where(reports.c.reporter_id == reporter_id)
    )
    if before is not None:
        query = query.where(reports.c.id < before)
    result = await conn.execute(query.order_by(reports.c.id.desc()).limit(limit))
    return records(FiledReport, result)


# The hash bank -----------------------------------------------------------------------------------


async def bank(conn: DbConnection, **values: Any) -> None:
    """Add a digest; one already banked keeps its first case."""
    await conn.execute(
        insert_on_conflict(hash_bank)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["digest"])
    )


async def banked(conn: DbConnection) -> list[BankedText]:
    result = await conn.execute(
        select(hash_bank.c.digest, hash_bank.c.category, hash_bank.c.sketch)
    )
    return records(BankedText, result)


async def bank_size(conn: DbConnection) -> int:
    size: int = (await conn.execute(select(func.count()).select_from(hash_bank))).scalar_one()
    return size


async def newest_banked(conn: DbConnection, *, limit: int) -> list[BankEntry]:
    result = await conn.execute(
        select(
            hash_bank.c.digest,
            hash_bank.c.category,
            hash_bank.c.case_id,
            hash_bank.c.added_at,
            hash_bank.c.sketch.is_not(None).label("near_copies"),
        )
        .order_by(hash_bank.c.added_at.desc(), hash_bank.c.digest)
        .limit(limit)
    )
    return [BankEntry(**{**row._mapping, "near_copies": bool(row.near_copies)}) for row in result]


async def bank_by_category(conn: DbConnection) -> dict[str, int]:
    result = await conn.execute(
        select(hash_bank.c.category, func.count()).group_by(hash_bank.c.category)
    )
    return {category: count for category, count in result.tuples()}


async def unbank(conn: DbConnection, case_id: int) -> list[str]:
    """Take a case's digests out of the bank (its removal was reversed); returns them."""
    result = await conn.execute(
        delete(hash_bank).where(hash_bank.c.case_id == case_id).returning(hash_bank.c.digest)
    )
    return [row.digest for row in result]
