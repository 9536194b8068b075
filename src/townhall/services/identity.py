"""Real identities back-stage: registration checks, the provider's verification, review,
audited reveal, phone check, blacklist, retention purge and key rotation. Only reviewers ever see
a plaintext identity, and every such look is recorded with its reason."""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from townhall.domain.accounts import (
    AWAITING_CONFIRMATION,
    AccountStatus,
    IdentityClaim,
    LinkSource,
    Role,
    Verification,
    check_reason,
)
from townhall.domain.enforcement import Capability
from townhall.domain.errors import (
    Conflict,
    ErrorCode,
    Forbidden,
    NotFound,
    PolicyRefusal,
    Throttled,
    Unavailable,
)
from townhall.domain.identity import (
    CheckedIdentity,
    ProviderAnswer,
    ReferenceKind,
    RevealReference,
    check_identity,
    mask_id_number,
    mask_legal_name,
    mask_phone,
    parse_reveal_reference,
    phone_e164,
    provider_finding,
    status_at_registration,
)
from townhall.domain.limits import Limits
from townhall.domain.permissions import Permission
from townhall.domain.policy import PolicyPack
from townhall.domain.review import users_concerned
from townhall.domain.time import iso_utc
from townhall.services.audit import AuditTrail
from townhall.services.enforcement import Enforcement
from townhall.services.notices import Notices
from townhall.services.principal import Principal, require
from townhall.services.standing import Standings
from townhall.services.verifier import RealNameVerifier
from townhall.store import accounts as account_store
from townhall.store import identities as identity_store
from townhall.store import persons as person_store
from townhall.store import review as review_store
from townhall.store import sanctions as sanction_store
from townhall.store.database import Database, DbConnection, Transaction
from townhall.store.identities import IdentityAccess, IdentityInReview, StoredIdentity
from townhall.store.vault import IdentityVault

HOUR_MS = 3_600_000
security_log = logging.getLogger("townhall.security")

CLAIM_TTL_MS = 30 * 60 * 1000  # a claim left this long may be taken by another reviewer
PHONE_WINDOW_MS = 3600 * 1000
ROTATION_PAGE = 200
ROTATION_PASSES = 5


async def _require_referenced(conn: DbConnection, purpose: RevealReference, user_id: int) -> None:
    """A case or an appeal named as the reason for a look must exist and be about the user:
    the case's item is theirs or the case is about them; the appeal is theirs."""
    if purpose.kind == ReferenceKind.CASE:
        case = await review_store.get_case(conn, purpose.record_id)
        if case is None:
            raise NotFound("no such review case", code=ErrorCode.CASE_NOT_FOUND)
        about = users_concerned(case.target_type, case.target_id, case.author_id)
    elif purpose.kind == ReferenceKind.APPEAL:
        appeal = await sanction_store.get_appeal(conn, purpose.record_id)
        if appeal is None:
            raise NotFound("no such appeal", code=ErrorCode.APPEAL_NOT_FOUND)
        about = frozenset({appeal.appellant_id})
    else:
        return  # an authority's request: its reference is its own, kept as given
    if user_id not in about:
        raise PolicyRefusal(
            f"{purpose} is not about user {user_id}", code=ErrorCode.REFERENCE_UNRELATED
        )


async def _on_file(conn: DbConnection, user_id: int) -> StoredIdentity:
    row = await identity_store.get(conn, user_id)
    if row is None:
        raise NotFound("no identity on file for that user", code=ErrorCode.IDENTITY_NOT_FOUND)
    return row


class SmsSender(Protocol):
    async def send(self, *, account_id: int, phone_e164: str, text: str) -> None: ...


@dataclass(frozen=True, slots=True)
class StartingVerification:
    """Where a new identity starts, from the provider's answer at registration."""

    status: str
    provider_result: str | None  # match; None when the provider gave no answer


