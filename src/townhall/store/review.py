"""Review cases, the reports deduplicated into them, and the hash bank of removed texts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from townhall.store.database import DbConnection
from townhall.store.schema import hash_bank, reports, review_cases


async def case_for(conn: DbConnection, target_type: str, target_id: int) -> Row | None:
    result = await conn.execute(
        select(review_cases).where(
            review_cases.c.target_type == target_type, review_cases.c.target_id == target_id
        )
    )
    return result.first()


async def get_case(conn: DbConnection, case_id: int) -> Row | None:
    result = await conn.execute(select(review_cases).where(review_cases.c.id == case_id))
    return result.first()


async def cases(conn: DbConnection, case_ids: Sequence[int]) -> dict[int, Row]:
    result = await conn.execute(select(review_cases).where(review_cases.c.id.in_(case_ids)))
    return {row.id: row for row in result}


async def insert_case(conn: DbConnection, **values: Any) -> int:
    result = await conn.execute(insert(review_cases).values(**values))
    (case_id,) = result.inserted_primary_key
    return case_id


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
) -> list[Row]:
    """Most urgent first: priority, then the earliest due."""
    query = _filtered(select(review_cases), states, source, due_before)
    result = await conn.execute(
        query.order_by(review_cases.c.priority.desc(), review_cases.c.due_at, review_cases.c.id)
        .offset(offset)
        .limit(limit)
    )
    return list(result)


async def count(
    conn: DbConnection, *, states: Sequence[str], source: str | None, due_before: int | None
) -> int:
    query = _filtered(select(func.count()).select_from(review_cases), states, source, due_before)
    return (await conn.execute(query)).scalar_one()


def _filtered(query: Any, states: Sequence[str], source: str | None, due_before: int | None) -> Any:
    query = query.where(review_cases.c.state.in_(states))
    if source is not None:
        # `sources` is a comma-separated list of names none of which contains another.
        query = query.where(review_cases.c.sources.contains(source))
    if due_before is not None:
        query = query.where(review_cases.c.due_at < due_before)
    return query


# Reports -----------------------------------------------------------------------------------------


async def report_by(conn: DbConnection, reporter_id: int, case_id: int) -> Row | None:
    result = await conn.execute(
        select(reports).where(reports.c.reporter_id == reporter_id, reports.c.case_id == case_id)
    )
    return result.first()


async def insert_report(conn: DbConnection, **values: Any) -> int:
    result = await conn.execute(insert(reports).values(**values))
    (report_id,) = result.inserted_primary_key
    return report_id


async def reports_of(conn: DbConnection, case_id: int) -> list[Row]:
    result = await conn.execute(
        select(reports).where(reports.c.case_id == case_id).order_by(reports.c.id)
    )
    return list(result)


async def undecided_reports_of(conn: DbConnection, case_id: int) -> list[Row]:
    result = await conn.execute(
        select(reports).where(reports.c.case_id == case_id, reports.c.outcome.is_(None))
    )
    return list(result)


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
    return result.scalar_one()


async def reports_of_reporter(
    conn: DbConnection, reporter_id: int, *, before: int | None, limit: int
) -> list[Row]:
    query = (
        select(reports, review_cases.c.target_type, review_cases.c.target_id)
        .join(review_cases, review_cases.c.id == reports.c.case_id)
        .where(reports.c.reporter_id == reporter_id)
    )
    if before is not None:
        query = query.where(reports.c.id < before)
    result = await conn.execute(query.order_by(reports.c.id.desc()).limit(limit))
    return list(result)


# The hash bank -----------------------------------------------------------------------------------


async def bank(conn: DbConnection, **values: Any) -> None:
    """Add a digest; one already banked keeps its first case."""
    await conn.execute(
        sqlite_insert(hash_bank).values(**values).on_conflict_do_nothing(index_elements=["digest"])
    )


async def banked(conn: DbConnection) -> list[Row]:
    result = await conn.execute(
        select(hash_bank.c.digest, hash_bank.c.category, hash_bank.c.sketch)
    )
    return list(result)


async def bank_size(conn: DbConnection) -> int:
    return (await conn.execute(select(func.count()).select_from(hash_bank))).scalar_one()


async def unbank(conn: DbConnection, case_id: int) -> list[str]:
    """Take a case's digests out of the bank (its removal was reversed); returns them."""
    result = await conn.execute(
        delete(hash_bank).where(hash_bank.c.case_id == case_id).returning(hash_bank.c.digest)
    )
    return [row.digest for row in result]
