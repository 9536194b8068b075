"""Retention: old audit rows lose their content but keep their place in the chain and the tree,
and decided review cases lose their copy of the content, each after the pack's number of days.

An audit row is purged only once a checkpoint that verifies covers it: its stored leaf hash is
then checked by the chain and by that checkpoint's Merkle root, so `townhall audit verify` still
proves the log whole. A log that does not verify is not touched.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

from townhall.domain.errors import DomainError
from townhall.domain.retention import RetentionRules
from townhall.services.audit import AuditLog, AuditTrail, leaf_of
from townhall.store import audit as audit_store
from townhall.store import retention as retention_store
from townhall.store.database import Database, DbConnection

log = logging.getLogger(__name__)

DAY_MS = 86_400_000
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
                rows, last = await audit_store.count_purgeable(
                    conn, before_ms=rows_before, through=covered
                )
                cases = await retention_store.count_case_content_due(
                    conn, decided_before=cases_before
                )
            return PurgeReport(rows, cases, last, dry_run=True)
        async with self._db.writing() as conn:
            rows, last = await _purge_rows(conn, before_ms=rows_before, through=covered)
            cases = await retention_store.purge_case_content(conn, decided_before=cases_before)
            report = PurgeReport(rows, cases, last)
            if report.changed:
                details = {"audit_rows": rows, "cases": cases, "through_seq": last}
                await self._trail.record(conn, None, "retention.purge", details=details)
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


async def _purge_rows(conn: DbConnection, *, before_ms: int, through: int) -> tuple[int, int]:
    """Clear rows a page at a time, each keeping the leaf hash of its content as it was."""
    count = last = 0
    while True:
        rows = await audit_store.purgeable(conn, before_ms=before_ms, through=through, limit=PAGE)
        if not rows:
            return count, last
        leaves = [(row.seq, leaf_of(row).hex()) for row in rows]
        await audit_store.mark_purged(conn, leaves)
        count, last = count + len(rows), rows[-1].seq
