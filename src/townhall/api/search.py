"""Full-text search: the caller's own conversations, and the public accounts and posts that
anyone may read."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from townhall.api.deps import PrincipalDep, ServicesDep
from townhall.api.models.common import Cursor, at_most, cursor_position, errors, next_cursor
from townhall.api.models.messaging import MessagePage
from townhall.api.models.public_accounts import PostPage, PublicAccountPage
from townhall.api.openapi import api_router
from townhall.api.public_accounts import accounts_page
from townhall.api.responses import JSONBody
from townhall.domain.search import MAX_QUERY_CHARS, PAGE_MAX
from townhall.services.rendering import render_message, render_post

router = api_router(prefix="/api/v1/search", tags=["search"])

# The service counts the characters (400 `query_too_long` past MAX_QUERY_CHARS); this only stops
# a query far past any limit before it is read.
SearchQuery = Annotated[
    str,
    Query(
        max_length=10 * MAX_QUERY_CHARS,
        description=f"what to look for, up to {MAX_QUERY_CHARS} characters: each Chinese character"
        " (and kana, hangul) counts on its own, other letters and digits as whole words; words"
        " separated by spaces must all be found, each as it is written",
    ),
]
PageLimit = Annotated[int, at_most(PAGE_MAX)]


@router.get(
    "/messages",
    summary="Search the text of the caller's conversations, newest first",
    response_model=MessagePage,
    responses=errors(429),
)
async def search_messages(
    q: SearchQuery,
    principal: PrincipalDep,
    services: ServicesDep,
    cursor: Cursor = None,
    limit: PageLimit = 20,
) -> JSONBody:
    """Only what the caller may read now: messages of the conversations they are a member of
    (none of one they left), neither recalled nor removed by moderation, and another's only
    once delivered; their own held ones too. A page looks through a bounded number of matches,
    so it may hold fewer than `limit` and still have a `next_cursor`: the search goes on from
    there."""
    found = await services.messaging.search(
        principal, q, before=cursor_position(cursor), limit=limit
    )
    return JSONBody(
        {
            "messages": [render_message(message) for message in found.messages],
            "next_cursor": next_cursor(found.next_before),
        }
    )


@router.get(
    "/public-accounts",
    summary="Search the public accounts anyone may read by name",
    response_model=PublicAccountPage,
    response_model_exclude_unset=True,
    responses=errors(429),
)
async def search_public_accounts(
    q: SearchQuery,
    principal: PrincipalDep,
    services: ServicesDep,
    cursor: Cursor = None,
    limit: PageLimit = 20,
) -> Any:
    """The directory's accounts (approved, or suspended and still shown) whose names hold the
    query, oldest first, each with whether the caller subscribes."""
    accounts = await services.public_accounts.search(
        principal, q, after=cursor_position(cursor), limit=limit
    )
    return accounts_page(accounts, limit)


@router.get(
    "/posts",
    summary="Search the posts anyone may read by title, newest first",
    response_model=PostPage,
    responses=errors(429),
)
async def search_posts(
    q: SearchQuery,
    principal: PrincipalDep,
    services: ServicesDep,
    cursor: Cursor = None,
    limit: PageLimit = 20,
) -> JSONBody:
    """Published posts of approved (or suspended) accounts whose titles hold the query: never a
    held, removed or deleted one."""
    posts = await services.posts.search(principal, q, before=cursor_position(cursor), limit=limit)
    last = posts[-1].id if len(posts) == limit else None
    return JSONBody({"posts": [render_post(p) for p in posts], "next_cursor": next_cursor(last)})
