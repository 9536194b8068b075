"""Registration, login sessions and the caller's own profile."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import orjson
from sqlalchemy.exc import IntegrityError

from townhall.bus.base import Bus, user_channel
from townhall.domain.accounts import (
    STAFF_ROLES,
    AccountStatus,
    IdentityClaim,
    Role,
    check_display_name,
    check_password,
    device_label,
    normalize_handle,
)
from townhall.domain.avatars import identicon_svg
from townhall.domain.enforcement import Capability
from townhall.domain.errors import (
    Conflict,
    ErrorCode,
    Forbidden,
    InvalidInput,
    NotFound,
    PolicyRefusal,
    StorageFull,
    Throttled,
    Unauthenticated,
)
from townhall.domain.events import signed_out_notice
from townhall.domain.limits import Limits
from townhall.domain.naming import clean_text
from townhall.domain.permissions import Permission
from townhall.domain.policy import AgreementRules, PolicyPack
from townhall.domain.public_accounts import AccountState
from townhall.services.audit import AuditTrail
from townhall.services.caches import Invalidations
from townhall.services.contacts import Contacts
from townhall.services.enforcement import Enforcement, OwnStanding
from townhall.services.group_admin import GroupAdmin
from townhall.services.identity import IdentityService, MaskedIdentity
from townhall.services.known_sessions import CheckedSession, KnownSessions
from townhall.services.messaging import MessagingService
from townhall.services.names import Names
from townhall.services.passwords import PasswordHashing
from townhall.services.principal import Principal, require
from townhall.services.rate_limits import Limit, RateLimits
from townhall.services.standing import Standings
from townhall.store import accounts as account_store
from townhall.store import identities as identity_store
from townhall.store import public_accounts as public_account_store
from townhall.store import sessions as session_store
from townhall.store.database import Database, DbConnection, Transaction

# Logins, failed logins and throttling: the security-event log an operator watches.
security_log = logging.getLogger("townhall.security")

# A session's last sighting is written when the database is asked about it (once a request
# finds it no longer among the known sessions) and this long has passed: at most one write a
# session every few minutes, none on the requests the known sessions answer.
LAST_SEEN_EVERY_MS = 5 * 60 * 1000
# Deregistered accounts whose ties are cut at start, read a page at a time.
TIDY_PAGE = 500


@dataclass(frozen=True, slots=True)
class IssuedSession:
    token: str
    expires_at_ms: int


@dataclass(frozen=True, slots=True)
class AgreementState:
    """Which version of the user agreement an account accepted, against the current one."""

    accepted_version: str | None
    current_version: str
    must_accept: bool


@dataclass(frozen=True, slots=True)
class OwnProfile:
    """An account as its holder sees it: its identity masked (None for staff, who have none)."""

    id: int
    handle: str
    display_name: str
    bio: str
    status: str
    role: str
    identity: MaskedIdentity | None
    agreement: AgreementState
    created_at: int
    standing: OwnStanding  # the sanctions in force on them and their credit


@dataclass(frozen=True, slots=True)
class OwnSession:
    """One of the caller's sessions, as they see it: never its token or the token's hash."""

    id: int
    created_at: int
    last_seen_at: int
    expires_at: int
    device: str | None
    current: bool


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccountService:
    def __init__(
        self,
        database: Database,
        bus: Bus,
        identity: IdentityService,
        standings: Standings,
        enforcement: Enforcement,
        names: Names,
        pack: PolicyPack,
        audit: AuditTrail,
        *,
        limits: Limits,
        rate_limits: RateLimits,
        passwords: PasswordHashing,
        session_ttl_seconds: float,
        clock: Callable[[], float],
        invalidations: Invalidations,
        messaging: MessagingService,
        group_admin: GroupAdmin,
        contacts: Contacts,
    ) -> None:
        self._db = database
        self._audit = audit
        self._messaging = messaging
        self._group_admin = group_admin
        self._contacts = contacts
        self._bus = bus
        self._identity = identity
        self._standings = standings
        self._enforcement = enforcement
        self._names = names
        self._pack = pack
        self._limits = limits
        self._passwords = passwords
        self._session_ttl_ms = int(session_ttl_seconds * 1000)
        self._clock = clock
        self._rate_limits = rate_limits
        self._registrations = Limit.parse(
            "registrations_per_ip_per_hour", f"{limits.registrations_per_ip_per_hour}/hour"
        )
        self._login_failures_per_pair = Limit.parse(
            "login_failures_per_account_and_address", limits.login_failures_per_account_and_address
        )
        self._login_failures_per_address = Limit.parse(
            "login_failures_per_address", limits.login_failures_per_address
        )
        self._known_sessions = KnownSessions(invalidations, clock=clock)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def register(
        self,
        *,
        handle: str,
        password: str,
        display_name: str,
        identity: IdentityClaim,
        agreement_version: str | None,
        ip: str | None,
    ) -> OwnProfile:
        """A new account with its real identity, sealed, and the agreement's acceptance."""
        # Refused attempts count too: a 409 identity_limit tells whether a document number is
        # registered, so unbounded attempts would let anyone probe for one.
        wait = await self._rate_limits.hit(self._registrations, ip or "unknown")
        if wait is not None:
            raise Throttled(
                f"too many registrations from this address; try again in {wait} s",
                code=ErrorCode.TOO_MANY_REGISTRATIONS,
                retry_after=wait,
            )
        handle = normalize_handle(handle)
        display_name = check_display_name(display_name, self._limits)
        await self._names.check(name=display_name, author_id=None, subject_type="display_name")
        check_password(password)
        self._require_current_agreement(agreement_version)
        checked = self._identity.check(identity)
        # The cheap refusals first: every question to the provider may cost the operator.
        async with self._db.reading() as conn:
            await self._require_handle_free(conn, handle)
            person = await self._identity.require_enrolable(conn, checked)
            await self._enforcement.require_may_register(conn, person, self._now_ms())
        verification = await self._identity.verify(checked)
        password_hash = await self._passwords.hash(password)
        now_ms = self._now_ms()
        try:
            async with self._db.writing() as conn:
                account_id = await self._insert_account(
                    conn, handle, display_name, password_hash, now_ms, Role.USER
                )
                person = await self._identity.enrol(conn, account_id, checked, verification, now_ms)
                await self._enforcement.require_may_register(conn, person, now_ms)
                await account_store.record_agreement(
                    conn,
                    account_id=account_id,
                    version=self._pack.agreement.version,
                    ip=ip,
                    now_ms=now_ms,
                )
        except IntegrityError as exc:  # a concurrent registration took the handle first
            raise Conflict("that handle is taken", code=ErrorCode.HANDLE_TAKEN) from exc
        return await self.profile(account_id)

    async def create_staff(self, *, handle: str, password: str, role: str) -> OwnProfile:
        """A staff account (reviewer, admin, auditor): no identity, no publishing."""
        if role not in STAFF_ROLES:
            raise InvalidInput(
                f"role must be one of {', '.join(sorted(STAFF_ROLES))}", code=ErrorCode.ROLE_INVALID
            )
        handle = normalize_handle(handle)
        check_password(password)
        password_hash = await self._passwords.hash(password)
        async with self._db.writing() as conn:
            account_id = await self._insert_account(
                conn, handle, handle, password_hash, self._now_ms(), role
            )
            # Made at the command line by whoever runs the server: a role change, audited.
            await self._audit.record(
                conn, None, "staff.create", subject=("user", account_id), details={"role": role}
            )
        return await self.profile(account_id)

    async def _insert_account(
        self,
        conn: DbConnection,
        handle: str,
        display_name: str,
        password_hash: str,
        now_ms: int,
        role: str,
    ) -> int:
        await self._require_handle_free(conn, handle)
        return await account_store.insert_account(
            conn,
            handle=handle,
            display_name=display_name,
            password_hash=password_hash,
            status=AccountStatus.ACTIVE,
            now_ms=now_ms,
            role=role,
        )

    @staticmethod
    async def _require_handle_free(conn: DbConnection, handle: str) -> None:
        if await account_store.handle_taken(conn, handle):
            raise Conflict("that handle is taken", code=ErrorCode.HANDLE_TAKEN)

    def agreement(self) -> AgreementRules:
        return self._pack.agreement

    def _require_current_agreement(self, version: str | None) -> None:
        current = self._pack.agreement.version
        if version is None:
            raise PolicyRefusal(
                f"accept the user agreement (agreement_version {current!r})",
                code=ErrorCode.AGREEMENT_REQUIRED,
            )
        if version != current:
            raise PolicyRefusal(
                f"the current user agreement is version {current!r}",
                code=ErrorCode.AGREEMENT_OUTDATED,
            )

    async def accept_agreement(
        self, principal: Principal, version: str | None, ip: str | None
    ) -> str:
        """Record that the user accepted the current agreement; returns its version."""
        require(principal, Permission.ACT)
        await self._enforcement.require_user_may(principal.account_id, Capability.INTERACT)
        self._require_current_agreement(version)
        async with self._db.writing() as conn:
            if not await account_store.has_accepted(conn, principal.account_id, version or ""):
                await account_store.record_agreement(
                    conn,
                    account_id=principal.account_id,
                    version=version or "",
                    ip=ip,
                    now_ms=self._now_ms(),
                )
            conn.after_commit(lambda: self._standings.forget(principal.account_id))
        return self._pack.agreement.version

    async def update_profile(
        self, principal: Principal, *, display_name: str | None, bio: str | None
    ) -> OwnProfile:
        """Change the display name or the bio, through the same checks as at registration."""
        require(principal, Permission.ACT)
        await self._enforcement.require_user_may(principal.account_id, Capability.UPDATE_PROFILE)
        changes = {}
        if display_name is not None:
            changes["display_name"] = check_display_name(display_name, self._limits)
        if bio is not None:
            changes["bio"] = clean_text(
                bio, "bio", self._limits.max_description_chars, required=False
            )
        if not changes:
            raise InvalidInput(
                "give a display_name or a bio to change", code=ErrorCode.PROFILE_UNCHANGED
            )
        await self._names.check(
            name=changes.get("display_name"),
            text=changes.get("bio"),
            author_id=principal.account_id,
            subject_type="profile",
        )
        async with self._db.writing() as conn:
            await account_store.update_profile(conn, principal.account_id, **changes)
        return await self.profile(principal.account_id)

    async def deregister(self, principal: Principal) -> None:
        """Erase the profile and credentials and close the public accounts the user runs; the
        identity stays only as long as the pack says. The user leaves every group (one they own
        passes to another member, or ends with them), their ties to everyone go, and a direct
        message to them is refused from then on: all in this one transaction, whatever
        sanctions hold on them."""
        require(principal, Permission.ACT)
        now_ms = self._now_ms()
        async with self._db.writing() as conn:
            await account_store.erase_profile(
                conn, principal.account_id, status=AccountStatus.DEREGISTERED
            )
            await session_store.revoke_all(conn, principal.account_id, now_ms)
            await self._identity.schedule_purge(conn, principal.account_id, now_ms)
            await public_account_store.close_operated_by(
                conn,
                principal.account_id,
                closed=AccountState.CLOSED,
                open_states=(
                    AccountState.PENDING_REVIEW,
                    AccountState.APPROVED,
                    AccountState.SUSPENDED,
                ),
                reason="the operator deregistered",
                now_ms=now_ms,
            )
            await self._cut_ties(conn, principal.account_id)
            conn.after_commit(lambda: self._known_sessions.forget_account(principal.account_id))
            conn.after_commit(lambda: self._standings.forget(principal.account_id))
            conn.after_commit(lambda: self._sign_out_sockets(principal.account_id, None))

    async def _cut_ties(self, conn: Transaction, account_id: int) -> None:
        """A deregistered account's groups, ties and requests: left, dropped, withdrawn."""
        await self._group_admin.leave_every_group(conn, account_id)
        await self._contacts.drop_ties_of(conn, account_id)
        await self._messaging.forget_direct_of(conn, account_id)

    async def cut_ties_of_deregistered(self) -> int:
        """Once at start: accounts deregistered by a release that left their groups and ties in
        place get what deregistering does now, each in a transaction of its own (a large group
        of them would hold the writer for long); returns how many."""
        done, after = 0, 0
        while True:
            async with self._db.reading() as conn:
                page = await account_store.deregistered_with_ties(
                    conn, after=after, limit=TIDY_PAGE
                )
            for account_id in page:
                async with self._db.writing() as conn:
                    await self._cut_ties(conn, account_id)
            done += len(page)
            if len(page) < TIDY_PAGE:
                return done
            after = page[-1]

    async def log_in(
        self,
        handle: str,
        password: str,
        *,
        address: str | None,
        device_name: str | None = None,
        user_agent: str | None = None,
    ) -> IssuedSession:
        """A session for the right password. Failed tries are counted per handle and address
        and per address: past a limit every try is refused unchecked until its wait is over, so
        guessing from one place slows down while the account's holder, elsewhere, is not locked
        out."""
        try:
            handle = normalize_handle(handle)
        except InvalidInput:
            handle = ""
        address = address or "unknown"
        await self._require_may_try_login(handle, address)
        async with self._db.reading() as conn:
            account = await account_store.find_by_handle(conn, handle) if handle else None
        stored_hash = account.password_hash if account is not None else None
        if not await self._passwords.verify(stored_hash, password) or (
            account is None or account.status != AccountStatus.ACTIVE
        ):
            await self._count_failed_login(handle, address)
            security_log.info(
                "login failed: account=%s address=%s",
                account.id if account is not None else "unknown",
                address,
            )
            raise Unauthenticated("handle or password is wrong", code=ErrorCode.LOGIN_FAILED)
        await self._rate_limits.forget(self._login_failures_per_pair, handle, address)
        security_log.info("login: account=%s address=%s", account.id, address)
        token = secrets.token_urlsafe(32)
        now_ms = self._now_ms()
        expires_at_ms = now_ms + self._session_ttl_ms
        async with self._db.writing() as conn:
            await session_store.insert_session(
                conn,
                token_hash=hash_token(token),
                account_id=account.id,
                now_ms=now_ms,
                expires_at_ms=expires_at_ms,
                device=device_label(device_name, user_agent),
            )
        return IssuedSession(token, expires_at_ms)

    async def _count_failed_login(self, handle: str, address: str) -> None:
        await self._rate_limits.hit(self._login_failures_per_pair, handle, address)
        await self._rate_limits.hit(self._login_failures_per_address, address)

    async def _require_may_try_login(self, handle: str, address: str) -> None:
        waits = [
            await self._rate_limits.wait_for(self._login_failures_per_pair, handle, address),
            await self._rate_limits.wait_for(self._login_failures_per_address, address),
        ]
        wait = max((w for w in waits if w is not None), default=None)
        if wait is not None:
            security_log.warning("login throttled: address=%s wait=%ss", address, wait)
            raise Throttled(
                f"too many failed logins; try again in {wait} s",
                code=ErrorCode.TOO_MANY_LOGIN_ATTEMPTS,
                retry_after=wait,
            )

    async def authenticate(self, token: str) -> Principal:
        token_hash = hash_token(token)
        return await self._known_sessions.principal(
            token_hash, lambda: self._check_session(token_hash)
        )

    async def _check_session(self, token_hash: str) -> CheckedSession:
        async with self._db.reading() as conn:
            session = await session_store.find(conn, token_hash)
            account = await account_store.get(conn, session.account_id) if session else None
        if session is None or account is None:
            raise Unauthenticated("the token is not valid", code=ErrorCode.TOKEN_INVALID)
        if session.revoked_at is not None:
            raise Unauthenticated("the session was logged out", code=ErrorCode.TOKEN_REVOKED)
        if session.expires_at <= self._now_ms():
            raise Unauthenticated("the session has expired", code=ErrorCode.TOKEN_EXPIRED)
        if account.status != AccountStatus.ACTIVE:
            raise Unauthenticated("the account is not active", code=ErrorCode.ACCOUNT_INACTIVE)
        if self._now_ms() - session.last_seen_at >= LAST_SEEN_EVERY_MS:
            await self._record_sighting(token_hash)
        principal = Principal(account.id, account.handle, token_hash, account.role)
        return CheckedSession(principal, session.expires_at)

    async def _record_sighting(self, token_hash: str) -> None:
        """Bookkeeping on the way to a request that may only read: on a full disk it is
        skipped, and the request goes on."""
        try:
            async with self._db.writing() as conn:
                await session_store.seen(conn, token_hash, self._now_ms())
        except StorageFull:
            return

    async def log_out(self, principal: Principal) -> None:
        async with self._db.writing() as conn:
            await session_store.revoke(conn, principal.token_hash, self._now_ms())
            conn.after_commit(lambda: self._ended(principal.account_id, [principal.token_hash]))

    async def change_password(
        self,
        principal: Principal,
        *,
        current_password: str,
        new_password: str,
        address: str | None,
    ) -> None:
        """A new password, proven by the current one: every other session of the account ends
        (its sockets close, its token stops working on every process), the caller's stays. A
        wrong current password is a failed login, counted in the same windows and refused the
        same way once they are full, so a stolen session cannot guess the password any faster
        than a login could. A security action: no sanction withholds it, and no role."""
        check_password(new_password)
        address = address or "unknown"
        await self._require_may_try_login(principal.handle, address)
        async with self._db.reading() as conn:
            account = await account_store.get(conn, principal.account_id)
        stored_hash = account.password_hash if account is not None else None
        # verify() never matches None; the second test is for the type checker, for `was=`.
        if not await self._passwords.verify(stored_hash, current_password) or stored_hash is None:
            await self._count_failed_login(principal.handle, address)
            security_log.info(
                "password change refused: account=%s address=%s", principal.account_id, address
            )
            raise Forbidden("the current password is wrong", code=ErrorCode.PASSWORD_WRONG)
        await self._rate_limits.forget(self._login_failures_per_pair, principal.handle, address)
        password_hash = await self._passwords.hash(new_password)
        # Hashing waits outside the write; the write holds only if nothing changed meanwhile.
        async with self._db.writing() as conn:
            if not await account_store.replace_password_hash(
                conn, principal.account_id, was=stored_hash, password_hash=password_hash
            ):
                raise Conflict(
                    "the password changed meanwhile: try again with the new one",
                    code=ErrorCode.PASSWORD_CHANGED_MEANWHILE,
                )
            ended = await session_store.revoke_all_but(
                conn, principal.account_id, principal.token_hash, self._now_ms()
            )
            conn.after_commit(lambda: self._ended(principal.account_id, ended))
        security_log.info(
            "password changed: account=%s address=%s sessions_ended=%d",
            principal.account_id,
            address,
            len(ended),
        )

    async def own_sessions(
        self, principal: Principal, *, before: int | None, limit: int
    ) -> list[OwnSession]:
        """The caller's sessions not ended, the newest first: where they are signed in."""
        async with self._db.reading() as conn:
            live = await session_store.live_of(
                conn, principal.account_id, self._now_ms(), before=before, limit=limit
            )
        return [
            OwnSession(
                id=session.id,
                created_at=session.created_at,
                last_seen_at=session.last_seen_at,
                expires_at=session.expires_at,
                device=session.device,
                current=session.token_hash == principal.token_hash,
            )
            for session in live
        ]

    async def end_session(self, principal: Principal, session_id: int) -> None:
        """End one of the caller's sessions (the current one too: that is logging out). Another
        account's session is as missing as one that never was."""
        now_ms = self._now_ms()
        async with self._db.writing() as conn:
            session = await session_store.find_live(conn, principal.account_id, session_id, now_ms)
            if session is None:
                raise NotFound("no such session", code=ErrorCode.SESSION_NOT_FOUND)
            await session_store.revoke(conn, session.token_hash, now_ms)
            conn.after_commit(lambda: self._ended(principal.account_id, [session.token_hash]))

    def _ended(self, account_id: int, token_hashes: Iterable[str]) -> None:
        """After a commit that ended sessions: every process forgets them and closes their
        sockets."""
        for token_hash in token_hashes:
            self._known_sessions.forget(token_hash)
            self._sign_out_sockets(account_id, token_hash)

    def _sign_out_sockets(self, account_id: int, token_hash: str | None) -> None:
        self._bus.publish(user_channel(account_id), orjson.dumps(signed_out_notice(token_hash)))

    def avatar_svg(self, user_id: int) -> str:
        """Until the media capability stores avatars, everyone's is the default drawn from their
        id; it reads nothing, so it says nothing about whether the account exists."""
        return identicon_svg(user_id)

    async def profile(self, account_id: int) -> OwnProfile:
        """The account, its masked identity and its standing, read in one transaction."""
        async with self._db.reading() as conn:
            account = await account_store.get(conn, account_id)
            accepted = await account_store.accepted_agreement(conn, account_id)
            identity = await identity_store.get(conn, account_id)
            standing = await self._enforcement.own_in(conn, account_id, identity)
        if account is None:
            raise Unauthenticated("the account no longer exists", code=ErrorCode.ACCOUNT_INACTIVE)
        current = self._pack.agreement.version
        return OwnProfile(
            id=account.id,
            handle=account.handle,
            display_name=account.display_name,
            bio=account.bio,
            status=account.status,
            role=account.role,
            identity=self._identity.own_view_of(identity),
            agreement=AgreementState(
                accepted_version=accepted,
                current_version=current,
                must_accept=account.role == Role.USER and accepted != current,
            ),
            created_at=account.created_at,
            standing=standing,
        )
