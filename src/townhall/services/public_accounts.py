"""Public accounts: application by a verified user, review by staff, the account page,
subscriptions, suspension, and the filings the authority receives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from townhall.domain.accounts import check_reason
from townhall.domain.enforcement import Capability
from townhall.domain.errors import Conflict, ErrorCode, InvalidInput, NotFound, PolicyRefusal
from townhall.domain.limits import Limits
from townhall.domain.naming import name_key
from townhall.domain.permissions import Permission
from townhall.domain.policy import PolicyPack
from townhall.domain.public_accounts import (
    AccountState,
    Entitlement,
    Qualifications,
    RegistrationNumber,
    check_application,
    check_entitlement,
)
from townhall.domain.time import iso_utc
from townhall.services.audit import AuditTrail
from townhall.services.enforcement import Enforcement
from townhall.services.live_posts import LiveFollowers
from townhall.services.names import Names
from townhall.services.notices import Notices
from townhall.services.principal import Principal, may, require
from townhall.services.search_rate import SearchRate
from townhall.services.standing import Standings
from townhall.store import public_accounts as account_store
from townhall.store.database import Database, DbConnection, Transaction
from townhall.store.public_accounts import StoredPublicAccount

VISIBLE_TO_ALL = (AccountState.APPROVED, AccountState.SUSPENDED)
FILED = (AccountState.APPROVED, AccountState.SUSPENDED)


@dataclass(frozen=True, slots=True)
class AccountPage:
    """A public account as its page shows it to one reader: the operator's category (with the
    pack's label) and verified entity, never the person."""

    account: StoredPublicAccount
    category_label: str
    shows_application: bool  # its applicant and the staff who review see the application
    subscribed: bool | None = None  # whether the reader follows it, on the page asked for by id


@dataclass(frozen=True, slots=True)
class AccountInReview:
    """An application (or an account) in the review queue, with its operator's handle."""

    page: AccountPage
    operator_handle: str


@dataclass(frozen=True, slots=True)
class Subscription:
    """The reader's subscription to an account after a change, and its subscriber count."""

    subscribed: bool
    subscriber_count: int


