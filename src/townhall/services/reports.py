"""Reports from the public: anything a user can see may be reported; reports of one target
join its one case; the reporter learns the outcome; abuse of reporting is throttled."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from townhall.domain.accounts import AccountStatus
from townhall.domain.characters import PROSE, clean
from townhall.domain.enforcement import Capability
from townhall.domain.errors import ErrorCode, InvalidInput, NotFound, Throttled
from townhall.domain.limits import Limits
from townhall.domain.messaging import GONE, SENDER_ONLY, ConversationKind, MemberRole
from townhall.domain.permissions import Permission
from townhall.domain.policy import PolicyPack
from townhall.domain.public_accounts import READABLE_ACCOUNTS, PostState
from townhall.domain.review import (
    PENDING,
    TARGETS,
    Outcome,
    Raised,
    Source,
    Target,
    outcome_of,
    reporter_wait_ms,
)
from townhall.services.enforcement import Enforcement
from townhall.services.intake import CaseIntake, report_notice
from townhall.services.notices import Notices
from townhall.services.principal import Principal, require
from townhall.services.rate_limits import Limit, RateLimits
from townhall.store import accounts as account_store
from townhall.store import conversations as conversation_store
from townhall.store import messages as message_store
from townhall.store import posts as post_store
from townhall.store import public_accounts as public_account_store
from townhall.store import review as review_store
from townhall.store.database import Database, DbConnection
from townhall.store.review import FiledReport, StoredReport

DAY_MS = 86_400_000


class ReportService:
    def __init__(
        self,
        database: Database,
        intake: CaseIntake,
        enforcement: Enforcement,
        notices: Notices,
        pack: PolicyPack,
        rate_limits: RateLimits,
        limits: Limits,
        *,
        clock: Callable[[], float],
    ) -> None:
        self._db = database
        self._rate_limits = rate_limits
        self._per_reporter = Limit.parse("reports_per_reporter", limits.reports_per_reporter)
        self._per_target = Limit.parse("reports_per_target", limits.reports_per_target)
        self._intake = intake
        self._enforcement = enforcement
        self._notices = notices
        self._rules = pack.review
        self._categories = pack.moderation.categories
        self._clock = clock

    async def report(
        self,
        actor: Principal,
        *,
        target_type: str,
        target_id: int,
        reason: str,
        detail: str | None,
    ) -> tuple[FiledReport, bool]:
        """File a report; returns it and whether it is new (a repeat returns the first one)."""
        require(actor, Permission.ACT)
        await self._enforcement.require_user_may(actor.account_id, Capability.INTERACT)
        detail = self._check(target_type, reason, detail)
        now_ms = self._now_ms()
        async with self._db.writing() as conn:
            seen = await self._seen(conn, actor, target_type, target_id)
            case = await review_store.case_for(conn, target_type, target_id)
            if case is not None:
                earlier = await review_store.report_by(conn, actor.account_id, case.id)
                if earlier is not None:
                    return _filed(earlier, target_type, target_id), False
            await self._check_reporter(conn, actor.account_id, now_ms)
            await self._check_flood(actor.account_id)
            # Past the target's cap a report is kept and answered, but joins the case as is.
            weighs = await self._rate_limits.hit(self._per_target, target_type, str(target_id))
            if case is None or weighs is None:
                raised = Raised(
                    target_type,
                    target_id,
                    Source.REPORT,
                    seen.author_id,
                    seen.content,
                    categories=[reason] if reason in self._categories else [],
                    views=seen.views,
                    forwards=seen.forwarders,
                )
                case = await self._intake.raise_case(conn, raised, now_ms)
            if seen.gone:
                case = await self._intake.close_gone(conn, case, now_ms)
            decided = case.state not in PENDING  # judged before: the reporter hears it at once
            report = await review_store.insert_report(
                conn,
                case_id=case.id,
                reporter_id=actor.account_id,
                reason=reason,
                detail=detail,
                created_at=now_ms,
                outcome=outcome_of(case.state) if decided else None,
                decided_at=now_ms if decided else None,
            )
            if decided:
                notice = report_notice(report.id, case, outcome_of(case.state))
                await self._notices.tell(conn, actor.account_id, notice)
        return _filed(report, target_type, target_id), True

    async def mine(self, actor: Principal, *, before: int | None, limit: int) -> list[FiledReport]:
        async with self._db.reading() as conn:
            return await review_store.reports_of_reporter(
                conn, actor.account_id, before=before, limit=limit
            )

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _check(self, target_type: str, reason: str, detail: str | None) -> str | None:
        """Refuse a report of an unknown target type or reason; the detail as stored."""
        if target_type not in TARGETS:
            raise InvalidInput(
                f"target_type must be one of {', '.join(TARGETS)}",
                code=ErrorCode.TARGET_TYPE_INVALID,
            )
        if reason not in self._rules.report_reasons:
            raise InvalidInput(
                f"reason must be one of {', '.join(self._rules.report_reasons)}",
                code=ErrorCode.REASON_INVALID,
            )
        if detail is None:
            return None
        # Cleaned as every text is (nothing hidden, lines welcome); one that shows nothing is none.
        cleaned = clean(
            detail,
            field="detail",
            layout=PROSE,
            max_chars=self._rules.max_detail_chars,
            required=False,
            invalid=ErrorCode.DETAIL_INVALID,
            too_long=ErrorCode.DETAIL_TOO_LONG,
        )
        return cleaned or None

    async def _check_reporter(self, conn: DbConnection, reporter_id: int, now_ms: int) -> None:
        limit = self._rules.reporter_limit
        unfounded = await review_store.unfounded_count(
            conn,
            reporter_id,
            outcome=Outcome.NO_VIOLATION,
            since_ms=now_ms - limit.window_days * DAY_MS,
        )
        if unfounded < limit.unfounded:
            return
        filed = await review_store.reports_filed_by(conn, reporter_id, since_ms=now_ms - DAY_MS)
        wait_ms = reporter_wait_ms(unfounded, filed, now_ms, limit)
        if wait_ms is not None:
            retry_after = -(-wait_ms // 1000)
            raise Throttled(
                f"{unfounded} of your recent reports found no violation; you may file "
                f"{limit.per_day} a day for now. Try again in {retry_after} s",
                code=ErrorCode.REPORT_RATE_LIMITED,
                retry_after=retry_after,
            )

    async def _check_flood(self, reporter_id: int) -> None:
        """However founded a reporter's reports have been, only so many in a burst and a day."""
        wait = await self._rate_limits.hit(self._per_reporter, str(reporter_id))
        if wait is not None:
            raise Throttled(
                f"too many reports for now; try again in {wait} s",
                code=ErrorCode.TOO_MANY_REPORTS,
                retry_after=wait,
            )

    async def _seen(
        self, conn: DbConnection, actor: Principal, target_type: str, target_id: int
    ) -> Seen:
        """The target as the reporter can see it; else 404."""
        found = await _TARGET_READERS[target_type](conn, actor.account_id, target_id)
        if found is None:
            raise NotFound(f"no such {target_type}", code=ErrorCode.TARGET_NOT_FOUND)
        return found


