"""Retention: old audit rows lose their content but keep their place in the chain and the tree,
and decided review cases lose their copy of the content, each after the pack's number of days.

An audit row is purged only once a checkpoint that verifies covers it: its stored leaf hash is
then checked by the chain and by that checkpoint's Merkle root, so `townhall audit verify` still
proves the log whole. A log that does not verify is not touched. Each purge clears one range of
rows, the next after the last purge's, up to the first row still within retention, and names it
in its `retention.purge` record, signed by the audit key (`domain/purge.py`): `verify` accepts
no purged row that such a record does not name.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from townhall.domain.errors import DomainError
from townhall.domain.purge import DAY_MS, PURGE_ACTION, PurgeClaim, PurgedRows, names_rows
from townhall.domain.retention import RetentionRules
from townhall.services.audit import AuditLog, AuditTrail, entry_of, leaf_of
from townhall.store import audit as audit_store
from townhall.store import retention as retention_store
from townhall.store.database import Database, DbConnection

log = logging.getLogger(__name__)

PAGE = 1_000  # audit rows purged per statement


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """What a purge cleared (or, in a dry run, would clear). `through_seq`: the highest audit
    row purged, 0 when none."""

    audit_rows: int
    cases: int
    through_seq: int
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return not self.dry_run and bool(self.audit_rows or self.cases)


class Retention:
    def __init__(
        self,
        database: Database,
        audit_log: AuditLog,
        trail: AuditTrail,
        rules: RetentionRules,
        *,
        clock: Callable[[], float],
    ) -> None:
        self._db = database
        self._audit_log = audit_log
        self._trail = trail
        self._rules = rules
        self._clock = clock

    async def purge(self, *, dry_run: bool = False) -> PurgeReport:
        """Purge what is past retention, recording one `retention.purge` row when anything
        changed. Raises Conflict, changing nothing, when the log or a checkpoint does not verify."""
        covered = await self._audit_log.covered_size()
        now_ms = int(self._clock() * 1000)
        rows_before = now_ms - self._rules.audit_log_days * DAY_MS
        cases_before = now_ms - self._rules.case_content_days * DAY_MS
        if dry_run:
            async with self._db.reading() as conn:
                first, last = await _due_range(conn, before_ms=rows_before, covered=covered)
                rows, through = await audit_store.count_in_range(conn, first=first, last=last)
                cases = await retention_store.count_case_content_due(
                    conn, decided_before=cases_before
                )
            return PurgeReport(rows, cases, through, dry_run=True)
        async with self._db.writing() as conn:
            first, last = await _due_range(conn, before_ms=rows_before, covered=covered)
            claim = await _purge_rows(
                conn, first, last, before_ms=rows_before, days=self._rules.audit_log_days
            )
            cases = await retention_store.purge_case_content(conn, decided_before=cases_before)
            if claim is None:
                report = PurgeReport(0, cases, 0)
                details: dict[str, Any] = {"audit_rows": 0, "cases": cases, "through_seq": 0}
            else:
                report = PurgeReport(claim.audit_rows, cases, claim.through_seq)
                details = claim.details(self._audit_log.purge_signing_key(), cases)
            if report.changed:
                await self._trail.record(conn, None, PURGE_ACTION, details=details)
        return report

    async def keep_purging(self, interval_seconds: float) -> None:
        """The server's timer. A refused or failed round is logged and tried again next round."""
        while True:
            try:
                report = await self.purge()
                if report.changed:
                    log.info("retention purge: %s", asdict(report))
            except DomainError as refused:
                log.error("retention purge refused: %s", refused)
            except Exception:
                log.exception("retention purge failed; trying again next round")
            await asyncio.sleep(interval_seconds)


async def _due_range(conn: DbConnection, *, before_ms: int, covered: int) -> tuple[int, int]:
    """The rows a purge may clear now: from the first row no purge named yet, through the last
    one before a row still within retention, and never past what a checkpoint covers."""
    first = 1
    for record in reversed(await audit_store.rows_of_action(conn, PURGE_ACTION)):
        details = orjson.loads(record.details)
        if names_rows(details):  # the log verified: this record's claim is as signed
            first = int(details["through_seq"]) + 1
            break
    young = await audit_store.first_young(conn, first=first, last=covered, before_ms=before_ms)
    return first, covered if young is None else young - 1


async def _purge_rows(
    conn: DbConnection, first: int, last: int, *, before_ms: int, days: int
) -> PurgeClaim | None:
    """Clear rows `first`..`last` a page at a time, each keeping the leaf hash of its content as
    it was; the claim that names them, or None when there were none."""
    seen = PurgedRows()
    through = first - 1
    while True:
        rows = await audit_store.rows_in_range(conn, first=through + 1, last=last, limit=PAGE)
        if not rows:
            break
        leaves = [(row, leaf_of(row)) for row in rows]
        for row, leaf in leaves:
            seen.add(entry_of(row), leaf)
        await audit_store.mark_purged(conn, [(row.seq, leaf.hex()) for row, leaf in leaves])
        through = rows[-1].seq
    if not seen.count:
        return None
    return PurgeClaim(
        from_seq=first,
        through_seq=through,
        audit_rows=seen.count,
        before_ms=before_ms,
        retention_days=days,
        rows_sha256=seen.digest(),
    )