class PublicAccountService:
    def __init__(
        self,
        database: Database,
        standings: Standings,
        enforcement: Enforcement,
        notices: Notices,
        live: LiveFollowers,
        names: Names,
        pack: PolicyPack,
        audit: AuditTrail,
        *,
        search_rate: SearchRate,
        limits: Limits,
        clock: Callable[[], float],
    ) -> None:
        self._db = database
        self._search_rate = search_rate
        self._audit = audit
        self._standings = standings
        self._enforcement = enforcement
        self._notices = notices
        self._live = live
        self._rules = pack.public_accounts
        self._names = names
        self._limits = limits
        self._clock = clock

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def apply(
        self,
        actor: Principal,
        *,
        name: str,
        category: str,
        account_type: str,
        description: str,
        entity_name: str | None,
        registration: RegistrationNumber | None,
        news_licence: str | None,
    ) -> AccountPage:
        require(actor, Permission.ACT)
        category_rules, description, qualifications = check_application(
            category=category,
            account_type=account_type,
            description=description,
            entity_name=entity_name,
            registration=registration,
            news_licence=news_licence,
            rules=self._rules,
            limits=self._limits,
        )
        name = self._names.clean(name, max_chars=self._limits.max_public_account_name_chars)
        await self._enforcement.require_user_may(actor.account_id, Capability.APPLY_PUBLIC_ACCOUNT)
        await self._standings.require_may(actor.account_id, Capability.APPLY_PUBLIC_ACCOUNT)
        await self._names.check(
            name=name,
            category=category,
            text=description,
            author_id=actor.account_id,
            subject_type="public_account_application",
        )
        key = name_key(name)
        cap = self._rules.caps_per_identity[category_rules.entity]
        now_ms = self._now_ms()
        async with self._db.writing() as conn:
            if await account_store.name_in_use(conn, key, rejected=AccountState.REJECTED):
                raise Conflict("a public account already has this name", code=ErrorCode.NAME_TAKEN)
            held = await account_store.count_held_by_identity(
                conn,
                actor.account_id,
                entity_kind=category_rules.entity,
                rejected=AccountState.REJECTED,
            )
            if held >= cap:
                raise Conflict(
                    f"one identity may hold {cap} {category_rules.entity} public account(s)",
                    code=ErrorCode.PUBLIC_ACCOUNT_LIMIT,
                )
            account_id = await account_store.insert_account(
                conn,
                name=name,
                name_key=key,
                category=category,
                account_type=account_type,
                description=description,
                operator_id=actor.account_id,
                entity_kind=category_rules.entity,
                entity_name=qualifications.entity_name,
                **_registration_columns(qualifications.registration),
                news_licence=qualifications.news_licence,
                status=AccountState.PENDING_REVIEW,
                news_entitlement=Entitlement.NONE,
                created_at=now_ms,
            )
            row = await account_store.existing(conn, account_id)
        return self._page(row, full=True)

    async def get(self, actor: Principal, public_account_id: int) -> AccountPage:
        async with self._db.reading() as conn:
            row = await self._visible(conn, actor, public_account_id)
            subscribed = await account_store.is_subscribed(
                conn, actor.account_id, public_account_id
            )
        return self._page(row, full=_may_see_all(actor, row), subscribed=subscribed)

    async def directory(
        self, actor: Principal, *, after: int | None, limit: int
    ) -> list[AccountPage]:
        """The accounts anyone may see (approved, or suspended and still shown), after the one
        with id `after`, each with whether the caller follows it."""
        async with self._db.reading() as conn:
            rows = await account_store.list_in_states(
                conn, VISIBLE_TO_ALL, after=after or 0, limit=limit
            )
            followed = await account_store.subscribed_among(
                conn, actor.account_id, [row.id for row in rows]
            )
        return [
            self._page(row, full=_may_see_all(actor, row), subscribed=row.id in followed)
            for row in rows
        ]

    async def search(
        self, actor: Principal, query: str, *, after: int | None, limit: int
    ) -> list[AccountPage]:
        """The accounts of the directory whose names hold the query's terms, after the one with
        id `after`, each with whether the caller follows it."""
        terms = await self._search_rate.admit(actor, query)
        async with self._db.reading() as conn:
            rows = await account_store.find(
                conn, terms, states=VISIBLE_TO_ALL, after=after or 0, limit=limit
            )
            followed = await account_store.subscribed_among(
                conn, actor.account_id, [row.id for row in rows]
            )
        return [
            self._page(row, full=_may_see_all(actor, row), subscribed=row.id in followed)
            for row in rows
        ]

    async def mine(self, actor: Principal, *, after: int | None, limit: int) -> list[AccountPage]:
        """The accounts the caller runs or applied for, after the one with id `after`."""
        async with self._db.reading() as conn:
            rows = await account_store.list_by_operator(
                conn, actor.account_id, after=after or 0, limit=limit
            )
        return [self._page(row, full=True) for row in rows]

    async def _visible(
        self, conn: DbConnection, actor: Principal, public_account_id: int
    ) -> StoredPublicAccount:
        """Approved accounts are public; an application only to its applicant and staff."""
        row = await account_store.get(conn, public_account_id)
        if row is None or not (row.status in VISIBLE_TO_ALL or _may_see_all(actor, row)):
            raise NotFound("no such public account", code=ErrorCode.PUBLIC_ACCOUNT_NOT_FOUND)
        return row

    def _page(
        self, row: StoredPublicAccount, *, full: bool, subscribed: bool | None = None
    ) -> AccountPage:
        category = self._rules.categories.get(row.category)
        label = category.label if category is not None else row.category
        return AccountPage(row, label, shows_application=full, subscribed=subscribed)

    # Review ------------------------------------------------------------------------------------

    async def review_queue(
        self, actor: Principal, *, status: str, after: int, limit: int
    ) -> list[AccountInReview]:
        require(actor, Permission.READ_APPLICATIONS)
        async with self._db.reading() as conn:
            rows = await account_store.list_by_status(conn, status, after=after, limit=limit)
        return [AccountInReview(self._page(row, full=True), row.handle) for row in rows]

    async def decide(
        self,
        actor: Principal,
        public_account_id: int,
        *,
        approve: bool,
        reason: str | None,
        news_entitlement: str,
    ) -> AccountPage:
        """Approve (setting the news entitlement the qualifications allow) or reject."""
        require(actor, Permission.REVIEW_PUBLIC_ACCOUNT)
        if not approve:
            reason = check_reason(reason, what="a rejection")
        now_ms = self._now_ms()
        async with self._db.writing() as conn:
            row = await self._in_state(conn, public_account_id, AccountState.PENDING_REVIEW)
            entitlement = Entitlement.NONE
            if approve:
                category = self._rules.categories.get(row.category)
                if category is None:  # the pack no longer offers it: the applicant must reapply
                    raise InvalidInput(
                        f"the category {row.category!r} is no longer offered; reject instead",
                        code=ErrorCode.CATEGORY_INVALID,
                    )
                entitlement = check_entitlement(news_entitlement, category, _qualifications(row))
            status = AccountState.APPROVED if approve else AccountState.REJECTED
            await account_store.set_review(
                conn,
                public_account_id,
                status=status,
                status_reason=reason,
                news_entitlement=entitlement,
                reviewed_by=actor.account_id,
                reviewed_at=now_ms,
                approved_at=now_ms if approve else None,
            )
            await self._notify(conn, row, status, reason, now_ms)
            await self._audit.record(
                conn,
                actor,
                "public_account.approve" if approve else "public_account.reject",
                subject=("public_account", public_account_id),
                reason=reason,
                details={"news_entitlement": entitlement},
            )
            row = await account_store.existing(conn, public_account_id)
        return self._page(row, full=True)

    async def _in_state(
        self, conn: DbConnection, public_account_id: int, state: str
    ) -> StoredPublicAccount:
        row = await account_store.get(conn, public_account_id)
        if row is None:
            raise NotFound("no such public account", code=ErrorCode.PUBLIC_ACCOUNT_NOT_FOUND)
        if row.status != state:
            raise Conflict(
                f"the account is {row.status}, not {state}", code=ErrorCode.PUBLIC_ACCOUNT_STATE
            )
        return row

    async def _notify(
        self,
        conn: Transaction,
        row: StoredPublicAccount,
        status: str,
        reason: str | None,
        now_ms: int,
    ) -> None:
        await self._notices.tell(
            conn,
            row.operator_id,
            {
                "kind": "public_account_status",
                "public_account_id": row.id,
                "name": row.name,
                "status": status,
                "reason": reason,
                "at": iso_utc(now_ms),
            },
        )

    # Filing with the authority -----------------------------------------------------------------

    async def filings(
        self, actor: Principal, *, category: str | None, after: int, limit: int
    ) -> list[StoredPublicAccount]:
        """A page of the filings (accepted accounts with their operating entity), in id order
        after id `after`."""
        require(actor, Permission.READ_AUDIT)
        async with self._db.reading() as conn:
            return await account_store.filed_page(
                conn, FILED, category=category, after=after, limit=limit
            )

    async def export_filings(self, *, category: str | None) -> list[StoredPublicAccount]:
        """The filings for the authority, from the command line; the export is audited."""
        records = await self.filing_records(category=category)
        async with self._db.writing() as conn:
            await self._audit.record(
                conn,
                None,
                "export.filings",
                details={"category": category, "records": len(records)},
            )
        return records

    async def filing_records(self, *, category: str | None) -> list[StoredPublicAccount]:
        """Accepted accounts by category with their operating entity; no private identity."""
        async with self._db.reading() as conn:
            return await account_store.list_for_filing(conn, FILED, category=category)

    # Subscriptions -----------------------------------------------------------------------------

    async def subscribe(self, actor: Principal, public_account_id: int) -> Subscription:
        require(actor, Permission.ACT)
        await self._enforcement.require_user_may(actor.account_id, Capability.INTERACT)
        now_ms = self._now_ms()
        async with self._db.writing() as conn:
            row = await self._visible(conn, actor, public_account_id)
            if row.status != AccountState.APPROVED:
                raise PolicyRefusal(
                    f"the account is {row.status}; it takes no new subscribers",
                    code=ErrorCode.PUBLIC_ACCOUNT_NOT_APPROVED,
                )
            added = await account_store.subscribe(conn, actor.account_id, public_account_id, now_ms)
            conn.after_commit(lambda: self._live.followed(actor.account_id, public_account_id))
        return Subscription(subscribed=True, subscriber_count=row.subscriber_count + added)

    async def unsubscribe(self, actor: Principal, public_account_id: int) -> Subscription:
        require(actor, Permission.ACT)
        await self._enforcement.require_user_may(actor.account_id, Capability.INTERACT)
        async with self._db.writing() as conn:
            row = await self._visible(conn, actor, public_account_id)
            removed = await account_store.unsubscribe(conn, actor.account_id, public_account_id)
            conn.after_commit(lambda: self._live.unfollowed(actor.account_id, public_account_id))
        return Subscription(subscribed=False, subscriber_count=row.subscriber_count - removed)


def _may_see_all(actor: Principal, row: StoredPublicAccount) -> bool:
    """The applicant and the staff who review: the auditor reads filings, not applications."""
    return actor.account_id == row.operator_id or may(actor, Permission.READ_APPLICATIONS)


def _qualifications(row: StoredPublicAccount) -> Qualifications:
    registration = (
        RegistrationNumber(row.registration_number_type, row.registration_number)
        if row.registration_number_type is not None and row.registration_number is not None
        else None
    )
    return Qualifications(
        entity_name=row.entity_name, registration=registration, news_licence=row.news_licence
    )


def _registration_columns(registration: RegistrationNumber | None) -> dict[str, str | None]:
    return {
        "registration_number_type": registration.type if registration else None,
        "registration_number": registration.number if registration else None,
    }
