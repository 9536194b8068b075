"""Sanctions: staff apply them along the ladder, every interface checks them, and they end by
themselves when their time is up.

What a sanction withholds is decided when it is checked (its end time against the clock), so
it lifts on the dot whatever the expiry job is doing; the job only records the end and tells
the subject. A process caches each subject's sanctions and forgets them the moment it changes
one; a change made on another node is seen here within SANCTION_RECHECK_SECONDS.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from townhall.domain.accounts import AccountStatus, LinkSource, Role, check_reason
from townhall.domain.enforcement import (
    DAY_MS,
    KINDS_BY_SUBJECT,
    MAX_DAYS,
    MAY_END,
    NEEDS_END,
    WITHHELD_BY_USER_SANCTION,
    CreditBand,
    Kind,
    Recommendation,
    SanctionState,
    Strike,
    SubjectType,
    band_of,
    credit_score,
    decayed_points,
    recommend,
    warning_required,
)
from townhall.domain.errors import (
    Conflict,
    ErrorCode,
    Forbidden,
    InvalidInput,
    NotFound,
    PolicyRefusal,
)
from townhall.domain.messaging import ConversationKind, MemberRole
from townhall.domain.permissions import Permission
from townhall.domain.policy import PolicyPack
from townhall.domain.public_accounts import AccountState
from townhall.domain.review import CaseState, Target
from townhall.domain.time import iso_utc
from townhall.services.audit import AuditTrail
from townhall.services.caches import Invalidations, LocalCache, Topic
from townhall.services.notices import Notices
from townhall.services.principal import Principal, require
from townhall.services.rendering import SanctionView, render_sanction
from townhall.store import accounts as account_store
from townhall.store import conversations as conversation_store
from townhall.store import identities as identity_store
from townhall.store import messages as message_store
from townhall.store import persons as person_store
from townhall.store import posts as post_store
from townhall.store import public_accounts as public_account_store
from townhall.store import review as review_store
from townhall.store import sanctions as sanction_store
from townhall.store.accounts import StoredAccount
from townhall.store.conversations import StoredConversation
from townhall.store.database import Database, DbConnection, Transaction
from townhall.store.identities import StoredIdentity
from townhall.store.public_accounts import StoredPublicAccount
from townhall.store.review import StoredCase
from townhall.store.sanctions import StoredSanction

SANCTION_RECHECK_SECONDS = 30.0
IN_FORCE_CACHE_MAX = 100_000
EXPIRY_BATCH = 200
VIOLATIONS = (CaseState.REMOVED, CaseState.MARKED_FALSE, CaseState.UPHELD)
# The sanctions that close a user's account, and bar its holder from registering again.
CLOSING = frozenset({Kind.CLOSE, Kind.BLACKLIST_IDENTITY})
# Closing an account or a group, or blacklisting an identity: to apply or lift one takes
# Permission.APPLY_CLOSING_SANCTION.
GRAVE = frozenset({Kind.CLOSE, Kind.CLOSE_GROUP, Kind.BLACKLIST_IDENTITY})
# How each sanction's refusal reads to the person refused.
REFUSALS: dict[str, tuple[ErrorCode, str]] = {
    Kind.LIMIT_PUBLICATION: (ErrorCode.PUBLICATION_LIMITED, "your publication is limited"),
    Kind.SUSPEND_UPDATES: (ErrorCode.UPDATES_SUSPENDED, "your account's updates are suspended"),
    Kind.CLOSE: (ErrorCode.ACCOUNT_CLOSED, "your account is closed"),
    Kind.BLACKLIST_IDENTITY: (ErrorCode.ACCOUNT_CLOSED, "your account is closed"),
    Kind.SUSPEND_POSTING: (ErrorCode.GROUP_POSTING_SUSPENDED, "posting in this group is suspended"),
    Kind.CLOSE_GROUP: (ErrorCode.GROUP_CLOSED, "this group is closed"),
}
Subject = tuple[str, int]


@dataclass(frozen=True, slots=True)
class InForce:
    """A subject's sanctions: kind -> end (ms, None: until lifted), and the credit band their
    strikes leave."""

    ends: dict[str, int | None]
    band: CreditBand

    def active(self, now_ms: int) -> dict[str, int | None]:
        return {k: end for k, end in self.ends.items() if end is None or end > now_ms}


@dataclass(frozen=True, slots=True)
class Credit:
    """A subject's credit score and the band it reaches."""

    score: int
    band: CreditBand


@dataclass(frozen=True, slots=True)
class Person:
    """The accounts in use of the person behind a user, and what linked their identities."""

    user_id: int
    accounts: tuple[int, ...]
    linked_by: tuple[str, ...]  # LinkSource, each once, sorted


