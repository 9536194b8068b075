"""Contacts: finding people, friend requests and their greetings, friends and their remarks,
blocking, and the pack's friends-first rule that the direct-message path asks on every send.

A block is never told: the blocked person's sends are refused exactly as a non-friend's are
where the pack asks for friendship, their friend requests and group invitations are taken and
go nowhere, and no event tells them of it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from townhall.bus.base import Bus, user_channel
from townhall.domain.accounts import AccountStatus, Role, normalize_handle
from townhall.domain.contacts import (
    OPEN_STATES,
    ContactRules,
    RequestState,
    check_greeting,
    check_remark,
    require_other,
)
from townhall.domain.enforcement import Capability
from townhall.domain.errors import Conflict, ErrorCode, NotFound, PolicyRefusal, Throttled
from townhall.domain.events import EventType, contact_event, friend_request_event
from townhall.domain.limits import Limits
from townhall.domain.messaging import direct_pair_key
from townhall.domain.moderation import Decision, Surface
from townhall.domain.permissions import Permission
from townhall.services.caches import Invalidations, LocalCache, Topic
from townhall.services.enforcement import Enforcement
from townhall.services.identity import IdentityService
from townhall.services.moderation import ContentCheck
from townhall.services.names import Names
from townhall.services.principal import Principal, require
from townhall.services.rate_limits import Limit, RateLimits
from townhall.services.rendering import render_contact, render_friend_request
from townhall.store import accounts as account_store
from townhall.store import contacts as contact_store
from townhall.store import stream as stream_store
from townhall.store.contacts import StoredRequest, StoredTie, UserCard
from townhall.store.database import Database, DbConnection, Transaction

TIES_CACHE_MAX = 100_000
ANSWERS = {
    "accept": RequestState.ACCEPTED,
    "decline": RequestState.DECLINED,
    "ignore": RequestState.IGNORED,
}


@dataclass(frozen=True, slots=True)
class PairTies:
    """What the direct-message path needs to know of a pair: friends or not, and who of the two
    blocks the other."""

    friends: bool
    blockers: frozenset[int]


def _not_accepted() -> PolicyRefusal:
    # One answer for a non-friend where friendship is needed and for a blocked sender anywhere.
    return PolicyRefusal(
        "this person does not take direct messages from you; send a friend request",
        code=ErrorCode.MESSAGES_NOT_ACCEPTED,
    )


async def require_users(conn: DbConnection, user_ids: Collection[int]) -> None:
    """404 unless every one is a user who can be found: staff are nobody's contacts or chat
    partners, and a deregistered account is nobody's any more."""
    missing = set(user_ids) - await account_store.active_user_ids(conn, user_ids)
    if missing:
        named = tuple(map(str, sorted(missing)))
        raise NotFound(
            f"no such user: {', '.join(named)}", code=ErrorCode.USER_NOT_FOUND, subjects=named
        )


