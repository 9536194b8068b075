"""How repositories turn rows into their frozen records: by column name, so a record whose fields
and its query's columns disagree fails at once instead of mixing values up."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import Row

R = TypeVar("R")


def record(kind: type[R], row: Row[Any]) -> R:
    return kind(**row._mapping)


def record_or_none(kind: type[R], row: Row[Any] | None) -> R | None:
    return None if row is None else kind(**row._mapping)


def records(kind: type[R], rows: Iterable[Row[Any]]) -> list[R]:
    return [kind(**row._mapping) for row in rows]