@dataclass(frozen=True, slots=True)
class SubjectStanding:
    """What staff weigh before a sanction: the subject's strikes, credit, sanctions and the
    rung the pack's ladder recommends next."""

    subject_type: str
    subject_id: int
    person: Person | None  # a user's only
    points: float  # decayed
    credit: Credit
    in_force: tuple[SanctionView, ...]
    history: tuple[SanctionView, ...]  # oldest first
    recommendation: Recommendation


@dataclass(frozen=True, slots=True)
class OwnStanding:
    """What a user is shown of their own: the sanctions in force on them and their credit."""

    sanctions: tuple[SanctionView, ...]
    credit: Credit


def _recheck_at(_subject: Subject, _in_force: InForce, now: float) -> float:
    return now + SANCTION_RECHECK_SECONDS


class Enforcement:
    def __init__(
        self,
        database: Database,
        notices: Notices,
        audit: AuditTrail,
        pack: PolicyPack,
        *,
        clock: Callable[[], float],
        invalidations: Invalidations,
    ) -> None:
        self._db = database
        self._notices = notices
        self._audit = audit
        self._rules = pack.enforcement
        self._lowest_severity = pack.moderation.severities[0]
        self._clock = clock
        self._invalidations = invalidations
        self._cache: LocalCache[Subject, InForce] = LocalCache(
            IN_FORCE_CACHE_MAX, expires=_recheck_at, clock=clock
        )
        invalidations.listen(Topic.SANCTIONS, self._forget_in_force)
        invalidations.empty_after_gaps(self._cache)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    # Checks on every interface -------------------------------------------------------------

    async def require_user_may(self, account_id: int, capability: str) -> None:
        """Refuse what a user's sanctions, or their credit band, withhold."""
        in_force = await self._in_force((SubjectType.USER, account_id))
        now_ms = self._now_ms()
        for kind, ends_at in in_force.active(now_ms).items():
            if capability in WITHHELD_BY_USER_SANCTION[kind]:
                raise _refusal(kind, ends_at)
        if capability in in_force.band.withheld:
            raise Forbidden(
                f"your credit band ({in_force.band.name}) does not allow this yet; it recovers as "
                "strikes fade",
                code=ErrorCode.CREDIT_TOO_LOW,
            )

    async def user_closed(self, account_id: int) -> bool:
        """Whether a sanction closes the user's account now: asked of a direct message's
        recipient, from the same cache as the sender's own sanctions."""
        in_force = await self._in_force((SubjectType.USER, account_id))
        return not CLOSING.isdisjoint(in_force.active(self._now_ms()))

    async def require_group_open(self, conversation_id: int) -> None:
        in_force = await self._in_force((SubjectType.GROUP, conversation_id))
        for kind, ends_at in in_force.active(self._now_ms()).items():
            if kind in REFUSALS:
                raise _refusal(kind, ends_at)

    async def publication_held(self, public_account_id: int) -> bool:
        """A public account under limited publication has every post held for review."""
        in_force = await self._in_force((SubjectType.PUBLIC_ACCOUNT, public_account_id))
        return Kind.LIMIT_PUBLICATION in in_force.active(self._now_ms())

    async def _in_force(self, subject: Subject) -> InForce:
        return await self._cache.get(subject, lambda: self._read_in_force(subject))

    async def _read_in_force(self, subject: Subject) -> InForce:
        async with self._db.reading() as conn:
            rows = await self._history(conn, subject)
        score = credit_score(self._points(rows, self._now_ms()), self._rules)
        return InForce(ends=_latest_ends(rows), band=band_of(score, self._rules))

    def _forget_in_force(self, subject: Subject) -> None:
        """A user's sanctions reach every account of the person, so a change to one forgets
        every user (sanctions change rarely; a re-read is one query)."""
        if subject[0] == SubjectType.USER:
            self._cache.forget_where(lambda key, _in_force: key[0] == SubjectType.USER)
        else:
            self._cache.forget(subject)

    async def _history(self, conn: DbConnection, subject: Subject) -> list[StoredSanction]:
        """Every sanction the subject ever had, oldest first. A user's are their person's: those
        applied to any account of any identity established to be theirs."""
        subject_type, subject_id = subject
        if subject_type != SubjectType.USER:
            return await sanction_store.of_subject(conn, subject_type, subject_id)
        keys = await self._person_keys(conn, subject_id)
        return await sanction_store.of_person(conn, subject_id, keys)

    async def _person_keys(self, conn: DbConnection, account_id: int) -> frozenset[str]:
        return await _keys_of(conn, await identity_store.get(conn, account_id))

    async def require_may_register(
        self, conn: DbConnection, keys: frozenset[str], now_ms: int
    ) -> None:
        """Refuse a new account to a person whose account was closed, while the close stands
        and the pack bars a return (in the registration's transaction)."""
        bar_ms = self._rules.close_bars_return_days * DAY_MS
        for row in await sanction_store.of_person(conn, None, keys):
            if row.kind not in CLOSING or not _in_force_at(row, now_ms):
                continue
            if bar_ms and now_ms >= row.starts_at + bar_ms:
                continue
            until = "it is lifted" if not bar_ms else iso_utc(row.starts_at + bar_ms)
            raise Forbidden(
                f"an account of this identity was closed; it may not register again until {until}",
                code=ErrorCode.IDENTITY_CLOSED,
            )

    def _points(self, rows: list[StoredSanction], now_ms: int) -> float:
        strikes = [
            Strike(row.points, row.starts_at)
            for row in rows
            if row.state != SanctionState.REVERSED and row.points
        ]
        return decayed_points(strikes, now_ms, self._rules.decay_days)

    # Standing and the recommended rung -----------------------------------------------------

    async def standing(
        self, actor: Principal, subject_type: str, subject_id: int, *, case_id: int | None
    ) -> SubjectStanding:
        require(actor, Permission.READ_SANCTIONS)
        _check_subject_type(subject_type)
        now_ms = self._now_ms()
        async with self._db.reading() as conn:
            await self._subject_row(conn, subject_type, subject_id)
            rows = await self._history(conn, (subject_type, subject_id))
            case = None if case_id is None else await self._case(conn, case_id)
            person = None
            if subject_type == SubjectType.USER:
                person = await self._person_view(conn, subject_id)
        points = self._points(rows, now_ms)
        advice = recommend(
            subject_type=subject_type,
            points_now=points,
            severity=self._severity(case),
            warned_before=_warned(rows),
            rules=self._rules,
        )
        return SubjectStanding(
            subject_type=subject_type,
            subject_id=subject_id,
            person=person,
            points=points,
            credit=self._credit(points),
            in_force=tuple(self._view(row) for row in rows if _in_force_at(row, now_ms)),
            history=tuple(self._view(row) for row in rows),
            recommendation=advice,
        )

    async def own_in(
        self, conn: DbConnection, account_id: int, identity: StoredIdentity | None
    ) -> OwnStanding:
        """What GET /me shows: the caller's sanctions in force and credit band, read within the
        caller's transaction, which read their `identity` too."""
        now_ms = self._now_ms()
        rows = await sanction_store.of_person(conn, account_id, await _keys_of(conn, identity))
        return OwnStanding(
            sanctions=tuple(self._view(row) for row in rows if _in_force_at(row, now_ms)),
            credit=self._credit(self._points(rows, now_ms)),
        )

    def _credit(self, points: float) -> Credit:
        score = credit_score(points, self._rules)
        return Credit(score=score, band=band_of(score, self._rules))

    def _severity(self, case: StoredCase | None) -> str | None:
        """The severity a case's strike weighs (an unrated violation weighs least)."""
        return None if case is None else (case.severity or self._lowest_severity)

    async def listing(
        self,
        actor: Principal,
        *,
        subject_type: str | None,
        subject_id: int | None,
        state: str | None,
        after: int,
        limit: int,
    ) -> list[SanctionView]:
        require(actor, Permission.READ_SANCTIONS)
        async with self._db.reading() as conn:
            rows = await sanction_store.listing(
                conn,
                subject_type=subject_type,
                subject_id=subject_id,
                state=state,
                after=after,
                limit=limit,
            )
        return [self._view(row) for row in rows]

    async def get(self, actor: Principal, sanction_id: int) -> SanctionView:
        require(actor, Permission.READ_SANCTIONS)
        async with self._db.reading() as conn:
            return self._view(await self._sanction(conn, sanction_id))

    # One person, several identities --------------------------------------------------------

    async def link_identities(
        self, actor: Principal, user_id: int, other_user_id: int, reason: str | None
    ) -> Person:
        """A reviewer's finding that two users' identities belong to one person."""
        require(actor, Permission.LINK_IDENTITIES)
        reason = check_reason(reason, what="linking identities")
        if user_id == other_user_id:
            raise InvalidInput("link two different users", code=ErrorCode.SAME_USER)
        async with self._db.writing() as conn:
            first = await self._identity_on_file(conn, user_id)
            second = await self._identity_on_file(conn, other_user_id)
            linked = await person_store.link(
                conn,
                first.blind_index,
                second.blind_index,
                source=LinkSource.REVIEWER,
                linked_by=actor.account_id,
                now_ms=self._now_ms(),
            )
            await self._audit.record(
                conn,
                actor,
                "identity.link",
                subject=(SubjectType.USER, user_id),
                reason=reason,
                details={"other_user_id": other_user_id, "newly_linked": linked},
            )
            person = await self._person_view(conn, user_id)
            self.changed(conn, (SubjectType.USER, user_id))
        return person

    async def unlink_identity(self, actor: Principal, user_id: int, reason: str | None) -> Person:
        """Undo a link found wrong (a phone number passed on to someone else, say)."""
        require(actor, Permission.LINK_IDENTITIES)
        reason = check_reason(reason, what="unlinking an identity")
        async with self._db.writing() as conn:
            identity = await self._identity_on_file(conn, user_id)
            if not await person_store.unlink(conn, identity.blind_index):
                raise Conflict(
                    "that identity is linked to no other", code=ErrorCode.IDENTITY_NOT_LINKED
                )
            await self._audit.record(
                conn, actor, "identity.unlink", subject=(SubjectType.USER, user_id), reason=reason
            )
            person = await self._person_view(conn, user_id)
            self.changed(conn, (SubjectType.USER, user_id))
        return person

    async def _identity_on_file(self, conn: DbConnection, user_id: int) -> StoredIdentity:
        await self._subject_row(conn, SubjectType.USER, user_id)
        identity = await identity_store.get(conn, user_id)
        if identity is None:
            raise Conflict("the user has no identity on file", code=ErrorCode.IDENTITY_NOT_ON_FILE)
        return identity

    async def _person_view(self, conn: DbConnection, user_id: int) -> Person:
        """The accounts in use of the person behind a user, and how they were linked."""
        keys = await self._person_keys(conn, user_id)
        links = await person_store.links_of(conn, keys)
        return Person(
            user_id=user_id,
            accounts=tuple(await person_store.accounts_of(conn, keys, active=AccountStatus.ACTIVE)),
            linked_by=tuple(sorted({link.source for link in links})),
        )

    # Applying, lifting, expiring -----------------------------------------------------------

    async def apply(
        self,
        actor: Principal,
        *,
        subject_type: str,
        subject_id: int,
        kind: str,
        reason: str | None,
        case_id: int | None,
        ends_at: datetime | None,
        days: int | None,
        member_id: int | None,
    ) -> SanctionView:
        require(actor, Permission.APPLY_SANCTION)
        _check_subject_type(subject_type)
        if kind not in KINDS_BY_SUBJECT[subject_type]:
            raise InvalidInput(
                f"a {subject_type} takes one of: {', '.join(KINDS_BY_SUBJECT[subject_type])}",
                code=ErrorCode.SANCTION_KIND_INVALID,
            )
        if kind in GRAVE:
            require(actor, Permission.APPLY_CLOSING_SANCTION)
        reason = check_reason(reason, what="a sanction")
        now_ms = self._now_ms()
        end_ms = _end_of(kind, ends_at, days, now_ms)
        subject = (subject_type, subject_id)
        async with self._db.writing() as conn:
            subject_row = await self._subject_row(conn, subject_type, subject_id)
            history = await self._history(conn, subject)
            if warning_required(kind, _warned(history), self._rules):
                raise PolicyRefusal(
                    "this pack allows a suspension only after a prior warning",
                    code=ErrorCode.WARNING_REQUIRED,
                )
            case = None if case_id is None else await self._case_for(conn, case_id, subject)
            severity = self._severity(case)
            undo = await self._take_effect(
                conn, subject_row, subject, kind, member_id, reason, actor, now_ms
            )
            row = await sanction_store.insert_sanction(
                conn,
                subject_type=subject_type,
                subject_id=subject_id,
                person_key=await self._identity_key(conn, subject),
                kind=kind,
                member_id=member_id,
                case_id=case_id,
                category=None if case is None else (case.categories.split(",")[0] or None),
                severity=severity,
                points=0 if severity is None else self._rules.strike_points[severity],
                ground=self._rules.ground,
                reason=reason,
                applied_by=actor.account_id,
                starts_at=now_ms,
                ends_at=end_ms,
                # A warning or a change of rights takes effect once; it stays on record.
                state=SanctionState.ACTIVE,
                undo=orjson.dumps(undo).decode() if undo else None,
            )
            await self._audit.record(
                conn,
                actor,
                "sanction.apply",
                subject=subject,
                reason=reason,
                details={
                    "sanction_id": row.id,
                    "kind": kind,
                    "case_id": case_id,
                    "points": row.points,
                    "ends_at": end_ms,
                    "member_id": member_id,
                },
            )
            public_account = subject_row if isinstance(subject_row, StoredPublicAccount) else None
            await self._tell(conn, row, "sanction_applied", public_account)
            self.changed(conn, subject)
        return self._view(row)

    async def lift(self, actor: Principal, sanction_id: int, reason: str | None) -> SanctionView:
        require(actor, Permission.LIFT_SANCTION)
        reason = check_reason(reason, what="lifting a sanction")
        async with self._db.writing() as conn:
            row = await self._sanction(conn, sanction_id)
            if row.kind in GRAVE:
                require(actor, Permission.APPLY_CLOSING_SANCTION)
            row = await self.end(conn, row, SanctionState.LIFTED, actor=actor, reason=reason)
            await self._audit.record(
                conn,
                actor,
                "sanction.lift",
                subject=(row.subject_type, row.subject_id),
                reason=reason,
                details={"sanction_id": sanction_id, "kind": row.kind},
            )
        return self._view(row)

    async def end(
        self,
        conn: Transaction,
        row: StoredSanction,
        state: str,
        *,
        actor: Principal | None,
        reason: str | None,
    ) -> StoredSanction:
        """End a sanction in the caller's transaction, undo what it did and tell whom it
        concerns. A reversal also voids its strike, even once it has ended: the sanction then
        keeps the record of when, by whom and why it ended, and the appeal holds the reversal."""
        if row.state != SanctionState.ACTIVE and state != SanctionState.REVERSED:
            raise Conflict(
                f"the sanction is already {row.state}", code=ErrorCode.SANCTION_NOT_ACTIVE
            )
        if row.state == SanctionState.REVERSED:
            raise Conflict("the sanction was already reversed", code=ErrorCode.SANCTION_NOT_ACTIVE)
        if row.state != SanctionState.ACTIVE:
            return await self._void(conn, row)
        ended = await sanction_store.set_state(
            conn,
            row.id,
            row.state,
            state=state,
            ended_at=self._now_ms(),
            ended_by=None if actor is None else actor.account_id,
            end_reason=reason,
        )
        if ended is None:
            raise _changed_meanwhile()
        public_account = None
        if row.subject_type == SubjectType.PUBLIC_ACCOUNT:
            public_account = await public_account_store.existing(conn, row.subject_id)
        await self._undo(conn, row, public_account)
        await self._tell(conn, ended, "sanction_ended", public_account)
        self.changed(conn, (row.subject_type, row.subject_id))
        return ended

    async def _void(self, conn: Transaction, row: StoredSanction) -> StoredSanction:
        """Reverse a sanction that already ended: only its strike goes. Nothing is undone or
        told again (it ended once); the appellant hears of the decision."""
        voided = await sanction_store.set_state(
            conn, row.id, row.state, state=SanctionState.REVERSED
        )
        if voided is None:
            raise _changed_meanwhile()
        self.changed(conn, (row.subject_type, row.subject_id))
        return voided

    async def expire_due(self) -> int:
        """Record the end of every sanction whose time is up, undo it, tell its subject."""
        expired = 0
        async with self._db.reading() as conn:  # most rounds find nothing: no write lock then
            if not await sanction_store.due_to_expire(conn, self._now_ms(), 1):
                return 0
        while True:
            async with self._db.writing() as conn:
                rows = await sanction_store.due_to_expire(
                    conn, self._now_ms(), EXPIRY_BATCH, to_end=True
                )
                for row in rows:
                    await self.end(conn, row, SanctionState.EXPIRED, actor=None, reason=None)
            expired += len(rows)
            if len(rows) < EXPIRY_BATCH:
                return expired

    async def _identity_key(self, conn: DbConnection, subject: Subject) -> str | None:
        """The blind index a user's sanction is tied to, so that it follows the person."""
        if subject[0] != SubjectType.USER:
            return None
        identity = await identity_store.get(conn, subject[1])
        return None if identity is None else identity.blind_index

    def changed(self, conn: Transaction, subject: Subject) -> None:
        """The subject's sanctions change in this transaction: once it commits, forget the
        cached ones (a user's: every user's, as the cache's listener does)."""
        conn.after_commit(lambda: self._invalidations.forget(Topic.SANCTIONS, subject))
        if subject[0] == SubjectType.GROUP:  # remove_rights changes a role, which "mute all" reads
            conn.after_commit(lambda: self._invalidations.forget(Topic.MEMBERS, subject[1]))

    # What a sanction does to its subject ---------------------------------------------------

    async def _take_effect(
        self,
        conn: DbConnection,
        subject_row: SubjectRecord,
        subject: Subject,
        kind: str,
        member_id: int | None,
        reason: str,
        actor: Principal,
        now_ms: int,
    ) -> dict[str, Any]:
        """Changes beyond the sanction row itself; returns what undoing them needs."""
        _, subject_id = subject
        if (kind == Kind.REMOVE_RIGHTS) != (member_id is not None):
            raise InvalidInput(
                "member_id names whose rights are removed, and only for remove_rights",
                code=ErrorCode.MEMBER_ID_INVALID,
            )
        if kind == Kind.REMOVE_RIGHTS and member_id is not None:
            return await self._remove_rights(conn, subject_id, member_id)
        if kind == Kind.BLACKLIST_IDENTITY:
            identity = await identity_store.get(conn, subject_id)
            if identity is None:
                raise Conflict(
                    "the user has no identity on file", code=ErrorCode.IDENTITY_NOT_ON_FILE
                )
            added = await identity_store.add_to_blacklist(
                conn,
                blind_index=identity.blind_index,
                reason=reason,
                added_by=actor.account_id,
                now_ms=now_ms,
            )
            return {"blacklisted": identity.blind_index} if added else {}
        if isinstance(subject_row, StoredPublicAccount) and kind in PUBLIC_ACCOUNT_STATUS:
            # Every rung is reachable from a lower one: a suspended account can be closed.
            if subject_row.status not in SANCTIONED_STATUS_ORDER:
                raise Conflict(
                    f"the public account is {subject_row.status}, not approved",
                    code=ErrorCode.PUBLIC_ACCOUNT_STATE,
                )
            status = max(
                subject_row.status, PUBLIC_ACCOUNT_STATUS[kind], key=SANCTIONED_STATUS_ORDER.index
            )
            await public_account_store.set_review(
                conn, subject_id, status=status, status_reason=reason
            )
            return {"status": AccountState.APPROVED}
        return {}

    async def _remove_rights(
        self, conn: DbConnection, conversation_id: int, member_id: int
    ) -> dict[str, Any]:
        roles = await conversation_store.member_roles(conn, conversation_id)
        role = roles.get(member_id)
        if role not in (MemberRole.OWNER, MemberRole.ADMIN):
            raise Conflict(
                "that member is not the group's owner or an admin", code=ErrorCode.NOT_A_MANAGER
            )
        await sanction_store.set_member_role(conn, conversation_id, member_id, MemberRole.MEMBER)
        return {"role": role}

    async def owner_held_back(self, conn: DbConnection, conversation_id: int) -> int | None:
        """For a group nobody owns: the member whose ownership a remove_rights sanction in force
        took, if any. The latest such sanction's: an earlier one's ownership passed on before a
        later owner could lose it."""
        now_ms = self._now_ms()
        rows = await sanction_store.of_subject(conn, SubjectType.GROUP, conversation_id)
        held = [
            row.member_id
            for row in rows
            if row.kind == Kind.REMOVE_RIGHTS
            and _in_force_at(row, now_ms)
            and _undo_of(row).get("role") == MemberRole.OWNER
        ]
        return held[-1] if held else None

    async def _undo(
        self, conn: DbConnection, row: StoredSanction, public_account: StoredPublicAccount | None
    ) -> None:
        undo = _undo_of(row)
        if "role" in undo and row.member_id is not None:  # a remove_rights sanction's
            await _give_role_back(conn, row.subject_id, row.member_id, undo["role"])
        if "blacklisted" in undo:
            await sanction_store.unlist_identity(conn, undo["blacklisted"])
        if (
            "status" in undo
            and public_account is not None
            and await self._still_as_sanctioned(conn, account=public_account)
        ):
            status = await self._status_left(conn, row.subject_id)
            reason = None if status == AccountState.APPROVED else public_account.status_reason
            await public_account_store.set_review(
                conn, row.subject_id, status=status, status_reason=reason
            )

    async def _still_as_sanctioned(
        self, conn: DbConnection, *, account: StoredPublicAccount
    ) -> bool:
        """Whether the public account is still as sanctions left it: one closed since (its
        operator deregistered) is not opened again by a sanction's end."""
        if account.status not in PUBLIC_ACCOUNT_STATUS.values():
            return False
        operator = await account_store.get(conn, account.operator_id)
        return operator is not None and operator.status != AccountStatus.DEREGISTERED

    async def _status_left(self, conn: DbConnection, public_account_id: int) -> str:
        """The status the public account's sanctions still in force give it."""
        now_ms = self._now_ms()
        rows = await sanction_store.of_subject(conn, SubjectType.PUBLIC_ACCOUNT, public_account_id)
        statuses = [
            PUBLIC_ACCOUNT_STATUS[row.kind]
            for row in rows
            if row.kind in PUBLIC_ACCOUNT_STATUS and _in_force_at(row, now_ms)
        ]
        return max(statuses, key=SANCTIONED_STATUS_ORDER.index, default=AccountState.APPROVED)

    # Notices with the statement of reasons -------------------------------------------------

    async def _tell(
        self,
        conn: Transaction,
        row: StoredSanction,
        kind: str,
        public_account: StoredPublicAccount | None,
    ) -> None:
        notice = {"kind": kind, "sanction": render_sanction(self._view(row))}
        for recipient_id in await self.addressees(conn, row, public_account):
            await self._notices.tell(conn, recipient_id, notice)

    async def addressees(
        self,
        conn: DbConnection,
        row: StoredSanction,
        public_account: StoredPublicAccount | None = None,
    ) -> list[int]:
        """Whom a sanction concerns, who are told of it and may appeal it: its user, the public
        account's operator (`public_account`: its row, where the caller has it), the group's
        owners and the member whose rights it removed."""
        if row.subject_type == SubjectType.USER:
            # The person's accounts in use share the sanction (one closed and opened again,
            # or a linked identity's): each is told, and each may appeal.
            if row.person_key is not None:
                keys = await person_store.keys_of(conn, row.person_key)
            else:
                keys = await self._person_keys(conn, row.subject_id)
            holders = await person_store.accounts_of(conn, keys, active=AccountStatus.ACTIVE)
            return sorted({row.subject_id, *holders})
        if row.subject_type == SubjectType.PUBLIC_ACCOUNT:
            if public_account is None:
                public_account = await public_account_store.existing(conn, row.subject_id)
            return [public_account.operator_id]
        roles = await conversation_store.member_roles(conn, row.subject_id)
        owners = [uid for uid, role in roles.items() if role == MemberRole.OWNER]
        return sorted({*owners, *([row.member_id] if row.member_id else [])})

    def _view(self, row: StoredSanction) -> SanctionView:
        """The sanction with the end of the pack's window to appeal it."""
        return SanctionView(row, row.starts_at + self._rules.appeal_window_days * DAY_MS)

    # Lookups -------------------------------------------------------------------------------

    async def _sanction(self, conn: DbConnection, sanction_id: int) -> StoredSanction:
        row = await sanction_store.get(conn, sanction_id)
        if row is None:
            raise NotFound("no such sanction", code=ErrorCode.SANCTION_NOT_FOUND)
        return row

    async def _case(self, conn: DbConnection, case_id: int) -> StoredCase:
        case = await review_store.get_case(conn, case_id)
        if case is None:
            raise NotFound("no such case", code=ErrorCode.CASE_NOT_FOUND)
        return case

    async def _case_for(self, conn: DbConnection, case_id: int, subject: Subject) -> StoredCase:
        """The decided case this sanction answers: a violation, by this subject, not yet
        sanctioned (one case, one strike)."""
        case = await self._case(conn, case_id)
        if case.state not in VIOLATIONS:
            raise Conflict(
                f"the case is {case.state}: only a case found a violation gives a strike",
                code=ErrorCode.CASE_NOT_A_VIOLATION,
            )
        if not await self._concerns(conn, case, subject):
            raise Conflict(
                "the case is not about this subject", code=ErrorCode.CASE_NOT_ABOUT_SUBJECT
            )
        if await sanction_store.for_case(conn, case_id) is not None:
            raise Conflict(
                "the case has already given its strike", code=ErrorCode.CASE_ALREADY_SANCTIONED
            )
        return case

    async def _concerns(self, conn: DbConnection, case: StoredCase, subject: Subject) -> bool:
        subject_type, subject_id = subject
        if (case.target_type, case.target_id) == subject:
            return True
        if subject_type == SubjectType.USER:
            return case.author_id == subject_id
        if subject_type == SubjectType.PUBLIC_ACCOUNT and case.target_type == Target.POST:
            post = await post_store.get(conn, case.target_id)
            return post is not None and post.public_account_id == subject_id
        if subject_type == SubjectType.GROUP and case.target_type == Target.MESSAGE:
            message = await message_store.get(conn, case.target_id)
            return message is not None and message.conversation_id == subject_id
        return False

    async def _subject_row(
        self, conn: DbConnection, subject_type: str, subject_id: int
    ) -> SubjectRecord:
        if subject_type == SubjectType.USER:
            user = await account_store.get(conn, subject_id)
            if user is None or user.role != Role.USER:
                raise NotFound("no such user", code=ErrorCode.USER_NOT_FOUND)
            return user
        if subject_type == SubjectType.PUBLIC_ACCOUNT:
            public_account = await public_account_store.get(conn, subject_id)
            if public_account is None:
                raise NotFound("no such public account", code=ErrorCode.PUBLIC_ACCOUNT_NOT_FOUND)
            return public_account
        group = await conversation_store.get(conn, subject_id)
        if group is None or group.kind != ConversationKind.GROUP:
            raise NotFound("no such group", code=ErrorCode.GROUP_NOT_FOUND)
        return group