class Ties:
    """Whether one user may message another directly: asked on every direct send, so cached per
    pair and forgotten, in every process, once either side's tie changes."""

    def __init__(self, database: Database, rules: ContactRules, invalidations: Invalidations):
        self._db = database
        self._rules = rules
        self._invalidations = invalidations
        self._pairs: LocalCache[str, PairTies] = LocalCache(TIES_CACHE_MAX)
        invalidations.listen(Topic.CONTACTS, self._pairs.forget)
        invalidations.empty_after_gaps(self._pairs)

    async def require_may_message(self, sender_id: int, recipient_id: int) -> None:
        ties = await self._pair(sender_id, recipient_id)
        if recipient_id in ties.blockers or (
            self._rules.direct_needs_friendship and not ties.friends
        ):
            raise _not_accepted()

    async def blocked(self, first_id: int, second_id: int) -> bool:
        """Whether either of the pair blocks the other: asked on every read receipt."""
        return bool((await self._pair(first_id, second_id)).blockers)

    async def _pair(self, first_id: int, second_id: int) -> PairTies:
        key = direct_pair_key(first_id, second_id)
        return await self._pairs.get(key, lambda: self._read(first_id, second_id))

    async def _read(self, first_id: int, second_id: int) -> PairTies:
        async with self._db.reading() as conn:
            ties = await contact_store.ties_between(conn, first_id, second_id)
        friends = len(ties) == 2 and all(tie.friend_since is not None for tie in ties)
        blockers = frozenset(tie.owner_id for tie in ties if tie.blocked_at is not None)
        return PairTies(friends, blockers)

    async def addable_at_once(
        self, conn: DbConnection, inviter_id: int, invitee_ids: Collection[int]
    ) -> set[int]:
        """Those of `invitee_ids` whom `inviter_id` may put into a group without asking them:
        where the pack wants friendship before a direct message, only friends (else a group of
        two would be a way round it), and never one who blocks the inviter."""
        blockers = await contact_store.blockers_among(conn, inviter_id, invitee_ids)
        if self._rules.direct_needs_friendship:
            return await contact_store.friends_among(conn, inviter_id, invitee_ids) - blockers
        return set(invitee_ids) - blockers

    @staticmethod
    async def blockers_among(
        conn: DbConnection, blocked_id: int, owner_ids: Collection[int]
    ) -> set[int]:
        """Those of `owner_ids` who block `blocked_id`: whom they may not invite or add."""
        return await contact_store.blockers_among(conn, blocked_id, owner_ids)

    def forget(self, first_id: int, second_id: int) -> None:
        """Once a change to the pair's tie commits: read it again on the next send."""
        self._invalidations.forget(Topic.CONTACTS, direct_pair_key(first_id, second_id))