@dataclass(frozen=True, slots=True)
class MaskedIdentity:
    """An identity as its holder sees it: the document number, the name and the phone masked,
    with its verification state. `reason`: why it was rejected; None unless it was."""

    id_type: str
    id_number: str
    legal_name: str
    phone: str
    status: str
    phone_confirmed: bool
    provider_result: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class QueuedIdentity:
    """An identity in the review queue, masked, with where its review stands. `reason`: the
    one given with its status, if any."""

    user_id: int
    handle: str
    id_type: str
    id_number: str
    legal_name: str
    phone: str
    status: str
    phone_confirmed: bool
    provider_result: str | None
    submitted_at: int
    claimed_by: int | None
    claimed_at: int | None
    decided_by: int | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class ReviewClaim:
    """A reviewer's hold on an identity to review."""

    user_id: int
    claimed_by: int
    claimed_at: int


@dataclass(frozen=True, slots=True)
class ReviewDecision:
    user_id: int
    status: str
    reason: str | None
    decided_by: int
    decided_at: int


@dataclass(frozen=True, slots=True)
class RevealedIdentity:
    """The plaintext identity of a user, shown to a reviewer once; `access_record_id` is the
    record of that look."""

    user_id: int
    identity: IdentityClaim
    access_record_id: int


@dataclass(frozen=True, slots=True)
class KeyRotation:
    """The key every identity is now sealed under, and how many were sealed again."""

    key_id: str
    resealed: int


def _definite(finding: str) -> str | None:
    return finding if finding != ProviderAnswer.UNAVAILABLE else None