SubjectRecord = StoredAccount | StoredPublicAccount | StoredConversation
"""A sanction's subject as stored: a user, a public account or a group."""

PUBLIC_ACCOUNT_STATUS: dict[str, str] = {
    Kind.SUSPEND_UPDATES: AccountState.SUSPENDED,
    Kind.CLOSE: AccountState.CLOSED,
}
# The statuses sanctions move a public account between, least severe first.
SANCTIONED_STATUS_ORDER = (AccountState.APPROVED, AccountState.SUSPENDED, AccountState.CLOSED)


def _check_subject_type(subject_type: str) -> None:
    if subject_type not in KINDS_BY_SUBJECT:
        raise InvalidInput(
            f"subject_type is one of: {', '.join(KINDS_BY_SUBJECT)}",
            code=ErrorCode.SUBJECT_TYPE_INVALID,
        )


def _end_of(kind: str, ends_at: datetime | None, days: int | None, now_ms: int) -> int | None:
    if ends_at is not None and days is not None:
        raise InvalidInput("give ends_at or days, not both", code=ErrorCode.ENDS_AT_INVALID)
    if kind in NEEDS_END and ends_at is None and days is None:
        raise InvalidInput(
            f"a {kind} needs its end: ends_at or days", code=ErrorCode.ENDS_AT_REQUIRED
        )
    if kind not in MAY_END and (ends_at is not None or days is not None):
        raise InvalidInput(f"a {kind} has no end time", code=ErrorCode.ENDS_AT_INVALID)
    if days is not None:
        return now_ms + days * DAY_MS
    if ends_at is None:
        return None
    if ends_at.tzinfo is None:
        raise InvalidInput("ends_at needs a time zone, e.g. Z", code=ErrorCode.ENDS_AT_INVALID)
    end_ms = int(ends_at.timestamp() * 1000)
    if not now_ms < end_ms <= now_ms + MAX_DAYS * DAY_MS:
        raise InvalidInput(
            f"ends_at must be in the future, at most {MAX_DAYS} days ahead",
            code=ErrorCode.ENDS_AT_INVALID,
        )
    return end_ms


