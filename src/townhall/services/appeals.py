"""Appeals: the subject of a sanction, or the author of removed content, asks for another look
within the pack's window; a reviewer other than the one who decided judges it. A reversal lifts
the sanction, voids its strike and gives back the content its case removed."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import orjson
from sqlalchemy.exc import IntegrityError

from townhall.domain.accounts import check_reason
from townhall.domain.characters import PROSE, clean
from townhall.domain.enforcement import DAY_MS, AppealState, AppealVerdict, SanctionState
from townhall.domain.errors import (
    Conflict,
    ErrorCode,
    Forbidden,
    InvalidInput,
    NotFound,
    PolicyRefusal,
)
from townhall.domain.permissions import Permission
from townhall.domain.policy import PolicyPack
from townhall.domain.review import CaseState, Target, Verdict
from townhall.domain.time import iso_utc
from townhall.services.audit import AuditTrail
from townhall.services.enforcement import GRAVE, Enforcement
from townhall.services.image_bank import ImageBank
from townhall.services.moderation import ContentCheck
from townhall.services.notices import Notices
from townhall.services.principal import Principal, require
from townhall.services.rendering import render_appeal
from townhall.services.takedown import Takedown
from townhall.store import review as review_store
from townhall.store import sanctions as sanction_store
from townhall.store.database import Database, DbConnection, Transaction
from townhall.store.review import StoredCase
from townhall.store.sanctions import StoredAppeal, StoredSanction

STATEMENT_MAX_CHARS = 2000


class Appeals:
    def __init__(
        self,
        database: Database,
        enforcement: Enforcement,
        takedown: Takedown,
        content_check: ContentCheck,
        images: ImageBank,
        notices: Notices,
        audit: AuditTrail,
        pack: PolicyPack,
        *,
        clock: Callable[[], float],
    ) -> None:
        self._db = database
        self._enforcement = enforcement
        self._takedown = takedown
        self._check = content_check
        self._images = images
        self._notices = notices
        self._audit = audit
        self._window_ms = pack.enforcement.appeal_window_days * DAY_MS
        self._clock = clock

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def file(
        self,
        actor: Principal,
        *,
        sanction_id: int | None,
        case_id: int | None,
        statement: str,
    ) -> StoredAppeal:
        """Appeal a sanction on oneself (or on one's public account or group), or the removal
        of one's content."""
        require(actor, Permission.ACT)
        if (sanction_id is None) == (case_id is None):
            raise InvalidInput(
                "appeal a sanction_id or a case_id", code=ErrorCode.APPEAL_TARGET_INVALID
            )
        statement = clean(
            statement,
            field="statement",
            layout=PROSE,
            max_chars=STATEMENT_MAX_CHARS,
            required=True,
            invalid=ErrorCode.STATEMENT_INVALID,
        )
        try:
            return await self._insert(actor, sanction_id, case_id, statement)
        except IntegrityError:  # the same appeal, filed at the same moment elsewhere
            raise Conflict(
                "that decision was already appealed", code=ErrorCode.APPEAL_EXISTS
            ) from None

    async def _insert(
        self, actor: Principal, sanction_id: int | None, case_id: int | None, statement: str
    ) -> StoredAppeal:
        now_ms = self._now_ms()
        async with self._db.writing() as conn:
            if sanction_id is not None:
                decided_at = await self._appealable_sanction(conn, actor, sanction_id)
            else:
                assert case_id is not None  # file() lets exactly one of the two through
                decided_at = await self._appealable_case(conn, actor, case_id)
            if now_ms > decided_at + self._window_ms:
                raise PolicyRefusal(
                    f"the window to appeal closed at {iso_utc(decided_at + self._window_ms)}",
                    code=ErrorCode.APPEAL_WINDOW_CLOSED,
                )
            if await sanction_store.appeal_of(conn, sanction_id=sanction_id, case_id=case_id):
                raise Conflict("that decision was already appealed", code=ErrorCode.APPEAL_EXISTS)
            return await sanction_store.insert_appeal(
                conn,
                sanction_id=sanction_id,
                case_id=case_id,
                appellant_id=actor.account_id,
                statement=statement,
                created_at=now_ms,
                state=AppealState.PENDING,
            )

    async def _appealable_sanction(
        self, conn: DbConnection, actor: Principal, sanction_id: int
    ) -> int:
        row = await sanction_store.get(conn, sanction_id)
        if row is None or actor.account_id not in await self._enforcement.addressees(conn, row):
            raise NotFound("no such sanction of yours", code=ErrorCode.SANCTION_NOT_FOUND)
        # One that expired or was lifted is still appealed within the window: its strike stands,
        # and the EU pack owes a complaint for six months after the decision (DSA art. 20).
        if row.state == SanctionState.REVERSED:
            raise Conflict("the sanction was already reversed", code=ErrorCode.SANCTION_NOT_ACTIVE)
        return row.starts_at

    async def _appealable_case(self, conn: DbConnection, actor: Principal, case_id: int) -> int:
        case = await review_store.get_case(conn, case_id)
        if case is None or case.author_id != actor.account_id:
            raise NotFound("no such case about your content", code=ErrorCode.CASE_NOT_FOUND)
        if case.state != CaseState.REMOVED or case.decided_at is None:
            raise Conflict(
                "only a removal can be appealed this way", code=ErrorCode.CASE_NOT_REMOVED
            )
        if await sanction_store.for_case(conn, case_id) is not None:
            raise Conflict(
                "the case gave a sanction: appeal the sanction, which covers both",
                code=ErrorCode.APPEAL_THE_SANCTION,
            )
        return case.decided_at

    async def mine(self, actor: Principal, *, after: int, limit: int) -> list[StoredAppeal]:
        async with self._db.reading() as conn:
            return await sanction_store.appeals_by(conn, actor.account_id, after=after, limit=limit)

    async def queue(
        self, actor: Principal, *, state: str, after: int, limit: int
    ) -> list[tuple[StoredAppeal, list[int]]]:
        """The appeals in a state, each with the staff whose decision it questions (who may not
        decide it)."""
        require(actor, Permission.READ_APPEALS)
        # Appellants' statements are theirs: every look is recorded.
        async with self._db.writing() as conn:
            rows = await sanction_store.appeal_queue(conn, state=state, after=after, limit=limit)
            await self._audit.record_read(conn, actor, "appeal", [row.id for row in rows])
            queued = []
            for row in rows:
                sanction, case = await self._appealed(conn, row)
                queued.append((row, sorted(_deciders(sanction, case))))
        return queued

    async def decide(
        self, actor: Principal, appeal_id: int, *, verdict: str, reason: str | None
    ) -> tuple[StoredAppeal, list[int]]:
        """The appeal as decided, with the staff whose decision it questioned."""
        require(actor, Permission.DECIDE_APPEAL)
        if verdict not in (AppealVerdict.UPHOLD, AppealVerdict.REVERSE):
            raise InvalidInput("verdict is uphold or reverse", code=ErrorCode.VERDICT_INVALID)
        reason = check_reason(reason, what="an appeal decision")
        now_ms = self._now_ms()
        async with self._db.writing() as conn:
            appeal = await sanction_store.get_appeal(conn, appeal_id)
            if appeal is None:
                raise NotFound("no such appeal", code=ErrorCode.APPEAL_NOT_FOUND)
            if appeal.state != AppealState.PENDING:
                raise Conflict(
                    f"the appeal was already {appeal.state}", code=ErrorCode.APPEAL_DECIDED
                )
            sanction, case = await self._appealed(conn, appeal)
            # Undoing a closure is an administrator's, on appeal as when lifting it.
            if verdict == AppealVerdict.REVERSE and sanction is not None and sanction.kind in GRAVE:
                require(actor, Permission.APPLY_CLOSING_SANCTION)
            if actor.account_id in _deciders(sanction, case):
                raise Forbidden(
                    "an appeal is decided by a reviewer other than the one who decided",
                    code=ErrorCode.SAME_REVIEWER,
                )
            state = AppealState.REVERSED if verdict == AppealVerdict.REVERSE else AppealState.UPHELD
            decided = await sanction_store.decide_appeal(
                conn,
                appeal_id,
                state=state,
                decided_by=actor.account_id,
                decided_at=now_ms,
                reason=reason,
            )
            if decided is None:  # another process decided it since it was read
                raise Conflict("the appeal was decided meanwhile", code=ErrorCode.APPEAL_DECIDED)
            if state == AppealState.REVERSED:
                await self._reverse(conn, actor, sanction, case, reason, now_ms)
            await self._audit.record(
                conn,
                actor,
                "appeal.decide",
                subject=("appeal", appeal_id),
                reason=reason,
                details={
                    "verdict": verdict,
                    "sanction_id": appeal.sanction_id,
                    "case_id": None if case is None else case.id,
                },
            )
            notice = {"kind": "appeal_decided", "appeal": render_appeal(decided)}
            await self._notices.tell(conn, appeal.appellant_id, notice)
        return decided, sorted(_deciders(sanction, case))

    async def _appealed(
        self, conn: DbConnection, appeal: StoredAppeal
    ) -> tuple[StoredSanction | None, StoredCase | None]:
        sanction = None
        case_id = appeal.case_id
        if appeal.sanction_id is not None:
            sanction = await sanction_store.existing(conn, appeal.sanction_id)
            case_id = sanction.case_id
        case = None if case_id is None else await review_store.get_case(conn, case_id)
        return sanction, case

    async def _reverse(
        self,
        conn: Transaction,
        actor: Principal,
        sanction: StoredSanction | None,
        case: StoredCase | None,
        reason: str,
        now_ms: int,
    ) -> None:
        if sanction is not None:
            await self._enforcement.end(
                conn, sanction, SanctionState.REVERSED, actor=actor, reason=reason
            )
        if case is not None and case.state == CaseState.REMOVED:
            await self._restore(conn, case)
            await review_store.update_case(
                conn,
                case.id,
                state=CaseState.APPROVED,
                decision=Verdict.APPROVE,
                decided_by=actor.account_id,
                decided_at=now_ms,
                reason=f"reversed on appeal: {reason}",
            )

    async def _restore(self, conn: Transaction, case: StoredCase) -> None:
        """Give back what the removal took (its media too), and let its text be said and its
        images sent again."""
        await self._takedown.restore_media(conn, case.id)
        if case.target_type == Target.MESSAGE:
            text = orjson.loads(case.content).get("text", "")
            await self._takedown.restore_message(conn, case.target_id, text)
        elif case.target_type == Target.POST:
            await self._takedown.restore_post(conn, case.target_id)
        for digest in await review_store.unbank(conn, case.id):
            conn.after_commit(partial(self._check.unbanked, bytes.fromhex(digest)))
        await self._images.unbank_case(conn, case.id)


def _deciders(sanction: StoredSanction | None, case: StoredCase | None) -> set[int]:
    """Everyone whose decision the appeal questions: none of them may judge it."""
    deciders = set()
    if sanction is not None:
        deciders.add(sanction.applied_by)
    if case is not None and case.decided_by is not None:
        deciders.add(case.decided_by)
    return deciders
