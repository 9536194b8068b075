"""The supervising authority's view (REGULATION.md, "Records"): review cases, sanctions, reports
and reach escalations by period and category, the figures per period, the load of each review
desk's queue per period, and the exports — the same records as CSV or JSON, and DSA statements
of reasons in batches — each export recorded in the audit log. Read-only; the auditor and
administrators.

Nothing here returns a private identity (legal name, document number, phone, blind index, or a
masked form of them), a reporter, or the content a case judged: only its length.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from operator import attrgetter
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import orjson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from townhall.domain import dsa
from townhall.domain.enforcement import SubjectType
from townhall.domain.errors import ErrorCode, InvalidInput, PolicyRefusal
from townhall.domain.oversight import (
    GRANULARITIES,
    SANCTION_KINDS,
    CaseFact,
    Dated,
    Desk,
    Facts,
    Queued,
    Window,
    parse_window,
    queue_load,
    split_categories,
    stats,
)
from townhall.domain.permissions import Permission
from townhall.domain.policy import PolicyPack
from townhall.domain.review import PENDING, REMOVABLE, Outcome, Source
from townhall.services.audit import AuditTrail
from townhall.services.principal import Principal, require
from townhall.store import regulator as regulator_store
from townhall.store.database import Database
from townhall.store.keys import load_or_create
from townhall.store.regulator import (
    CaseForAuditor,
    EscalationForAuditor,
    QueueFact,
    RemovalForStatement,
    ReportForAuditor,
    SanctionForAuditor,
    SanctionForStatement,
    ScreenForStatement,
    StoredCaseFact,
)

LIST_MAX = 500  # records in one page of the API
EXPORT_PAGE = 1_000  # records read at a time by an export
EXPORTS = ("cases", "sanctions", "reports", "escalations", "stats")
# Sources of a case that are automated detection: the lexicon and classifiers (not reach, which
# only counts views, nor reports, which people make).
DETECTED = frozenset({Source.HOLD, Source.FLAG})
PUID_KEY_INFO = b"townhall dsa statement puid v1"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AuditedCase:
    """How a case was handled and how long it took; of its content only the length."""

    id: int
    target_type: str
    target_id: int
    sources: tuple[str, ...]
    categories: tuple[str, ...]
    severity: str | None
    report_count: int
    content_chars: int | None
    state: str
    decision: str | None
    opened_at: int
    due_at: int
    decided_at: int | None
    handling_ms: int | None  # opened to decided; None while pending
    decided_in_time: bool | None  # by its due time; None while pending
    overdue: bool
    decided_by: int | None
    reason: str | None
    appeal_id: int | None
    appeal_state: str | None


@dataclass(frozen=True, slots=True)
class AuditedReport:
    """A report and what came of it; never who filed it, nor what they wrote."""

    id: int
    case_id: int
    target_type: str
    reason: str
    created_at: int
    decided_at: int | None
    handling_ms: int | None
    outcome: str


@dataclass(frozen=True, slots=True)
class Figures:
    """The figures per period of one question (rows as `oversight.stats` or
    `oversight.queue_load` count them), with the period it covers and the zone its dates are read
    in."""

    period: str
    timezone: str
    window: Window
    rows: list[dict[str, Any]]


# What the auditor lists and exports, one kind a list; each record's `id` is its cursor.
Listed = AuditedCase | SanctionForAuditor | AuditedReport | EscalationForAuditor
Page = Callable[[Window, str | None, int, int], Awaitable[Sequence[Listed]]]


class RegulatorService:
    def __init__(
        self,
        database: Database,
        pack: PolicyPack,
        audit: AuditTrail,
        *,
        keys_dir: Path,
        clock: Callable[[], float],
    ) -> None:
        self._db = database
        self._pack = pack
        self._audit = audit
        self._keys_dir = keys_dir
        self._clock = clock
        self._tz = ZoneInfo(pack.timezone)
        self._pages: dict[str, Page] = {
            "cases": self._case_page,
            "sanctions": self._sanction_page,
            "reports": self._report_page,
            "escalations": self._escalation_page,
        }

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def window(self, since: str | None, until: str | None) -> Window:
        return parse_window(since, until, self._tz)

    # The auditor's view ------------------------------------------------------------------------

    async def listing(
        self,
        actor: Principal,
        what: str,
        *,
        since: str | None,
        until: str | None,
        category: str | None,
        after: int,
        limit: int,
    ) -> Sequence[Listed]:
        """One page of cases, sanctions, reports or escalations, oldest first, after an id."""
        require(actor, Permission.READ_AUDIT)
        page = self._pages[what]
        return await page(self.window(since, until), category, after, min(limit, LIST_MAX))

    async def stats(
        self,
        actor: Principal,
        *,
        period: str,
        since: str | None,
        until: str | None,
        category: str | None,
    ) -> Figures:
        require(actor, Permission.READ_AUDIT)
        window = self.window(since, until)
        rows = await self._stats(window, category, period)
        return Figures(period, self._pack.timezone, window, rows)

    async def queues(
        self, actor: Principal, *, period: str, since: str | None, until: str | None
    ) -> Figures:
        """Per period, for each review desk: what entered its queue, how much of that has been
        decided since, how much still waits, and how much ran past its due time."""
        require(actor, Permission.READ_AUDIT)
        _check_granularity(period)
        window = self.window(since, until)
        async with self._db.reading() as conn:
            cases = await regulator_store.case_facts(conn, window)
            identities = await regulator_store.identity_queue(conn, window)
            applications = await regulator_store.application_queue(conn, window)
            appeals = await regulator_store.appeal_queue(conn, window)
        now_ms = self._now_ms()
        entries = {
            Desk.CASES: [_queued_case(row, now_ms) for row in cases],
            Desk.IDENTITIES: [_queued(row) for row in identities],
            Desk.APPLICATIONS: [_queued(row) for row in applications],
            Desk.APPEALS: [_queued(row) for row in appeals],
        }
        rows = queue_load(entries, granularity=period, tz=self._tz)
        return Figures(period, self._pack.timezone, window, rows)

    # Pages: each record's `id` is the cursor of the next page --------------------------------

    async def _case_page(
        self, window: Window, category: str | None, after: int, limit: int
    ) -> list[AuditedCase]:
        async with self._db.reading() as conn:
            rows = await regulator_store.cases(conn, window, category, after=after, limit=limit)
        now_ms = self._now_ms()
        return [_case(row, now_ms) for row in rows]

    async def _sanction_page(
        self, window: Window, category: str | None, after: int, limit: int
    ) -> list[SanctionForAuditor]:
        async with self._db.reading() as conn:
            return await regulator_store.sanction_list(
                conn, window, category, after=after, limit=limit
            )

    async def _report_page(
        self, window: Window, category: str | None, after: int, limit: int
    ) -> list[AuditedReport]:
        async with self._db.reading() as conn:
            rows = await regulator_store.report_list(
                conn, window, category, after=after, limit=limit
            )
        return [_report(row) for row in rows]

    async def _escalation_page(
        self, window: Window, _category: str | None, after: int, limit: int
    ) -> list[EscalationForAuditor]:
        async with self._db.reading() as conn:
            return await regulator_store.escalation_list(conn, window, after=after, limit=limit)

    async def _stats(
        self, window: Window, category: str | None, granularity: str
    ) -> list[dict[str, Any]]:
        _check_granularity(granularity)
        async with self._db.reading() as conn:
            facts = Facts(
                cases=[_case_fact(r) for r in await regulator_store.case_facts(conn, window)],
                reports=[
                    Dated(r.created_at, (r.reason,), r.outcome or "")
                    for r in await regulator_store.report_facts(conn, window)
                ],
                sanctions=[
                    Dated(r.starts_at, _categories(r.category, r.case_categories), r.kind)
                    for r in await regulator_store.sanction_facts(conn, window)
                ],
                appeals=[
                    Dated(r.created_at, _categories(r.category, r.case_categories), r.state)
                    for r in await regulator_store.appeal_facts(conn, window)
                ],
            )
        return stats(
            facts,
            granularity=granularity,
            tz=self._tz,
            now_ms=self._now_ms(),
            sanction_kinds=SANCTION_KINDS,
            category=category,
        )

    # Exports, from the command line ----------------------------------------------------------

    async def export(
        self,
        what: str,
        *,
        since: str | None,
        until: str | None,
        category: str | None = None,
        period: str = "day",
    ) -> AsyncIterator[Sequence[Listed] | list[dict[str, Any]]]:
        """Every record, page by page (the figures: their rows, in one page); once the last
        page is out, one audit row says so."""
        if what not in EXPORTS:
            raise InvalidInput(f"export one of {', '.join(EXPORTS)}", code=ErrorCode.EXPORT_INVALID)
        window = self.window(since, until)
        details: dict[str, Any] = {**window.render(self._tz), "category": category}
        if what == "stats":
            rows = await self._stats(window, category, period)
            yield rows
            details.update(records=len(rows), period=period)
        else:
            total = 0
            pages = partial(self._pages[what], window, category)
            async for page in _every_page(pages, attrgetter("id")):
                total += len(page)
                yield page
            details["records"] = total
        await self._record_export(what, details)

    async def _record_export(
        self, what: str, details: dict[str, Any], actor: Principal | None = None
    ) -> None:
        async with self._db.writing() as conn:
            await self._audit.record(conn, actor, f"export.{what}", details=details)

    async def dsa_statements(
        self, actor: Principal | None, *, since: str | None, until: str | None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Statements of reasons, in batches of at most dsa.BATCH, for every restriction applied
        in the period: sanctions, removed content, holds and blocks. Only under a pack that
        files them (enforcement.dsa_statements); the export is audited. `actor` None: the
        operator at the command line."""
        if actor is not None:
            require(actor, Permission.READ_AUDIT)
        enforcement = self._pack.enforcement
        if not enforcement.dsa_statements:
            raise PolicyRefusal(
                f"the {self._pack.name} policy pack does not file DSA statements of reasons "
                "(enforcement.dsa_statements is false); they are written under eu-dsa",
                code=ErrorCode.DSA_STATEMENTS_OFF,
            )
        window = self.window(since, until)
        key = self._puid_key()
        batch: list[dict[str, Any]] = []
        total = files = 0
        async for decision in self._decisions(window):
            batch.append(dsa.render(decision, key))
            if len(batch) == dsa.BATCH:
                total, files = total + len(batch), files + 1
                yield batch
                batch = []
        if batch:
            total, files = total + len(batch), files + 1
            yield batch
        details = {**window.render(self._tz), "statements": total, "files": files}
        await self._record_export("dsa_statements", details, actor)

    def _puid_key(self) -> bytes:
        """Derived one way from the blind-index key, the one key that never changes, so a
        decision keeps its puid across exports and the key itself is never exposed."""
        seed = load_or_create(self._keys_dir).blind_index_key
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PUID_KEY_INFO)
        return hkdf.derive(seed)

    async def _decisions(self, window: Window) -> AsyncIterator[dsa.Decision]:
        # Each query of restrictions, what it selects (kinds, targets, decisions), and a row's
        # decision: sanctions, removed content, holds and blocks.
        store = regulator_store
        sources: list[tuple[Any, tuple[str, ...], Callable[[Any], dsa.Decision | None]]] = [
            (store.sanctions_for_statements, dsa.RESTRICTING_KINDS, self._sanction_decision),
            (store.removals_for_statements, REMOVABLE, self._removal_decision),
            (store.screens_for_statements, dsa.RESTRICTING_SCREENS, self._screen_decision),
        ]
        for select_page, which, decision_of in sources:
            pages = partial(self._read, select_page, window, which)
            async for rows in _every_page(pages, attrgetter("id")):
                for row in rows:
                    decision = decision_of(row)
                    if decision is not None:
                        yield decision

    async def _read(
        self, select_page: Callable[..., Awaitable[list[T]]], *args: Any, after: int, limit: int
    ) -> list[T]:
        async with self._db.reading() as conn:
            return await select_page(conn, *args, after=after, limit=limit)

    def _sanction_decision(self, row: SanctionForStatement) -> dsa.Decision | None:
        restriction = dsa.sanction_restriction(
            row.subject_type, row.kind, row.ended_at or row.ends_at
        )
        if restriction is None:
            return None
        sources = split_categories(row.case_sources)
        names = (
            row.subject_handle,
            row.subject_display_name,
            row.member_handle,
            row.member_display_name,
        )
        return dsa.Decision(
            source=dsa.Source.SANCTION,
            source_id=row.id,
            restriction=restriction,
            ground=row.ground,
            # The pack's ground is its terms; a ground staff named instead is taken as the law.
            illegal=row.ground.strip() != self._pack.enforcement.ground.strip(),
            facts=dsa.redact(row.reason, names),
            categories=_categories(row.category, row.case_categories),
            content_at=row.case_opened_at or row.starts_at,
            applied_at=row.starts_at,
            account_type=_account_type(row.subject_type, row.entity_kind),
            # `automated` records automated detection (services/enforcement.py): staff apply
            # every sanction, so none is an automated decision.
            automated_detection=bool(row.automated) or bool(DETECTED & set(sources)),
            automated_decision=dsa.Automated.NOT_AUTOMATED,
            reported=Source.REPORT in sources,
        )

    def _removal_decision(self, row: RemovalForStatement) -> dsa.Decision:
        sources = split_categories(row.sources)
        reason = dsa.redact(row.reason or "", (row.author_handle, row.author_display_name))
        return dsa.Decision(
            source=dsa.Source.CASE,
            source_id=row.id,
            restriction=dsa.Restriction(visibility=dsa.Visibility.REMOVED),
            ground=self._pack.enforcement.ground,
            illegal=False,
            facts=f"A reviewer removed the {row.target_type} everywhere it reached. {reason}",
            categories=split_categories(row.categories),
            content_at=row.posted_at or row.opened_at,
            applied_at=row.decided_at,
            automated_detection=bool(DETECTED & set(sources)),
            # Undecided by anyone: closed with an earlier removal that took this content too.
            automated_decision=(
                dsa.Automated.NOT_AUTOMATED if row.decided_by else dsa.Automated.PARTIALLY
            ),
            reported=Source.REPORT in sources,
        )

    def _screen_decision(self, row: ScreenForStatement) -> dsa.Decision:
        reasons = orjson.loads(row.reasons)
        return dsa.Decision(
            source=dsa.Source.SCREEN,
            source_id=row.id,
            restriction=dsa.screen_restriction(row.decision),
            ground=self._pack.enforcement.ground,
            illegal=False,
            facts=dsa.screen_facts(row.surface, row.decision, reasons),
            categories=tuple(dict.fromkeys(reason["category"] for reason in reasons)),
            content_at=row.created_at,
            applied_at=row.created_at,
            automated_detection=True,
            automated_decision=(dsa.Automated.FULLY if row.automated else dsa.Automated.PARTIALLY),
        )