def _warned(rows: list[StoredSanction]) -> bool:
    return any(r.kind == Kind.WARNING and r.state != SanctionState.REVERSED for r in rows)


def _latest_ends(rows: list[StoredSanction]) -> dict[str, int | None]:
    """Each kind's latest end among the active sanctions (None: until lifted), so that a
    shorter sanction of a kind never hides a longer one of the same kind once it ends."""
    ends: dict[str, int | None] = {}
    for row in rows:
        if row.state == SanctionState.ACTIVE and (
            row.kind not in ends or _forever_if_none(row.ends_at) > _forever_if_none(ends[row.kind])
        ):
            ends[row.kind] = row.ends_at
    return ends


def _forever_if_none(end_ms: int | None) -> float:
    return math.inf if end_ms is None else end_ms


def _in_force_at(row: StoredSanction, now_ms: int) -> bool:
    """A warning takes effect once; it stays on record for the ladder, not in force."""
    return (
        row.kind != Kind.WARNING
        and row.state == SanctionState.ACTIVE
        and (row.ends_at is None or row.ends_at > now_ms)
    )


def _changed_meanwhile() -> Conflict:
    """Another process ended or reversed the sanction since it was read: the caller's
    transaction rolls back, and the sanction keeps the end that process gave it."""
    return Conflict("the sanction changed meanwhile", code=ErrorCode.SANCTION_NOT_ACTIVE)


def _undo_of(row: StoredSanction) -> dict[str, Any]:
    return orjson.loads(row.undo) if row.undo else {}


async def _give_role_back(
    conn: DbConnection, conversation_id: int, member_id: int, role: str
) -> None:
    """A remove_rights sanction's end: the member's role back, if they are in the group.
    Ownership comes back only to a group nobody took on meanwhile (it passed on when they
    left): else they are an admin again, and the group keeps its one owner."""
    if role == MemberRole.OWNER:
        roles = await conversation_store.member_roles(conn, conversation_id)
        if MemberRole.OWNER in roles.values():
            role = MemberRole.ADMIN
    await sanction_store.set_member_role(conn, conversation_id, member_id, role)


def _refusal(kind: str, ends_at: int | None) -> Forbidden:
    code, what = REFUSALS[kind]
    until = "until it is lifted" if ends_at is None else f"until {iso_utc(ends_at)}"
    return Forbidden(f"{what} {until}; see your notices for the reasons", code=code)


async def _keys_of(conn: DbConnection, identity: StoredIdentity | None) -> frozenset[str]:
    """The keys of the person an identity is established to be (none without an identity)."""
    if identity is None:
        return frozenset()
    return await person_store.keys_of(conn, identity.blind_index)
