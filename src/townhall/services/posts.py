"""Posts of public accounts: publishing with the news gate and quota, the timeline, reading
(a unique view), deleting, and forwarding into a conversation."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from townhall.domain.accounts import STAFF_ROLES
from townhall.domain.enforcement import Capability
from townhall.domain.errors import (
    ErrorCode,
    Forbidden,
    InvalidInput,
    NotFound,
    PolicyRefusal,
    Throttled,
)
from townhall.domain.events import post_event
from townhall.domain.limits import Limits
from townhall.domain.moderation import Decision, Surface, Verdict
from townhall.domain.news_check import held_for_news
from townhall.domain.permissions import Permission
from townhall.domain.policy import PolicyPack
from townhall.domain.public_accounts import (
    READABLE_ACCOUNTS,
    AccountState,
    PostState,
    SourcePost,
    check_news_gate,
    check_post,
    news_check_applies,
    quota_retry_after_ms,
)
from townhall.domain.reach import Reach
from townhall.domain.review import Target
from townhall.services.classifiers import ClassifierStage, Subject
from townhall.services.enforcement import Enforcement
from townhall.services.intake import CaseIntake
from townhall.services.live_posts import LiveFollowers
from townhall.services.media import MediaService
from townhall.services.messaging import MessagingService
from townhall.services.moderation import ContentCheck
from townhall.services.news_check import NewsCheck
from townhall.services.principal import Principal, require
from townhall.services.rate_limits import Limit, RateLimits
from townhall.services.reach import ReachLedger, reach_of
from townhall.services.rendering import carried_media, post_attachment, render_post
from townhall.services.search_rate import SearchRate
from townhall.services.standing import Standings
from townhall.store import media as media_store
from townhall.store import posts as post_store
from townhall.store import public_accounts as account_store
from townhall.store import reach as reach_store
from townhall.store.database import Database, DbConnection
from townhall.store.media import StoredMedia
from townhall.store.message_log import StoredMessage
from townhall.store.posts import PostWithAccount
from townhall.store.public_accounts import StoredPublicAccount
from townhall.store.reach import StoredForward

NO_UPPER_BOUND = 2**63 - 1
# A removed post stays in timelines as its tombstone, so clients replace what they showed.
SHOWN_IN_TIMELINES = (PostState.PUBLISHED, PostState.REMOVED)
# What an account's operator sees on its page and may delete: the published posts and the held.
OPERATORS_POSTS = (PostState.PUBLISHED, PostState.HELD)
PUBLISHED = (PostState.PUBLISHED,)


@dataclass(frozen=True, slots=True)
class NewPost:
    """A post just written, and for a held one why: the categories, never the terms."""

    post: PostWithAccount
    held_for: list[str] | None  # None: published; its subscribers see it now


@dataclass(frozen=True, slots=True)
class TimelinePage:
    """Posts of the accounts a reader follows, newest published first; ask with `since=latest`
    for what is new, and with `before=older` for the page of older posts. Both count timeline
    positions, not post ids: a post approved late is published, so new, then."""

    posts: list[PostWithAccount]
    latest: int
    older: int | None  # None: this page is the last


@dataclass(frozen=True, slots=True)
class ReadPost:
    """A post as read, with its reach counting this reader."""

    post: PostWithAccount
    reach: Reach


@dataclass(frozen=True, slots=True)
class ForwardedPost:
    """A forward of a post and the message that carries it."""

    forward: StoredForward
    message: StoredMessage


class PostService:
    def __init__(
        self,
        database: Database,
        standings: Standings,
        enforcement: Enforcement,
        messaging: MessagingService,
        reach: ReachLedger,
        live: LiveFollowers,
        content_check: ContentCheck,
        intake: CaseIntake,
        classifiers: ClassifierStage,
        media: MediaService,
        pack: PolicyPack,
        *,
        rate_limits: RateLimits,
        search_rate: SearchRate,
        limits: Limits,
        clock: Callable[[], float],
    ) -> None:
        self._db = database
        self._rate_limits = rate_limits
        self._search_rate = search_rate
        self._forwards = Limit.parse("forwards_per_user", limits.forwards_per_user)
        self._intake = intake
        self._classifiers = classifiers
        self._check = content_check
        self._standings = standings
        self._enforcement = enforcement
        self._messaging = messaging
        self._media = media
        self._reach = reach
        self._live = live
        self._rules = pack.public_accounts
        self._news_check = NewsCheck(pack.public_accounts.news_check, classifiers)
        self._limits = limits
        self._clock = clock

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def publish(
        self,
        actor: Principal,
        public_account_id: int,
        *,
        title: str,
        body: str,
        content_class: str,
        source_post_id: int | None,
        media_ids: Sequence[int] = (),
    ) -> NewPost:
        """Publish, or hold for a reviewer; the media it carries are the operator's uploads or
        ones the operator may read, and with them its body may be empty."""
        require(actor, Permission.ACT)
        title, body = check_post(title, body, self._limits, body_required=not media_ids)
        async with self._db.reading() as conn:
            account = await self._operated_by(conn, actor, public_account_id)
            source = await self._source(conn, source_post_id)
        check_news_gate(
            content_class=content_class,
            entitlement=account.news_entitlement,
            source=source,
            rules=self._rules,
        )
        await self._enforcement.require_user_may(actor.account_id, Capability.PUBLISH_POST)
        await self._standings.require_may(actor.account_id, Capability.PUBLISH_POST)
        carried = await self._media.attachable(actor, media_ids)
        text = f"{title}\n{body}"
        verdict = await self._check.screen(
            Surface.PUBLIC_POST,
            text,
            author_id=actor.account_id,
            subject_type="post",
            media=carried,
        )
        if news_check_applies(
            entitlement=account.news_entitlement,
            content_class=content_class,
            source=source,
            rules=self._rules,
        ):  # the label is the author's word: what reads like news waits for a reviewer
            verdict = held_for_news(verdict, await self._news_check.reasons(text))
        if verdict.decision in (Decision.ALLOW, Decision.FLAG) and (
            await self._enforcement.publication_held(public_account_id)
        ):  # limited publication: a reviewer sees every post first (a staff decision)
            verdict = Verdict(Decision.HOLD, verdict.reasons, automated=False)
        held = verdict.decision == Decision.HOLD  # its subscribers see it once approved
        quota = self._rules.broadcast_quota.get(account.account_type)
        if quota is None:  # the pack no longer offers this account type
            raise InvalidInput(
                f"the account type {account.account_type!r} is no longer offered",
                code=ErrorCode.ACCOUNT_TYPE_INVALID,
            )
        now_ms = self._now_ms()
        async with self._db.writing() as conn:
            # Read again in the write turn: a suspension may have landed since.
            account = await self._operated_by(conn, actor, public_account_id)
            period_start = now_ms - quota.period_hours * 3600 * 1000
            recent = await post_store.post_times_since(conn, public_account_id, period_start)
            wait_ms = quota_retry_after_ms(recent, quota, now_ms)
            if wait_ms is not None:
                retry_after = -(-wait_ms // 1000)
                raise Throttled(
                    f"the {account.account_type} account's quota is {quota.posts} post(s) per "
                    f"{quota.period_hours} h; try again in {retry_after} s",
                    code=ErrorCode.BROADCAST_QUOTA,
                    retry_after=retry_after,
                )
            post_id = await post_store.insert_post(
                conn,
                in_timelines=not held,
                public_account_id=public_account_id,
                title=title,
                body=body,
                content_class=content_class,
                source_post_id=source_post_id,
                root_post_id=source.root_post_id if source is not None else None,
                status=PostState.HELD if held else PostState.PUBLISHED,
                created_at=now_ms,
                media=carried_media(carried),
            )
            await media_store.link_post(conn, post_id, [media.id for media in carried])
            post = await post_store.existing(conn, post_id)
            await self._intake.record_screened(
                conn,
                verdict,
                surface=Surface.PUBLIC_POST,
                target_type=Target.POST,
                target_id=post_id,
                author_id=actor.account_id,
                content=_case_content(title, body, text, carried),
            )
            if not held:
                frame = orjson.dumps(post_event(render_post(post)))
                conn.after_commit(lambda: self._live.publish(frame))
        self._classifiers.submit(
            text, Subject(Surface.PUBLIC_POST, Target.POST, post_id, actor.account_id)
        )
        # The operator learns why (the categories, never the terms); only they see it for now.
        return NewPost(post, verdict.categories if held else None)

    async def _operated_by(
        self, conn: DbConnection, actor: Principal, public_account_id: int
    ) -> StoredPublicAccount:
        account = await account_store.get(conn, public_account_id)
        if account is None or (
            account.operator_id != actor.account_id and account.status != AccountState.APPROVED
        ):
            raise NotFound("no such public account", code=ErrorCode.PUBLIC_ACCOUNT_NOT_FOUND)
        if account.operator_id != actor.account_id:
            raise Forbidden("only the account's operator may publish", code=ErrorCode.NOT_OPERATOR)
        if account.status == AccountState.SUSPENDED:
            raise PolicyRefusal(
                f"the account is suspended: {account.status_reason}",
                code=ErrorCode.PUBLIC_ACCOUNT_SUSPENDED,
            )
        if account.status != AccountState.APPROVED:
            raise PolicyRefusal(
                f"the account is {account.status}; only approved accounts publish",
                code=ErrorCode.PUBLIC_ACCOUNT_NOT_APPROVED,
            )
        return account

    async def _source(self, conn: DbConnection, source_post_id: int | None) -> SourcePost | None:
        """The re-published post and its chain's original, with the original's entitlement now."""
        if source_post_id is None:
            return None
        source = await post_store.get(conn, source_post_id)
        if source is None or source.status != PostState.PUBLISHED:
            raise NotFound("no such source post", code=ErrorCode.SOURCE_POST_NOT_FOUND)
        root = (
            source
            if source.root_post_id is None
            else await post_store.get(conn, source.root_post_id)
        )
        if root is None or root.status != PostState.PUBLISHED:
            raise NotFound(
                "the source post's original is gone", code=ErrorCode.SOURCE_POST_NOT_FOUND
            )
        return SourcePost(
            root_post_id=root.id,
            root_content_class=root.content_class,
            root_entitlement=root.account_entitlement,
        )

    async def timeline(
        self, actor: Principal, *, since: int, before: int | None, limit: int
    ) -> TimelinePage:
        """Newest published first: posts of followed accounts after `since` (and before
        `before`), timeline positions both."""
        self._check_limit(limit)
        async with self._db.reading() as conn:
            rows = await post_store.timeline(
                conn,
                actor.account_id,
                shown=SHOWN_IN_TIMELINES,
                open_accounts=READABLE_ACCOUNTS,
                since=since,
                before=before or NO_UPPER_BOUND,
                limit=limit,
            )
            if not rows and since > await post_store.newest_position(conn):
                # No answer gave it out: keeping it would skip every post up to it.
                raise InvalidInput(
                    "since must be the latest of an earlier answer, or 0",
                    code=ErrorCode.CURSOR_INVALID,
                )
        # Ask with since=latest for what is new; older pages go on before the last post.
        latest = max(since, _position(rows[0])) if rows and before is None else since
        older = _position(rows[-1]) if len(rows) == limit else None
        return TimelinePage(rows, latest, older)

    async def of_account(
        self, actor: Principal, public_account_id: int, *, before: int | None, limit: int
    ) -> list[PostWithAccount]:
        self._check_limit(limit)
        async with self._db.reading() as conn:
            account = await account_store.get(conn, public_account_id)
            if account is None or (
                account.status not in READABLE_ACCOUNTS and account.operator_id != actor.account_id
            ):
                raise NotFound("no such public account", code=ErrorCode.PUBLIC_ACCOUNT_NOT_FOUND)
            return await post_store.of_account(
                conn,
                public_account_id,
                shown=OPERATORS_POSTS if account.operator_id == actor.account_id else PUBLISHED,
                before=before or NO_UPPER_BOUND,
                limit=limit,
            )

    async def search(
        self, actor: Principal, query: str, *, before: int | None, limit: int
    ) -> list[PostWithAccount]:
        """The posts anyone may read whose titles hold the query's terms, newest first:
        published, of an account that is approved (or suspended, which still shows)."""
        terms = await self._search_rate.admit(actor, query)
        async with self._db.reading() as conn:
            return await post_store.find(
                conn,
                terms,
                published=PostState.PUBLISHED,
                open_accounts=READABLE_ACCOUNTS,
                before=before,
                limit=limit,
            )

    def _check_limit(self, limit: int) -> None:
        if not 1 <= limit <= self._limits.timeline_page_max:
            raise InvalidInput(
                f"limit must be 1-{self._limits.timeline_page_max}", code=ErrorCode.LIMIT_INVALID
            )

    async def read(self, actor: Principal, post_id: int) -> ReadPost:
        """The post, counting the reader once as a unique view. Staff looking into a post are
        not its public: their reads must not push it over a threshold."""
        async with self._db.reading() as conn:
            post = await post_store.get(conn, post_id)
        if post is not None and post.status == PostState.HELD:
            # Its operator's alone until a reviewer lets it out; not a view of a published post.
            if post.operator_id != actor.account_id:
                raise NotFound("no such post", code=ErrorCode.POST_NOT_FOUND)
            return ReadPost(post, reach_of(post))
        post = _published_or_not_found(post)
        if actor.role in STAFF_ROLES:
            reach = reach_of(post)
        else:
            reach = await self._reach.record_view(post, actor.account_id)
        return ReadPost(post, reach)

    async def _published(self, post_id: int) -> PostWithAccount:
        async with self._db.reading() as conn:
            return _published_or_not_found(await post_store.get(conn, post_id))

    async def delete(self, actor: Principal, post_id: int) -> None:
        """The operator takes a post down; evidence frozen by an escalation stays."""
        require(actor, Permission.ACT)
        await self._enforcement.require_user_may(actor.account_id, Capability.INTERACT)
        now_ms = self._now_ms()
        async with self._db.writing() as conn:
            post = await post_store.get(conn, post_id)
            account = (
                await account_store.get(conn, post.public_account_id) if post is not None else None
            )
            if post is None or post.status not in OPERATORS_POSTS or account is None:
                raise NotFound("no such post", code=ErrorCode.POST_NOT_FOUND)
            if account.operator_id != actor.account_id:
                # A held post is its operator's alone to see: to anyone else it is not there.
                if not _readable(post.status, account.status):
                    raise NotFound("no such post", code=ErrorCode.POST_NOT_FOUND)
                raise Forbidden(
                    "only the account's operator may delete it", code=ErrorCode.NOT_OPERATOR
                )
            await post_store.mark_deleted(conn, post_id, deleted=PostState.DELETED, now_ms=now_ms)

    async def forward(
        self,
        actor: Principal,
        post_id: int,
        *,
        conversation_id: int,
        from_message_id: int | None,
        client_id: str | None,
    ) -> ForwardedPost:
        """Forward the post into a conversation as a message that carries it. Forwarding a
        forward names the message it came in (`from_message_id`), so lineage traces back."""
        require(actor, Permission.ACT)
        post = await self._published(post_id)
        parent = await self._parent_forward(actor, post_id, from_message_id)
        await self._require_may_forward(actor.account_id)
        appended = await self._messaging.send(
            actor,
            conversation_id,
            text=post.title,
            client_id=client_id or f"forward-{uuid.uuid4().hex}",
            attachment=post_attachment(post),
            # The forward is recorded, counted and escalated in its message's transaction.
            written_with=self._reach.forwarding(post, forwarder_id=actor.account_id, parent=parent),
        )
        forward = await self._reach.forward_in(
            post, appended.message, forwarder_id=actor.account_id, parent=parent
        )
        return ForwardedPost(forward, appended.message)

    async def _require_may_forward(self, account_id: int) -> None:
        """A forward is also a send; its own, lower rate keeps one account from pushing a post
        into every chat it is in."""
        wait = await self._rate_limits.hit(self._forwards, str(account_id))
        if wait is not None:
            raise Throttled(
                f"too many forwards for now; try again in {wait} s",
                code=ErrorCode.TOO_MANY_FORWARDS,
                retry_after=wait,
            )

    async def _parent_forward(
        self, actor: Principal, post_id: int, from_message_id: int | None
    ) -> StoredForward | None:
        if from_message_id is None:
            return None
        async with self._db.reading() as conn:
            parent = await reach_store.forward_by_message(conn, from_message_id)
        # The forwarder must have seen that message: be a member of its conversation.
        if (
            parent is None
            or parent.post_id != post_id
            or not await self._messaging.is_member(actor, parent.conversation_id)
        ):
            raise NotFound(
                "no forward of this post in that message", code=ErrorCode.FORWARD_NOT_FOUND
            )
        return parent


def _case_content(title: str, body: str, text: str, carried: list[StoredMedia]) -> dict[str, Any]:
    """What a case about the post keeps of it: its text, and the media it carries."""
    content: dict[str, Any] = {"title": title, "body": body, "text": text}
    if carried:
        content["media_ids"] = [media.id for media in carried]
    return content


def _published_or_not_found(post: PostWithAccount | None) -> PostWithAccount:
    """The post, if published where anyone may read it."""
    if post is None or not _readable(post.status, post.account_status):
        raise NotFound("no such post", code=ErrorCode.POST_NOT_FOUND)
    if post.status == PostState.REMOVED:
        raise NotFound("the post was removed by moderation", code=ErrorCode.POST_REMOVED)
    return post


def _position(post: PostWithAccount) -> int:
    """Where a post of a timeline stands there: it was published, so it has its place."""
    assert post.timeline_position is not None
    return post.timeline_position


def _readable(post_status: str, account_status: str) -> bool:
    """Whether anyone may read the post (a removed one as its tombstone)."""
    return (
        post_status in (PostState.PUBLISHED, PostState.REMOVED)
        and account_status in READABLE_ACCOUNTS
    )
