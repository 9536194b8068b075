"""Public accounts and their subscriptions, posts, the timeline, and forwards of posts."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from townhall.api.models.common import Model, Timestamp, omitted
from townhall.api.models.media import Media
from townhall.api.models.messaging import Message
from townhall.domain.public_accounts import EntityKind
from townhall.services.public_accounts import AccountPage

PublicAccountState = Literal["pending_review", "approved", "rejected", "suspended", "closed"]
NewsEntitlement = Literal["none", "repost", "originate"]


class Operator(Model):
    """Who runs the account, as its page shows it: the verified entity, never the person."""

    kind: EntityKind
    entity_name: str | None = Field(description="an organisation's registered name")
    registration_number_type: str | None
    registration_number: str | None


class PublicAccount(Model):
    """The account's page. Its applicant and the staff who review applications also see the
    application's fields (`operator_id` to `applied_at`); `subscribed` is the reader's own."""

    id: int
    name: str
    category: str = Field(description="one of the pack's categories")
    category_label: str
    account_type: str = Field(description="one of the pack's account types")
    description: str
    status: PublicAccountState
    news_entitlement: NewsEntitlement
    operator: Operator
    subscriber_count: int
    approved_at: Timestamp | None
    operator_id: int | None = Field(default=None, description="the application's fields only")
    news_licence: str | None = Field(default=None, description="the application's fields only")
    status_reason: str | None = Field(default=None, description="the application's fields only")
    applied_at: Timestamp | None = Field(default=None, description="the application's fields only")
    subscribed: bool | None = Field(
        default=None, description="GET /public-accounts/{id} only: whether the reader follows it"
    )


def account_page(page: AccountPage) -> dict[str, Any]:
    """A `PublicAccount`: the application's fields only where the reader may see them,
    `subscribed` only where the service says (absent keys stay absent)."""
    row = page.account
    fields: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "category": row.category,
        "category_label": page.category_label,
        "account_type": row.account_type,
        "description": row.description,
        "status": row.status,
        "news_entitlement": row.news_entitlement,
        "operator": {
            "kind": row.entity_kind,
            "entity_name": row.entity_name,
            "registration_number_type": row.registration_number_type,
            "registration_number": row.registration_number,
        },
        "subscriber_count": row.subscriber_count,
        "approved_at": row.approved_at,
    }
    if page.shows_application:
        fields.update(
            operator_id=row.operator_id,
            news_licence=row.news_licence,
            status_reason=row.status_reason,
            applied_at=row.created_at,
        )
    if page.subscribed is not None:
        fields["subscribed"] = page.subscribed
    return fields


class PublicAccountPage(Model):
    public_accounts: list[PublicAccount] = Field(description="oldest first")
    next_cursor: str | None


class Subscription(Model):
    subscribed: bool
    subscriber_count: int


class Post(Model):
    id: int
    public_account_id: int
    account_name: str
    title: str
    body: str
    content_class: str = Field(description="one of the pack's content classes")
    source_post_id: int | None = Field(description="the post it re-publishes")
    root_post_id: int | None = Field(description="the original at the start of a re-post chain")
    created_at: Timestamp
    moderation: Literal["held"] = omitted(
        "absent when published; held: waiting for a reviewer, seen by its operator only"
    )
    media: list[Media] = omitted("the images and files it carries, in order; absent when none")


class RemovedPost(Model):
    """A post that moderation removed, where it had reached: clients show a tombstone."""

    id: int
    public_account_id: int
    account_name: str
    created_at: Timestamp
    moderation: Literal["removed"]


class NewPost(Post):
    held_for: list[str] = omitted("a held post only: the categories it was held for")


class Reach(Model):
    views: int = Field(description="unique viewers")
    forwards: int
    forwarders: int = Field(description="distinct forwarders")
    forward_depth: int = Field(description="the longest chain of forwards of forwards")


class ReadPost(Post):
    reach: Reach


class PostPage(Model):
    posts: list[Post] = Field(description="newest first")
    next_cursor: str | None


class Timeline(Model):
    posts: list[Post | RemovedPost] = Field(description="newest published first")
    latest: int = Field(
        description="ask again with `since` set to this for what is new: a timeline position,"
        " not a post id, so a post approved after newer ones were published comes as new"
    )
    next_cursor: str | None = Field(description="for the page of older posts")


class Forward(Model):
    id: int
    post_id: int
    forwarder_id: int
    conversation_id: int
    message_id: int
    parent_id: int | None = Field(description="the forward it forwards on, if any")
    depth: int = Field(description="1 for a forward of the post itself, 2 for a forward of that")
    created_at: Timestamp


class ForwardedPost(Model):
    forward: Forward
    message: Message = Field(description="the message that carries the post")