async def _every_page(
    page_of: Callable[..., Awaitable[Sequence[T]]], id_of: Callable[[T], int]
) -> AsyncIterator[Sequence[T]]:
    """Page after page of EXPORT_PAGE, each read after the last id of the one before."""
    after = 0
    while True:
        page = await page_of(after=after, limit=EXPORT_PAGE)
        if page:
            yield page
        if len(page) < EXPORT_PAGE:
            return
        after = id_of(page[-1])


def _check_granularity(granularity: str) -> None:
    if granularity not in GRANULARITIES:
        raise InvalidInput(
            f"period must be one of {', '.join(GRANULARITIES)}", code=ErrorCode.PERIOD_INVALID
        )


# Records ---------------------------------------------------------------------------------------


def _categories(own: str | None, of_case: str | None) -> tuple[str, ...]:
    """A sanction's (or appeal's) category, else the categories of the case behind it."""
    return (own,) if own else split_categories(of_case)


def _content_chars(content: str) -> int | None:
    """How long the judged text was; the text itself may hold personal data and stays here."""
    try:
        text = orjson.loads(content).get("text")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return len(text) if isinstance(text, str) else None


def _case(row: CaseForAuditor, now_ms: int) -> AuditedCase:
    fact = _case_fact(row)
    timing = fact.timing(now_ms)
    return AuditedCase(
        id=row.id,
        target_type=row.target_type,
        target_id=row.target_id,
        sources=split_categories(row.sources),
        categories=tuple(fact.categories),
        severity=row.severity,
        report_count=row.report_count,
        content_chars=_content_chars(row.content),
        state=row.state,
        decision=row.decision,
        opened_at=row.opened_at,
        due_at=row.due_at,
        decided_at=row.decided_at,
        handling_ms=timing.handling_ms,
        decided_in_time=timing.decided_in_time,
        overdue=timing.overdue,
        decided_by=row.decided_by,
        reason=row.reason,
        appeal_id=row.appeal_id,
        appeal_state=row.appeal_state,
    )