class Contacts:
    def __init__(
        self,
        database: Database,
        bus: Bus,
        ties: Ties,
        identity: IdentityService,
        enforcement: Enforcement,
        names: Names,
        content_check: ContentCheck,
        rules: ContactRules,
        *,
        limits: Limits,
        rate_limits: RateLimits,
        clock: Callable[[], float],
    ) -> None:
        self._db = database
        self._bus = bus
        self._ties = ties
        self._identity = identity
        self._enforcement = enforcement
        self._names = names
        self._check = content_check
        self._rules = rules
        self._limits = limits
        self._rate_limits = rate_limits
        self._lookups = Limit.parse("phone_lookups_per_user", limits.phone_lookups_per_user)
        self._clock = clock

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def _may_interact(self, actor: Principal) -> None:
        require(actor, Permission.ACT)
        await self._enforcement.require_user_may(actor.account_id, Capability.INTERACT)

    # Finding people -----------------------------------------------------------------------------

    async def find_by_handle(self, actor: Principal, handle: str) -> list[UserCard]:
        """The user with exactly this handle (handles ignore case), if any."""
        await self._may_interact(actor)
        handle = normalize_handle(handle)
        async with self._db.reading() as conn:
            return await contact_store.with_handle(
                conn, handle, active=AccountStatus.ACTIVE, role=Role.USER
            )

    async def cards(self, actor: Principal, user_ids: Collection[int]) -> list[UserCard]:
        """The handles and display names of those of `user_ids` the caller knows (shares a
        conversation with, has as a contact, a friend request or an invitation with): what a
        client shows for the members and senders it lists. The others are left out, as are
        staff and deregistered accounts."""
        async with self._db.reading() as conn:
            return await contact_store.known_to(
                conn, actor.account_id, user_ids, active=AccountStatus.ACTIVE, role=Role.USER
            )

    async def staff_cards(
        self, actor: Principal, user_ids: Collection[int], handle: str | None
    ) -> list[contact_store.StaffCard]:
        """For the desks: the handle, display name, role and status of the accounts asked for by
        id, and of the one with `handle` (handles ignore case), staff and closed accounts too."""
        require(actor, Permission.READ_SANCTIONS)
        async with self._db.reading() as conn:
            return await contact_store.staff_cards(
                conn,
                ids=user_ids,
                handle=None if handle is None else normalize_handle(handle),
            )

    async def find_by_phone(self, actor: Principal, phone: str) -> list[UserCard]:
        """The users with this phone who allow being found by it. A number not on file and one
        whose holder does not allow it answer alike, after the same hash and the same read."""
        await self._may_interact(actor)
        wait = await self._rate_limits.hit(self._lookups, str(actor.account_id))
        if wait is not None:
            raise Throttled(
                f"too many lookups by phone; try again in {wait} s",
                code=ErrorCode.TOO_MANY_LOOKUPS,
                retry_after=wait,
            )
        phone_index = self._identity.phone_index(phone)
        async with self._db.reading() as conn:
            return await contact_store.with_phone(
                conn, phone_index, active=AccountStatus.ACTIVE, role=Role.USER
            )

    async def findable_by_phone(self, actor: Principal) -> bool:
        async with self._db.reading() as conn:
            return await contact_store.findable_by_phone(conn, actor.account_id)

    async def set_findable_by_phone(self, actor: Principal, findable: bool) -> bool:
        await self._may_interact(actor)
        async with self._db.writing() as conn:
            await contact_store.set_findable_by_phone(conn, actor.account_id, findable)
        return findable

    # Friend requests ----------------------------------------------------------------------------

    async def request(self, actor: Principal, user_id: int, greeting: str) -> StoredRequest:
        """Ask to be friends, or greet again on an open request, up to the pack's greetings.
        To someone who blocks the caller, or who ignored the request, it goes nowhere, and the
        caller cannot tell. Asking someone whose own request waits for the caller accepts it
        (and answers with it)."""
        require_other(actor.account_id, user_id)
        greeting = check_greeting(greeting, self._limits)
        await self._may_interact(actor)
        if greeting:  # a message to a stranger: not while direct sends are withheld
            await self._enforcement.require_user_may(actor.account_id, Capability.SEND_DIRECT)
            await self._screen_greeting(actor, greeting)
        now_ms = self._now_ms()
        async with self._db.writing() as conn:
            await require_users(conn, [user_id])
            mine = await contact_store.tie(conn, actor.account_id, user_id)
            if mine is not None and mine.friend_since is not None:
                raise Conflict("you are friends already", code=ErrorCode.ALREADY_FRIENDS)
            silent = await self._blocks(conn, user_id, actor.account_id)
            waiting = await contact_store.request(conn, user_id, actor.account_id)
            if not silent and waiting is not None and waiting.state in OPEN_STATES:
                return await self._settle(conn, waiting, RequestState.ACCEPTED, now_ms)
            saved = await self._greet(conn, actor.account_id, user_id, greeting, now_ms)
            silent = silent or saved.state == RequestState.IGNORED
            await self._tell_request(
                conn, saved, [actor.account_id] if silent else [actor.account_id, user_id]
            )
        return saved

    async def _screen_greeting(self, actor: Principal, greeting: str) -> None:
        # A greeting reaches a stranger unreviewed: what would be flagged or held is refused.
        verdict = await self._check.screen(
            Surface.DIRECT, greeting, author_id=actor.account_id, subject_type="greeting"
        )
        if verdict.decision != Decision.ALLOW:
            raise PolicyRefusal(
                "refused: the greeting matches content the policy restricts",
                code=ErrorCode.CONTENT_BLOCKED,
                subjects=tuple(verdict.categories),
            )

    async def _greet(
        self, conn: DbConnection, requester_id: int, addressee_id: int, greeting: str, now_ms: int
    ) -> StoredRequest:
        existing = await contact_store.request(conn, requester_id, addressee_id)
        if existing is None or existing.state not in OPEN_STATES:
            return await contact_store.open_request(
                conn,
                requester_id,
                addressee_id,
                greeting=greeting,
                state=RequestState.PENDING,
                now_ms=now_ms,
            )
        if existing.greetings >= self._rules.stranger_greetings:
            raise PolicyRefusal(
                f"at most {self._rules.stranger_greetings} greetings before an answer",
                code=ErrorCode.GREETING_LIMIT,
            )
        return await contact_store.update_request(
            conn,
            requester_id,
            addressee_id,
            now_ms=now_ms,
            greeting=greeting,
            greetings=existing.greetings + 1,
        )

    async def requests(
        self, actor: Principal, *, after: int | None, limit: int
    ) -> list[StoredRequest]:
        """The requests waiting for the caller's answer, by requester id after `after`."""
        async with self._db.reading() as conn:
            return await contact_store.requests_to(
                conn, actor.account_id, state=RequestState.PENDING, after=after or 0, limit=limit
            )

    async def answer(self, actor: Principal, user_id: int, answer: str) -> StoredRequest:
        """Accept, decline or ignore the open request `user_id` sent the caller. An ignored
        request is told to nobody but the caller."""
        state = ANSWERS[answer]
        require_other(actor.account_id, user_id)
        await self._may_interact(actor)
        now_ms = self._now_ms()
        async with self._db.writing() as conn:
            waiting = await contact_store.request(conn, user_id, actor.account_id)
            # A requester who blocks the caller has taken the request back while the block lasts.
            if (
                waiting is None
                or waiting.state not in OPEN_STATES
                or await self._blocks(conn, user_id, actor.account_id)
            ):
                raise NotFound(
                    "no open friend request from that user",
                    code=ErrorCode.FRIEND_REQUEST_NOT_FOUND,
                )
            return await self._settle(conn, waiting, state, now_ms)

    async def _settle(
        self, conn: Transaction, waiting: StoredRequest, state: str, now_ms: int
    ) -> StoredRequest:
        """Answer an open request; accepted, its two are friends, and a request the other way
        (sent while one blocked the other) is accepted with it."""
        requester_id, addressee_id = waiting.requester_id, waiting.addressee_id
        saved = await self._record_answer(conn, waiting, state, now_ms)
        if state == RequestState.ACCEPTED:
            await self._set_friends(conn, addressee_id, requester_id, now_ms)
            crossed = await contact_store.request(conn, addressee_id, requester_id)
            if crossed is not None and crossed.state in OPEN_STATES:
                await self._record_answer(conn, crossed, RequestState.ACCEPTED, now_ms)
        return saved

    async def _record_answer(
        self, conn: Transaction, waiting: StoredRequest, state: str, now_ms: int
    ) -> StoredRequest:
        requester_id, addressee_id = waiting.requester_id, waiting.addressee_id
        saved = await contact_store.update_request(
            conn, requester_id, addressee_id, now_ms=now_ms, state=state
        )
        told = [addressee_id] if state == RequestState.IGNORED else [requester_id, addressee_id]
        await self._tell_request(conn, saved, told)
        return saved

    async def _tell_request(
        self, conn: Transaction, request: StoredRequest, recipients: list[int]
    ) -> None:
        # Rendered as its requester sees it: the addressee is told only where the two agree.
        rendered = render_friend_request(request, request.requester_id)
        await self._append(
            conn, EventType.FRIEND_REQUEST, friend_request_event, rendered, recipients
        )

    # Friends, remarks, blocks ------------------------------------------------------------------

    async def contacts(self, actor: Principal, *, after: int | None, limit: int) -> list[StoredTie]:
        """The caller's friends and the users they block, by user id after `after`."""
        async with self._db.reading() as conn:
            return await contact_store.ties_of(
                conn, actor.account_id, after=after or 0, limit=limit
            )

    async def remove(self, actor: Principal, user_id: int) -> None:
        """End a friendship; both sides are told."""
        require_other(actor.account_id, user_id)
        await self._may_interact(actor)
        async with self._db.writing() as conn:
            await self._friend_of(conn, actor.account_id, user_id)
            await self._set_friends(conn, actor.account_id, user_id, None)

    async def set_remark(self, actor: Principal, user_id: int, remark: str | None) -> StoredTie:
        """Name a friend as the caller likes (None or empty: no remark). A remark is a name in
        its form, but one only the caller reads: no reserved terms (Names.check_private)."""
        require_other(actor.account_id, user_id)
        await self._may_interact(actor)
        remark = check_remark(remark, self._limits)
        if remark is not None:
            await self._names.check_private(
                remark, author_id=actor.account_id, subject_type="remark"
            )
        async with self._db.writing() as conn:
            await self._friend_of(conn, actor.account_id, user_id)
            return await self._save_and_tell(conn, actor.account_id, user_id, remark=remark)

    async def block(self, actor: Principal, user_id: int, blocked: bool) -> StoredTie:
        """Block a user, or unblock them; only the caller is told."""
        require_other(actor.account_id, user_id)
        await self._may_interact(actor)
        now_ms = self._now_ms()
        async with self._db.writing() as conn:
            await require_users(conn, [user_id])
            mine = await contact_store.tie(conn, actor.account_id, user_id)
            since = mine.blocked_at if mine is not None else None
            blocked_at = (since or now_ms) if blocked else None
            saved = await self._save_and_tell(
                conn, actor.account_id, user_id, blocked_at=blocked_at
            )
            conn.after_commit(lambda: self._ties.forget(actor.account_id, user_id))
        return saved

    async def drop_ties_of(self, conn: Transaction, account_id: int) -> None:
        """Deregistration's part, in its transaction: every tie to and from the account goes,
        friendships and remarks, and blocks either way too (the account never acts again, and a
        block of it would stay in the blocker's list, nameless, with no way to lift it), with
        every friend request between it and anyone. Whoever had a tie to it gets a `contact`
        event with the tie as it now stands, none; once it commits, every process forgets the
        pairs' cached ties."""
        ties = await contact_store.ties_with(conn, account_id)
        await contact_store.delete_ties_with(conn, account_id)
        now_ms = self._now_ms()
        for tie in ties:
            if tie.owner_id != account_id:
                ended = StoredTie(tie.owner_id, account_id, None, None, None, now_ms)
                await self._append(
                    conn, EventType.CONTACT, contact_event, render_contact(ended), [tie.owner_id]
                )
        others = {tie.owner_id for tie in ties} | {tie.contact_id for tie in ties}
        others.discard(account_id)

        def forget() -> None:
            for other_id in others:
                self._ties.forget(account_id, other_id)

        conn.after_commit(forget)

    async def _set_friends(
        self, conn: Transaction, first_id: int, second_id: int, since: int | None
    ) -> None:
        """Make the two friends from `since` (None: no longer friends), each side told."""
        for owner_id, other_id in ((first_id, second_id), (second_id, first_id)):
            await self._save_and_tell(conn, owner_id, other_id, friend_since=since)
        conn.after_commit(lambda: self._ties.forget(first_id, second_id))

    async def _save_and_tell(
        self, conn: Transaction, owner_id: int, other_id: int, **values: object
    ) -> StoredTie:
        saved = await contact_store.save_tie(
            conn, owner_id, other_id, now_ms=self._now_ms(), **values
        )
        await self._append(
            conn, EventType.CONTACT, contact_event, render_contact(saved), [owner_id]
        )
        return saved

    @staticmethod
    async def _blocks(conn: DbConnection, owner_id: int, other_id: int) -> bool:
        tie = await contact_store.tie(conn, owner_id, other_id)
        return tie is not None and tie.blocked_at is not None

    async def _friend_of(self, conn: DbConnection, owner_id: int, other_id: int) -> StoredTie:
        mine = await contact_store.tie(conn, owner_id, other_id)
        if mine is None or mine.friend_since is None:
            raise NotFound("not among your friends", code=ErrorCode.CONTACT_NOT_FOUND)
        return mine

    async def _append(
        self,
        conn: Transaction,
        event_type: str,
        event: Callable[[int, dict[str, Any]], dict[str, Any]],
        content: dict[str, Any],
        recipients: Iterable[int],
    ) -> None:
        """One event for the recipients, rung once the transaction commits."""
        told = list(recipients)
        payload = await stream_store.append_new_event(
            conn,
            self._db.positions,
            event_type=event_type,
            render=lambda position: event(position, content),
            recipients=told,
        )
        conn.after_commit(lambda: self._ring(told, payload))

    def _ring(self, recipients: Iterable[int], payload: bytes) -> None:
        for account_id in recipients:
            self._bus.publish(user_channel(account_id), payload)
