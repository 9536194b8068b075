"""Public accounts, their posts, subscriptions, the timeline, reading and forwarding posts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Response

from townhall.api.deps import PrincipalDep, ServicesDep, needs
from townhall.api.models.common import Cursor, at_most, cursor_position, errors, next_cursor
from townhall.api.models.public_accounts import (
    ForwardedPost,
    NewPost,
    PostPage,
    PublicAccount,
    PublicAccountPage,
    ReadPost,
    Subscription,
    Timeline,
    account_page,
)
from townhall.api.openapi import api_router
from townhall.api.responses import JSONBody
from townhall.api.schemas import MAX_ID, ForwardIn, PostIn, PublicAccountIn
from townhall.domain.permissions import Permission
from townhall.domain.public_accounts import RegistrationNumber
from townhall.services.public_accounts import AccountPage
from townhall.services.rendering import render_message, render_post

router = api_router(prefix="/api/v1", tags=["public accounts"])

PublicAccountId = Annotated[int, Path(ge=1, le=MAX_ID, description="the public account")]
PostId = Annotated[int, Path(ge=1, le=MAX_ID, description="the post")]
PageLimit = Annotated[int, at_most(10_000, "timeline_page_max (100 unless configured)")]


@router.post(
    "/public-accounts",
    summary="Apply for a public account",
    status_code=201,
    response_model=PublicAccount,
    response_model_exclude_unset=True,
    responses=errors(409, 422),
    openapi_extra=needs(Permission.ACT),
)
async def apply(body: PublicAccountIn, principal: PrincipalDep, services: ServicesDep) -> Any:
    fields = body.model_dump(exclude={"registration_number_type", "registration_number"})
    registration = (
        RegistrationNumber(body.registration_number_type or "", body.registration_number)
        if body.registration_number is not None
        else None
    )
    page = await services.public_accounts.apply(principal, registration=registration, **fields)
    return account_page(page)


@router.get(
    "/public-accounts",
    summary="List the public accounts anyone may read",
    response_model=PublicAccountPage,
    response_model_exclude_unset=True,
)
async def directory(
    principal: PrincipalDep,
    services: ServicesDep,
    cursor: Cursor = None,
    limit: Annotated[int, at_most(500)] = 100,
) -> Any:
    """The directory: approved accounts (and suspended ones, which still show), oldest first,
    each with its badges (category, news entitlement) and whether the caller subscribes."""
    accounts = await services.public_accounts.directory(
        principal, after=cursor_position(cursor), limit=limit
    )
    return accounts_page(accounts, limit)


@router.get(
    "/me/public-accounts",
    summary="List the public accounts the caller runs or applied for",
    response_model=PublicAccountPage,
    response_model_exclude_unset=True,
)
async def my_public_accounts(
    principal: PrincipalDep,
    services: ServicesDep,
    cursor: Cursor = None,
    limit: Annotated[int, at_most(500)] = 100,
) -> Any:
    """The accounts the caller runs or applied for, oldest first."""
    accounts = await services.public_accounts.mine(
        principal, after=cursor_position(cursor), limit=limit
    )
    return accounts_page(accounts, limit)


def accounts_page(accounts: list[AccountPage], limit: int) -> dict[str, Any]:
    last = accounts[-1].account.id if len(accounts) == limit else None
    return {
        "public_accounts": [account_page(page) for page in accounts],
        "next_cursor": next_cursor(last),
    }


@router.get(
    "/public-accounts/{public_account_id}",
    summary="Show a public account",
    response_model=PublicAccount,
    response_model_exclude_unset=True,
)
async def public_account_page(
    public_account_id: PublicAccountId, principal: PrincipalDep, services: ServicesDep
) -> Any:
    return account_page(await services.public_accounts.get(principal, public_account_id))


@router.put(
    "/public-accounts/{public_account_id}/subscription",
    summary="Subscribe to a public account",
    response_model=Subscription,
    responses=errors(422),
    openapi_extra=needs(Permission.ACT),
)
async def subscribe(
    public_account_id: PublicAccountId, principal: PrincipalDep, services: ServicesDep
) -> Any:
    return await services.public_accounts.subscribe(principal, public_account_id)


@router.delete(
    "/public-accounts/{public_account_id}/subscription",
    summary="Unsubscribe from a public account",
    response_model=Subscription,
    openapi_extra=needs(Permission.ACT),
)
async def unsubscribe(
    public_account_id: PublicAccountId, principal: PrincipalDep, services: ServicesDep
) -> Any:
    return await services.public_accounts.unsubscribe(principal, public_account_id)


@router.post(
    "/public-accounts/{public_account_id}/posts",
    summary="Publish a post as a public account",
    status_code=201,
    response_model=NewPost,
    response_model_exclude_unset=True,
    responses=errors(422, 429),
    openapi_extra=needs(Permission.ACT),
)
async def publish(
    public_account_id: PublicAccountId,
    body: PostIn,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Any:
    new = await services.posts.publish(principal, public_account_id, **body.model_dump())
    post = render_post(new.post)
    return post if new.held_for is None else {**post, "held_for": new.held_for}


@router.get(
    "/public-accounts/{public_account_id}/posts",
    summary="Page back through a public account's posts",
    response_model=PostPage,
)
async def account_posts(
    public_account_id: PublicAccountId,
    principal: PrincipalDep,
    services: ServicesDep,
    cursor: Cursor = None,
    limit: PageLimit = 20,
) -> JSONBody:
    posts = await services.posts.of_account(
        principal, public_account_id, before=cursor_position(cursor), limit=limit
    )
    last = posts[-1].id if len(posts) == limit else None
    return JSONBody({"posts": [render_post(p) for p in posts], "next_cursor": next_cursor(last)})


@router.get(
    "/timeline", summary="Get the posts of the caller's subscriptions", response_model=Timeline
)
async def timeline(
    principal: PrincipalDep,
    services: ServicesDep,
    since: Annotated[
        int,
        Query(
            ge=0,
            le=MAX_ID,
            description="`latest` of the previous answer (a timeline position, not a post id);"
            " 0 from the start",
        ),
    ] = 0,
    cursor: Cursor = None,
    limit: PageLimit = 20,
) -> JSONBody:
    """What is new: `since` the previous answer's `latest`; older pages: `cursor`."""
    found = await services.posts.timeline(
        principal, since=since, before=cursor_position(cursor), limit=limit
    )
    return JSONBody(
        {
            "posts": [render_post(post) for post in found.posts],
            "latest": found.latest,
            "next_cursor": next_cursor(found.older),
        }
    )


@router.get("/posts/{post_id}", summary="Read a post", response_model=ReadPost)
async def read_post(post_id: PostId, principal: PrincipalDep, services: ServicesDep) -> JSONBody:
    read = await services.posts.read(principal, post_id)
    return JSONBody({**render_post(read.post), "reach": read.reach.render()})


@router.delete(
    "/posts/{post_id}",
    summary="Delete a post of the caller's public account",
    status_code=204,
    openapi_extra=needs(Permission.ACT),
)
async def delete_post(post_id: PostId, principal: PrincipalDep, services: ServicesDep) -> Response:
    await services.posts.delete(principal, post_id)
    return Response(status_code=204)


@router.post(
    "/posts/{post_id}/forwards",
    summary="Forward a post into a conversation",
    status_code=201,
    response_model=ForwardedPost,
    response_model_exclude_unset=True,
    responses=errors(409, 422, 429),
    openapi_extra=needs(Permission.ACT),
)
async def forward(
    post_id: PostId, body: ForwardIn, principal: PrincipalDep, services: ServicesDep
) -> Any:
    forwarded = await services.posts.forward(principal, post_id, **body.model_dump())
    return {"forward": forwarded.forward, "message": render_message(forwarded.message)}