class IdentityService:
    def __init__(
        self,
        database: Database,
        vault: IdentityVault,
        pack: PolicyPack,
        standings: Standings,
        enforcement: Enforcement,
        sms: SmsSender,
        verifier: RealNameVerifier,
        audit: AuditTrail,
        notices: Notices,
        *,
        limits: Limits,
        clock: Callable[[], float],
    ) -> None:
        self._db = database
        self._notices = notices
        self._limits = limits
        self._enforcement = enforcement
        self._verifier = verifier
        self._audit = audit
        self._vault = vault
        self._pack = pack
        self._timezone = ZoneInfo(pack.timezone)
        self._standings = standings
        self._sms = sms
        self._clock = clock

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _today(self) -> date:
        return datetime.fromtimestamp(self._clock(), self._timezone).date()

    def check(self, claim: IdentityClaim) -> CheckedIdentity:
        return check_identity(
            claim,
            self._pack.identity,
            today=self._today(),
            phone_region=self._pack.phone.default_region,
        )

    async def person_of(self, conn: DbConnection, checked: CheckedIdentity) -> frozenset[str]:
        """The blind indexes of the person a checked identity belongs to: its own, those linked
        to it, and those of identities with the same phone (linked to it once it enrols)."""
        keys = set(await person_store.keys_of(conn, self._vault.blind_index(checked.claim)))
        for other in await person_store.with_phone(conn, self._phone_index(checked)):
            keys |= await person_store.keys_of(conn, other)
        return frozenset(keys)

    def _phone_index(self, checked: CheckedIdentity) -> str:
        return self._vault.phone_index(checked.claim.phone)

    def phone_index(self, phone: str) -> str:
        """The keyed hash a phone is indexed under, as registration writes it (E.164, the
        pack's region for a number without its country code); `phone_invalid` if none."""
        return self._vault.phone_index(phone_e164(phone, self._pack.phone.default_region))

    async def require_enrolable(
        self, conn: DbConnection, checked: CheckedIdentity
    ) -> frozenset[str]:
        """The document may hold another account: its person is not blacklisted, the document
        not at the pack's cap. Returns the person's blind indexes, for the closure bar."""
        person = await self.person_of(conn, checked)
        if await identity_store.is_blacklisted(conn, *person):
            raise Forbidden("this identity may not register", code=ErrorCode.IDENTITY_BLACKLISTED)
        holders = await identity_store.count_active_holders(
            conn,
            self._vault.blind_index(checked.claim),
            active=AccountStatus.ACTIVE,
            rejected=Verification.REJECTED,
        )
        if holders >= self._pack.identity.accounts_per_identity:
            raise Conflict(
                f"this identity already holds the most accounts allowed "
                f"({self._pack.identity.accounts_per_identity})",
                code=ErrorCode.IDENTITY_LIMIT,
            )
        return person

    async def verify(self, checked: CheckedIdentity) -> StartingVerification:
        """Ask the provider, outside any transaction: a slow provider must not hold the write
        lock. A no-match refuses the registration (`identity_not_matched`); no answer leaves
        the identity `format_checked`, to be checked again later."""
        finding = await self._ask_provider(checked.claim)
        status = status_at_registration(self._pack.identity.verification_mode, finding)
        return StartingVerification(status, _definite(finding))

    async def _ask_provider(self, claim: IdentityClaim) -> str:
        identity, phone_holder = await asyncio.gather(
            self._verifier.verify_identity(
                legal_name=claim.legal_name, id_type=claim.id_type, id_number=claim.id_number
            ),
            self._verifier.verify_phone_holder(
                phone=claim.phone,
                legal_name=claim.legal_name,
                id_type=claim.id_type,
                id_number=claim.id_number,
            ),
        )
        return provider_finding(identity, phone_holder)

    async def enrol(
        self,
        conn: DbConnection,
        account_id: int,
        checked: CheckedIdentity,
        verification: StartingVerification,
        now_ms: int,
    ) -> frozenset[str]:
        """Seal a checked identity inside the registration's transaction, linked to the
        identities that share its phone; returns the blind indexes of its person."""
        # Again: another registration may have won since the first look.
        person = await self.require_enrolable(conn, checked)
        blind_index = self._vault.blind_index(checked.claim)
        phone_index = self._phone_index(checked)
        for other in await person_store.with_phone(conn, phone_index) - {blind_index}:
            await person_store.link(
                conn,
                other,
                blind_index,
                source=LinkSource.SAME_PHONE,
                linked_by=None,
                now_ms=now_ms,
            )
        key_id, sealed = self._vault.seal(account_id, checked.claim)
        await identity_store.insert_identity(
            conn,
            account_id=account_id,
            key_id=key_id,
            sealed=sealed,
            blind_index=blind_index,
            phone_index=phone_index,
            status=verification.status,
            provider_result=verification.provider_result,
            now_ms=now_ms,
        )
        return person

    async def index_phones(self) -> int:
        """Index the phones of identities sealed before phones were indexed (once, at start),
        linking each to the identities that share its phone; returns how many it indexed."""
        indexed, after = 0, 0
        while True:
            async with self._db.writing() as conn:
                page = await identity_store.without_phone_index(
                    conn, after_account_id=after, limit=ROTATION_PAGE
                )
                for row in page:
                    claim = self._vault.open(row.account_id, row.key_id, row.sealed)
                    phone_index = self._vault.phone_index(claim.phone)
                    for other in await person_store.with_phone(conn, phone_index):
                        await person_store.link(
                            conn,
                            other,
                            row.blind_index,
                            source=LinkSource.SAME_PHONE,
                            linked_by=None,
                            now_ms=self._now_ms(),
                        )
                    await identity_store.set_phone_index(conn, row.account_id, phone_index)
            indexed += len(page)
            if len(page) < ROTATION_PAGE:
                return indexed
            after = page[-1].account_id

    async def check_again(self, actor: Principal) -> MaskedIdentity:
        """Ask the provider again for a `format_checked` identity it has not answered for
        (it was down at registration, or no provider was configured then)."""
        require(actor, Permission.ACT)
        await self._enforcement.require_user_may(actor.account_id, Capability.INTERACT)
        if not self._verifier.configured:
            raise Conflict(
                "this server has no identity-verification provider: a reviewer verifies "
                "identities from the queue",
                code=ErrorCode.NO_VERIFIER,
            )
        async with self._db.reading() as conn:
            row = await self._checkable(conn, actor.account_id)
        claim = self._vault.open(actor.account_id, row.key_id, row.sealed)
        finding = await self._ask_provider(claim)
        if finding == ProviderAnswer.UNAVAILABLE:
            raise Unavailable(
                "the identity-verification provider did not answer; try again later",
                code=ErrorCode.VERIFIER_UNAVAILABLE,
            )
        async with self._db.writing() as conn:
            await self._checkable(conn, actor.account_id)  # a reviewer may have decided since
            await identity_store.record_provider_result(
                conn,
                actor.account_id,
                # A no-match leaves the account as it is, for a reviewer to decide.
                status=Verification.PROVIDER_VERIFIED
                if finding == ProviderAnswer.MATCH
                else Verification.FORMAT_CHECKED,
                result=finding,
                now_ms=self._now_ms(),
            )
            conn.after_commit(lambda: self._standings.forget(actor.account_id))
        view = await self.own_view(actor.account_id)
        assert view is not None
        return view

    async def _checkable(self, conn: DbConnection, account_id: int) -> StoredIdentity:
        row = await identity_store.get(conn, account_id)
        if row is None:
            raise NotFound("no identity on file", code=ErrorCode.IDENTITY_NOT_FOUND)
        if row.status != Verification.FORMAT_CHECKED or row.provider_result is not None:
            raise Conflict(
                "only an identity whose format was checked and that the provider has not "
                "answered for can be checked again",
                code=ErrorCode.IDENTITY_NOT_CHECKABLE,
            )
        return row

    async def own_view(self, account_id: int) -> MaskedIdentity | None:
        """What the owner sees of their identity: masked, with its verification state."""
        async with self._db.reading() as conn:
            return self.own_view_of(await identity_store.get(conn, account_id))

    def own_view_of(self, row: StoredIdentity | None) -> MaskedIdentity | None:
        """`own_view` of an identity the caller read."""
        return None if row is None else self._masked(row)

    def _masked(self, row: StoredIdentity) -> MaskedIdentity:
        claim = self._vault.open(row.account_id, row.key_id, row.sealed)
        return MaskedIdentity(
            id_type=claim.id_type,
            id_number=mask_id_number(claim.id_type, claim.id_number),
            legal_name=mask_legal_name(claim.legal_name),
            phone=mask_phone(claim.phone),
            status=row.status,
            phone_confirmed=row.phone_verified_at is not None,
            provider_result=row.provider_result,
            reason=row.status_reason if row.status == Verification.REJECTED else None,
        )

    # Review by staff -----------------------------------------------------------------------

    async def review_queue(
        self, actor: Principal, *, status: str, after: int, limit: int
    ) -> list[QueuedIdentity]:
        require(actor, Permission.READ_IDENTITY_QUEUE)
        # Entries show handles and masked identities: every look is recorded.
        async with self._db.writing() as conn:
            rows = await identity_store.in_review(
                conn,
                status=status,
                active=AccountStatus.ACTIVE,
                after_account_id=after,
                limit=limit,
            )
            await self._audit.record_read(conn, actor, "identity", [r.account_id for r in rows])
        return [self._review_item(row) for row in rows]

    def _review_item(self, row: IdentityInReview) -> QueuedIdentity:
        masked = self._masked(row)
        return QueuedIdentity(
            user_id=row.account_id,
            handle=row.handle,
            id_type=masked.id_type,
            id_number=masked.id_number,
            legal_name=masked.legal_name,
            phone=masked.phone,
            status=masked.status,
            phone_confirmed=masked.phone_confirmed,
            provider_result=masked.provider_result,
            submitted_at=row.created_at,
            claimed_by=row.claimed_by,
            claimed_at=row.claimed_at,
            decided_by=row.decided_by,
            reason=row.status_reason,
        )

    async def claim(self, actor: Principal, user_id: int) -> ReviewClaim:
        require(actor, Permission.REVIEW_IDENTITY)
        now_ms = self._now_ms()
        async with self._db.writing() as conn:
            await self._pending_for(conn, user_id, actor, now_ms)
            await identity_store.claim(conn, user_id, actor.account_id, now_ms)
            await self._audit.record(conn, actor, "identity.claim", subject=("user", user_id))
        return ReviewClaim(user_id, claimed_by=actor.account_id, claimed_at=now_ms)

    async def decide(
        self, actor: Principal, user_id: int, *, approve: bool, reason: str | None
    ) -> ReviewDecision:
        require(actor, Permission.REVIEW_IDENTITY)
        if not approve:
            reason = check_reason(reason, what="a rejection")
        now_ms = self._now_ms()
        status = Verification.STAFF_VERIFIED if approve else Verification.REJECTED
        async with self._db.writing() as conn:
            await self._pending_for(conn, user_id, actor, now_ms)
            await identity_store.decide(
                conn,
                user_id,
                status=status,
                reason=reason,
                reviewer_id=actor.account_id,
                now_ms=now_ms,
            )
            await self._audit.record(
                conn,
                actor,
                "identity.approve" if approve else "identity.reject",
                subject=("user", user_id),
                reason=reason,
            )
            conn.after_commit(lambda: self._standings.forget(user_id))
        return ReviewDecision(
            user_id, status=status, reason=reason, decided_by=actor.account_id, decided_at=now_ms
        )

    async def _pending_for(
        self, conn: DbConnection, user_id: int, actor: Principal, now_ms: int
    ) -> StoredIdentity:
        """The identity nobody has confirmed yet (waiting for review, or only format-checked),
        unless another reviewer's claim on it is fresh."""
        row = await _on_file(conn, user_id)
        if row.status not in AWAITING_CONFIRMATION:
            raise Conflict(
                "that identity is not waiting for review", code=ErrorCode.IDENTITY_NOT_PENDING
            )
        held_by_other = row.claimed_by not in (None, actor.account_id)
        if held_by_other and now_ms - (row.claimed_at or 0) < CLAIM_TTL_MS:
            raise Conflict("another reviewer has claimed this identity", code=ErrorCode.CLAIMED)
        return row

    async def reveal(
        self, actor: Principal, user_id: int, reason: str | None, reference: str
    ) -> RevealedIdentity:
        """The plaintext identity, once, to a reviewer with a reason and a reference to what it
        is for (a case, an appeal, an authority's request); the look is recorded. A reviewer
        looks at most `identity_reveals_per_reviewer_per_hour` times an hour, and the
        administrators are told when one passes `identity_reveals_alert_per_hour`."""
        require(actor, Permission.REVEAL_IDENTITY)
        reason = check_reason(reason, what="revealing an identity")
        purpose = parse_reveal_reference(reference)
        now_ms = self._now_ms()
        async with self._db.writing() as conn:
            row = await _on_file(conn, user_id)
            await _require_referenced(conn, purpose, user_id)
            looks = await identity_store.accesses_since(conn, actor.account_id, now_ms - HOUR_MS)
            self._require_may_look(looks, now_ms)
            record_id = await identity_store.record_access(
                conn,
                actor_id=actor.account_id,
                subject_id=user_id,
                reason=reason,
                reference=str(purpose),
                now_ms=now_ms,
            )
            await self._audit.record(
                conn,
                actor,
                "identity.reveal",
                subject=("user", user_id),
                reason=reason,
                details={"access_record_id": record_id, "reference": str(purpose)},
            )
            if len(looks) + 1 == self._limits.identity_reveals_alert_per_hour + 1:
                await self._alert_administrators(conn, actor, len(looks) + 1, now_ms)
        claim = self._vault.open(user_id, row.key_id, row.sealed)
        return RevealedIdentity(user_id, claim, access_record_id=record_id)

    def _require_may_look(self, looks: list[int], now_ms: int) -> None:
        allowed = self._limits.identity_reveals_per_reviewer_per_hour
        if len(looks) >= allowed:
            retry_after = (looks[-allowed] + HOUR_MS - now_ms) // 1000 + 1
            raise Throttled(
                f"at most {allowed} identities an hour; try again in {retry_after} s",
                code=ErrorCode.TOO_MANY_REVEALS,
                retry_after=retry_after,
            )

    async def _alert_administrators(
        self, conn: Transaction, reviewer: Principal, looks: int, now_ms: int
    ) -> None:
        """Once an hour at most per reviewer: the look that passes the alert threshold."""
        details = {
            "reveals_last_hour": looks,
            "alert_at": self._limits.identity_reveals_alert_per_hour,
        }
        await self._audit.record_automatic(
            conn, "identity.reveals_alert", subject=("user", reviewer.account_id), details=details
        )
        notice = {"kind": "identity_reveals_alert", "reviewer_id": reviewer.account_id, **details}
        for admin_id in await account_store.ids_with_role(conn, Role.ADMIN):
            await self._notices.tell(conn, admin_id, notice | {"at": iso_utc(now_ms)})
        conn.after_commit(
            lambda: security_log.warning(
                "identity reveals alert: account=%s revealed %d identities in an hour",
                reviewer.account_id,
                looks,
            )
        )

    async def access_records(
        self, actor: Principal, *, subject_id: int | None, before: int | None, limit: int
    ) -> list[IdentityAccess]:
        """Newest first; `before`: only records older than that id."""
        require(actor, Permission.READ_IDENTITY_ACCESS)
        async with self._db.reading() as conn:
            return await identity_store.access_records(
                conn, subject_id=subject_id, before=before, limit=limit
            )

    async def blacklist(self, actor: Principal, user_id: int, reason: str | None) -> bool:
        """Refuse the identity of `user_id` any new registration. False if already listed."""
        require(actor, Permission.BLACKLIST_IDENTITY)
        reason = check_reason(reason, what="blacklisting an identity")
        async with self._db.writing() as conn:
            row = await _on_file(conn, user_id)
            added = await identity_store.add_to_blacklist(
                conn,
                blind_index=row.blind_index,
                reason=reason,
                added_by=actor.account_id,
                now_ms=self._now_ms(),
            )
            await self._audit.record(
                conn,
                actor,
                "identity.blacklist",
                subject=("user", user_id),
                reason=reason,
                details={"newly_listed": added},
            )
            return added

    # The phone check ----------------------------------------------------------------------

    async def send_phone_code(self, actor: Principal) -> int:
        """Send a one-time code to the phone on file; returns when it expires (ms)."""
        require(actor, Permission.ACT)
        await self._enforcement.require_user_may(actor.account_id, Capability.INTERACT)
        rules = self._pack.phone
        now_ms = self._now_ms()
        code = f"{secrets.randbelow(10**rules.code_length):0{rules.code_length}d}"
        async with self._db.writing() as conn:
            identity = await identity_store.get(conn, actor.account_id)
            if identity is None:
                raise NotFound("no identity on file", code=ErrorCode.IDENTITY_NOT_FOUND)
            if identity.phone_verified_at is not None:
                raise Conflict(
                    "the phone is already confirmed", code=ErrorCode.PHONE_ALREADY_VERIFIED
                )
            previous = await identity_store.phone_code(conn, actor.account_id)
            window_start, sent = now_ms, 0
            if previous is not None and now_ms - previous.window_started_at < PHONE_WINDOW_MS:
                window_start, sent = previous.window_started_at, previous.sent_in_window
            if sent >= rules.max_codes_per_hour:
                retry_after = (window_start + PHONE_WINDOW_MS - now_ms) // 1000 + 1
                raise Throttled(
                    f"too many codes; try again in {retry_after} s",
                    code=ErrorCode.TOO_MANY_CODES,
                    retry_after=retry_after,
                )
            expires_at = now_ms + rules.code_ttl_seconds * 1000
            await identity_store.save_phone_code(
                conn,
                actor.account_id,
                code_hash=self._code_hash(actor.account_id, code),
                expires_at=expires_at,
                attempts=0,
                window_started_at=window_start,
                sent_in_window=sent + 1,
            )
        claim = self._vault.open(actor.account_id, identity.key_id, identity.sealed)
        with self._db.storage.guarding():  # the outbox file of the data dir, by default
            await self._sms.send(
                account_id=actor.account_id,
                phone_e164=claim.phone,
                text=f"Townhall code: {code} (valid {rules.code_ttl_seconds // 60} min)",
            )
        return expires_at

    async def verify_phone(self, actor: Principal, code: str) -> None:
        require(actor, Permission.ACT)
        await self._enforcement.require_user_may(actor.account_id, Capability.INTERACT)
        rules = self._pack.phone
        now_ms = self._now_ms()
        async with self._db.writing() as conn:
            pending = await identity_store.phone_code(conn, actor.account_id)
            if pending is None or pending.expires_at <= now_ms:
                raise PolicyRefusal("ask for a new code", code=ErrorCode.CODE_EXPIRED)
            if pending.attempts >= rules.max_attempts_per_code:
                raise Throttled(
                    "too many wrong codes; ask for a new one", code=ErrorCode.TOO_MANY_ATTEMPTS
                )
            if not hmac.compare_digest(
                pending.code_hash, self._code_hash(actor.account_id, code.strip())
            ):
                await identity_store.save_phone_code(
                    conn, actor.account_id, attempts=pending.attempts + 1
                )
                wrong = PolicyRefusal("that code is wrong", code=ErrorCode.CODE_INVALID)
            else:
                await identity_store.mark_phone_verified(conn, actor.account_id, now_ms)
                conn.after_commit(lambda: self._standings.forget(actor.account_id))
                wrong = None
        if wrong is not None:  # raised after commit, so the attempt is counted
            raise wrong

    def _code_hash(self, account_id: int, code: str) -> str:
        return self._vault.phone_code_hash(account_id, code)

    # Retention and keys --------------------------------------------------------------------

    async def schedule_purge(self, conn: DbConnection, account_id: int, now_ms: int) -> None:
        days = self._pack.identity.retention_days_after_deregistration
        await identity_store.schedule_purge(conn, account_id, now_ms + days * 86_400_000)

    async def purge_due(self, *, dry_run: bool = False) -> int:
        """Delete identities past their retention (or, dry run, count them)."""
        if dry_run:
            async with self._db.reading() as conn:
                return await identity_store.count_purge_due(conn, self._now_ms())
        async with self._db.writing() as conn:
            return await identity_store.purge_due(conn, self._now_ms())

    async def identities_to_reseal(self) -> int:
        """How many identities a rotation would seal again (its dry run)."""
        async with self._db.reading() as conn:
            return await identity_store.count_all(conn)

    async def rotate_keys(self, progress: Callable[[int, int], None]) -> KeyRotation:
        """Seal every identity again under a new key; `progress(done, total)` after each page.

        Passes repeat until no identity is left under an older key: a server that registered
        someone during the rotation, before it noticed the new key, is caught by the next pass.
        """
        key_id = self._vault.rotate()
        done = 0
        for _ in range(ROTATION_PASSES):
            async with self._db.reading() as conn:
                left = await identity_store.count_not_under(conn, key_id)
            if not left:
                return KeyRotation(key_id, resealed=done)
            total, after = done + left, 0
            while page := await self._reseal_page(key_id, after):
                done += len(page)
                after = page[-1]
                progress(done, total)
        raise Conflict(
            f"identities are still being sealed under older keys after {ROTATION_PASSES} "
            "passes; run rotate-keys again",
            code=ErrorCode.ROTATION_INCOMPLETE,
        )

    async def _reseal_page(self, key_id: str, after: int) -> list[int]:
        async with self._db.writing() as conn:
            page = await identity_store.sealed_page(
                conn, not_key_id=key_id, after_account_id=after, limit=ROTATION_PAGE
            )
            for row in page:
                claim = self._vault.open(row.account_id, row.key_id, row.sealed)
                new_key_id, sealed = self._vault.seal(row.account_id, claim)
                await identity_store.reseal(conn, row.account_id, new_key_id, sealed)
        return [row.account_id for row in page]
