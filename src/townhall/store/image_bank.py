"""The image hash bank's rows: the PDQ hashes of images reviewers removed and of imported hash
lists, read a page at a time (a bank holds a million) for the index and for export."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select

from townhall.store.database import DbConnection
from townhall.store.on_conflict import insert_on_conflict
from townhall.store.records import records
from townhall.store.schema import image_hash_bank

# SQLite allows 32,766 bound values in a statement.
CHUNK = 10_000
REVIEW = "review"  # banked by a reviewer's removal
IMPORT = "import"  # from a hash list an operator imported


@dataclass(frozen=True, slots=True)
class BankedImage:
    """A banked hash as the index holds it."""

    pdq: str
    category: str
    opinion: str
    list_name: str | None
    added_at: int


# (pdq, category, opinion, list_name, added_at): a row as the index loads it.
IndexedRow = tuple[str, str, str, str | None, int]


@dataclass(frozen=True, slots=True)
class ImageBankEntry:
    """A banked hash as staff see it and export writes it."""

    pdq: str
    category: str
    opinion: str
    source: str
    list_name: str | None  # an import's list; None: a review's
    case_id: int | None  # the removal that banked it
    added_at: int


async def bank(conn: DbConnection, rows: Sequence[dict[str, Any]]) -> list[str]:
    """Bank removed images' hashes; one banked already keeps what banked it first. Returns
    those banked now."""
    banked: list[str] = []
    for start in range(0, len(rows), CHUNK // len(image_hash_bank.c)):
        result = await conn.execute(
            insert_on_conflict(image_hash_bank)
            .values(list(rows[start : start + CHUNK // len(image_hash_bank.c)]))
            .on_conflict_do_nothing(index_elements=["pdq"])
            .returning(image_hash_bank.c.pdq)
        )
        banked += [row.pdq for row in result]
    return banked


async def upsert(conn: DbConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Bank a list's hashes; one banked already is the list's from now on (its category and
    opinion as the list says, no longer a case's to take back)."""
    if not rows:
        return
    statement = insert_on_conflict(image_hash_bank)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[image_hash_bank.c.pdq],
            set_={
                column: statement.excluded[column]
                for column in ("category", "opinion", "source", "list_name", "case_id", "added_at")
            },
        ),
        rows,
    )


INDEXED = (
    image_hash_bank.c.pdq,
    image_hash_bank.c.category,
    image_hash_bank.c.opinion,
    image_hash_bank.c.list_name,
    image_hash_bank.c.added_at,
)


async def of_pdqs(conn: DbConnection, pdqs: Sequence[str]) -> list[BankedImage]:
    """Those of the hashes the bank holds."""
    found: list[BankedImage] = []
    for start in range(0, len(pdqs), CHUNK):
        result = await conn.execute(
            select(*INDEXED).where(image_hash_bank.c.pdq.in_(pdqs[start : start + CHUNK]))
        )
        found += records(BankedImage, result)
    return found


async def page(conn: DbConnection, *, after: str, limit: int) -> list[IndexedRow]:
    """The banked hashes after `after`, in order: the index loads the bank a page at a time."""
    result = await conn.execute(
        select(*INDEXED)
        .where(image_hash_bank.c.pdq > after)
        .order_by(image_hash_bank.c.pdq)
        .limit(limit)
    )
    return [(row.pdq, row.category, row.opinion, row.list_name, row.added_at) for row in result]


async def entries(conn: DbConnection, *, after: str, limit: int) -> list[ImageBankEntry]:
    """The banked hashes after `after`, in order, whole: an export reads them a page at a time."""
    result = await conn.execute(
        select(image_hash_bank)
        .where(image_hash_bank.c.pdq > after)
        .order_by(image_hash_bank.c.pdq)
        .limit(limit)
    )
    return records(ImageBankEntry, result)


async def signature(conn: DbConnection) -> tuple[int, int]:
    """How many hashes the bank holds, and when the newest was banked (0: none)."""
    row = (await conn.execute(select(func.count(), func.max(image_hash_bank.c.added_at)))).one()
    return int(row[0]), int(row[1] or 0)


async def by_category(conn: DbConnection) -> dict[str, int]:
    result = await conn.execute(
        select(image_hash_bank.c.category, func.count()).group_by(image_hash_bank.c.category)
    )
    return {category: count for category, count in result.tuples()}


async def newest(conn: DbConnection, *, limit: int) -> list[ImageBankEntry]:
    result = await conn.execute(
        select(image_hash_bank)
        .order_by(image_hash_bank.c.added_at.desc(), image_hash_bank.c.pdq)
        .limit(limit)
    )
    return records(ImageBankEntry, result)


async def unbank(conn: DbConnection, case_id: int) -> list[str]:
    """Take a case's hashes out of the bank (its removal was reversed); returns them."""
    result = await conn.execute(
        delete(image_hash_bank)
        .where(image_hash_bank.c.case_id == case_id)
        .returning(image_hash_bank.c.pdq)
    )
    return [row.pdq for row in result]


async def remove(conn: DbConnection, pdq: str) -> bool:
    result = await conn.execute(delete(image_hash_bank).where(image_hash_bank.c.pdq == pdq))
    return bool(result.rowcount)