def _case_fact(row: StoredCaseFact) -> CaseFact:
    return CaseFact(
        row.opened_at, row.due_at, row.decided_at, row.state, split_categories(row.categories)
    )


def _queued_case(row: StoredCaseFact, now_ms: int) -> Queued:
    waiting = row.state in PENDING
    overdue = _case_fact(row).timing(now_ms).overdue
    return Queued(row.opened_at, decided=not waiting, waiting=waiting, overdue=overdue)


def _queued(row: QueueFact) -> Queued:
    return Queued(row.entered_at, decided=row.decided, waiting=row.waiting)


def _report(row: ReportForAuditor) -> AuditedReport:
    return AuditedReport(
        id=row.id,
        case_id=row.case_id,
        target_type=row.target_type,
        reason=row.reason,
        created_at=row.created_at,
        decided_at=row.decided_at,
        handling_ms=None if row.decided_at is None else row.decided_at - row.created_at,
        outcome=row.outcome or Outcome.PENDING,
    )


def _account_type(subject_type: str, entity_kind: str | None) -> str | None:
    if subject_type == SubjectType.USER:
        return dsa.ACCOUNT_TYPE_PRIVATE
    if subject_type == SubjectType.PUBLIC_ACCOUNT:
        business = entity_kind == "organisation"
        return dsa.ACCOUNT_TYPE_BUSINESS if business else dsa.ACCOUNT_TYPE_PRIVATE
    return None  # a group is no one's account
