"""Reads built once and run on SQLite's inline readers straight through the stdlib connection.

SQLAlchemy's execution of a statement it has compiled before (its compiled cache) still costs
~70 µs of CPU on SQLite: the cache key, an execution context, events, a cursor result, while the
indexed read itself takes a few. A read the hot routes run on every request (a profile, a sync,
a page) is built once, as a module constant or once for each of the caller's constants, and
marked with `prepared()`; the inline reader compiles it once for its dialect (`Plans`) and runs
that SQL on its own connection, in its read transaction, with the bind values and result
processing SQLAlchemy would apply. Anything the shortcut does not cover (an IN list expanded per
call, a statement built per call) is run by SQLAlchemy as before.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ClauseElement, Dialect, Executable
from sqlalchemy.engine.result import IteratorResult, SimpleResultMetaData
from sqlalchemy.sql.compiler import SQLCompiler

S = TypeVar("S", bound=Executable)
Processor = Callable[[Any], Any] | None

# The statements marked, by identity: module constants, or statements cached for each of a
# caller's constants (functools.cache); either lives as long as the process.
_MARKED: dict[int, Executable] = {}


def prepared(statement: S) -> S:
    """Mark a read built once for the inline reader's shortcut; the statement is returned
    unchanged, and runs as any other on every other connection (PostgreSQL's, a writer's)."""
    _MARKED[id(statement)] = statement
    return statement


@dataclass(frozen=True, slots=True)
class Plan:
    """A marked read compiled for one dialect: its SQL, where each positional value comes from
    (a parameter by name, or a value fixed in the statement, as LIMIT 1's), and its rows'
    keys and result processors."""

    sql: str
    binds: tuple[tuple[str, Any, Processor], ...]  # (name, fixed value or _GIVEN, processor)
    columns: SimpleResultMetaData

    def run(
        self, connection: sqlite3.Connection, parameters: Mapping[str, Any] | None
    ) -> IteratorResult[Any]:
        given = parameters or {}
        values = [
            (given[name] if fixed is _GIVEN else fixed)
            if process is None
            else process(given[name] if fixed is _GIVEN else fixed)
            for name, fixed, process in self.binds
        ]
        rows = connection.execute(self.sql, values).fetchall()
        return IteratorResult(self.columns, iter(rows))


_GIVEN = object()  # a bind whose value the caller gives


class Plans:
    """The marked statements compiled for one dialect, each at its first use."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._plans: dict[int, Plan | None] = {}

    def plan_for(self, statement: Executable) -> Plan | None:
        """The plan of a marked statement; None for any other, or one the shortcut does not
        cover."""
        key = id(statement)
        try:
            return self._plans[key]
        except KeyError:
            marked = _MARKED.get(key)
            plan = None if marked is not statement else _plan(statement, self._dialect)
            self._plans[key] = plan
            return plan


def _plan(statement: Executable, dialect: Dialect) -> Plan | None:
    compiled = _covered(statement, dialect)
    if compiled is None:
        return None
    columns = compiled._result_columns or []
    processors: dict[str, Processor] = {}
    for name, processor in compiled._bind_processors.items():
        if not callable(processor):  # a tuple's, one per element
            return None
        processors[name] = processor
    binds = tuple(
        (
            name,
            _GIVEN if compiled.binds[name].required else compiled.binds[name].effective_value,
            processors.get(name),
        )
        for name in compiled.positiontup or ()
    )
    result_processors = [column.type._cached_result_processor(dialect, None) for column in columns]
    metadata = SimpleResultMetaData(
        [column.keyname for column in columns],
        _processors=result_processors if any(result_processors) else None,
    )
    return Plan(compiled.string, binds, metadata)


def _covered(statement: Executable, dialect: Dialect) -> SQLCompiler | None:
    """The statement compiled, if it is a positional SELECT whose values are all known at
    compile time or given by name, and whose columns have distinct keys."""
    if not isinstance(statement, ClauseElement):
        return None
    compiled = statement.compile(dialect=dialect)
    if not isinstance(compiled, SQLCompiler) or not compiled.positional:
        return None
    if compiled.isinsert or compiled.isupdate or compiled.isdelete:
        return None
    if compiled.post_compile_params or compiled.literal_execute_params:
        return None
    keys = [column.keyname for column in compiled._result_columns or ()]
    return compiled if keys and len(set(keys)) == len(keys) else None