@dataclass(frozen=True, slots=True)
class Seen:
    """A reported target as its reporter sees it: its author, what it says, whether moderation
    removed it already, and a post's reach so far."""

    author_id: int | None
    content: dict[str, Any]
    gone: bool = False
    views: int = 0
    forwarders: int = 0


async def _message(conn: DbConnection, viewer_id: int, message_id: int) -> Seen | None:
    message = await message_store.get(conn, message_id)
    if message is None or viewer_id not in await conversation_store.member_roles(
        conn, message.conversation_id
    ):
        return None
    if message.moderation in SENDER_ONLY and message.sender_id != viewer_id:
        return None
    content = {"text": message.text, "conversation_id": message.conversation_id}
    content |= _media_ids(message.media)
    return Seen(message.sender_id, content, message.moderation in GONE)


async def _post(conn: DbConnection, _viewer_id: int, post_id: int) -> Seen | None:
    post = await post_store.get(conn, post_id)
    if (
        post is None
        or post.status not in (PostState.PUBLISHED, PostState.REMOVED)
        or post.account_status not in READABLE_ACCOUNTS
    ):
        return None
    account = await public_account_store.existing(conn, post.public_account_id)
    content = {
        "title": post.title,
        "body": post.body,
        "public_account_id": post.public_account_id,
        "text": f"{post.title}\n{post.body}",
        **_media_ids(post.media),
    }
    # The reach it has so far weighs in the case, as an escalation's would.
    return Seen(
        account.operator_id,
        content,
        post.status == PostState.REMOVED,
        views=post.views,
        forwarders=post.forwarders,
    )


def _media_ids(carried: str | None) -> dict[str, Any]:
    """The ids of the media a message or post carries, for its case (none: nothing)."""
    if not carried:
        return {}
    return {"media_ids": [media["id"] for media in orjson.loads(carried)]}


async def _user(conn: DbConnection, _viewer_id: int, account_id: int) -> Seen | None:
    account = await account_store.get(conn, account_id)
    if account is None or account.status != AccountStatus.ACTIVE:
        return None
    return Seen(account.id, {"display_name": account.display_name, "text": account.display_name})


async def _group(conn: DbConnection, viewer_id: int, conversation_id: int) -> Seen | None:
    group = await conversation_store.get(conn, conversation_id)
    if group is None or group.kind != ConversationKind.GROUP:
        return None
    roles = await conversation_store.member_roles(conn, conversation_id)
    if viewer_id not in roles:
        return None
    # Whoever owns the group now answers for it, not whoever made it (ownership passes on):
    # nobody while a sanction holds its owner's rights back.
    owner_id = next((uid for uid, role in roles.items() if role == MemberRole.OWNER), None)
    return Seen(owner_id, {"title": group.title, "text": group.title})


async def _public_account(
    conn: DbConnection, _viewer_id: int, public_account_id: int
) -> Seen | None:
    account = await public_account_store.get(conn, public_account_id)
    if account is None or account.status not in READABLE_ACCOUNTS:
        return None
    content = {
        "name": account.name,
        "description": account.description,
        "text": f"{account.name}\n{account.description}",
    }
    return Seen(account.operator_id, content)


_TARGET_READERS: dict[str, Callable[[DbConnection, int, int], Awaitable[Seen | None]]] = {
    Target.MESSAGE: _message,
    Target.POST: _post,
    Target.USER: _user,
    Target.GROUP: _group,
    Target.PUBLIC_ACCOUNT: _public_account,
}


def _filed(row: StoredReport, target_type: str, target_id: int) -> FiledReport:
    return FiledReport(**asdict(row), target_type=target_type, target_id=target_id)
