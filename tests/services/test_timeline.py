"""The timeline's cursor counts publications, not post ids: a post held and approved after newer
ones were published is still new to a reader who polls with `since=latest`."""

from __future__ import annotations

import pytest

from tests.services.conftest import PASSWORD, World
from townhall.domain.errors import ErrorCode, InvalidInput
from townhall.services.principal import Principal

HELD = "百家乐攻略"  # a medium gambling match: a post is held until a reviewer decides


@pytest.fixture
async def reviewer(world: World) -> Principal:
    await world.accounts.create_staff(handle="reviewer", password=PASSWORD, role="reviewer")
    token = (await world.accounts.log_in("reviewer", PASSWORD, address=None)).token
    return await world.accounts.authenticate(token)


async def followed_account(
    world: World, reviewer: Principal, reader: Principal
) -> tuple[Principal, int]:
    """An operator and its approved service account, which `reader` follows."""
    operator = await world.person("operator")
    accounts = world.services.public_accounts
    applied = await accounts.apply(
        operator, name="山茶社", category="individual", account_type="service",
        description="", entity_name=None, registration=None, news_licence=None,
    )  # fmt: skip
    account_id = applied.account.id
    await accounts.decide(reviewer, account_id, approve=True, reason=None, news_entitlement="none")
    await accounts.subscribe(reader, account_id)
    return operator, account_id


async def published(world: World, operator: Principal, account_id: int, title: str) -> int:
    new = await world.services.posts.publish(
        operator, account_id, title=title, body="正文。", content_class="culture",
        source_post_id=None,
    )  # fmt: skip
    return new.post.id


async def approve(world: World, reviewer: Principal, post_id: int) -> None:
    (case_id,) = [
        case.id
        for case in await world.services.review.queue(
            reviewer, state="pending", source=None, overdue=False, offset=0, limit=10
        )
        if (case.row.target_type, case.row.target_id) == ("post", post_id)
    ]
    await world.services.review.decide(reviewer, [case_id], decision="approve", reason="fine")


async def test_a_post_approved_late_is_new_after_the_latest_the_reader_held(
    world: World, reviewer: Principal
) -> None:
    reader = await world.person("reader")
    operator, account_id = await followed_account(world, reviewer, reader)
    timeline = world.services.posts.timeline
    first = await published(world, operator, account_id, "春茶上市")
    held = await published(world, operator, account_id, HELD)
    later = await published(world, operator, account_id, "秋茶上市")
    polled = await timeline(reader, since=0, before=None, limit=20)
    assert [post.id for post in polled.posts] == [later, first]
    assert (await timeline(reader, since=polled.latest, before=None, limit=20)).posts == []

    await approve(world, reviewer, held)
    news = await timeline(reader, since=polled.latest, before=None, limit=20)
    assert [post.id for post in news.posts] == [held]
    assert (await timeline(reader, since=news.latest, before=None, limit=20)).posts == []
    # Newest published first, and the older page goes on from the last post's place.
    page = await timeline(reader, since=0, before=None, limit=2)
    assert [post.id for post in page.posts] == [held, later]
    rest = await timeline(reader, since=0, before=page.older, limit=2)
    assert ([post.id for post in rest.posts], rest.older) == ([first], None)


async def test_a_since_beyond_the_newest_publication_is_refused_though_a_post_has_that_id(
    world: World, reviewer: Principal
) -> None:
    """No answer gave out a `latest` that high: kept, it would skip the next posts published."""
    reader = await world.person("reader")
    operator, account_id = await followed_account(world, reviewer, reader)
    timeline = world.services.posts.timeline
    await published(world, operator, account_id, HELD)
    newest = await published(world, operator, account_id, "春茶上市")
    polled = await timeline(reader, since=0, before=None, limit=20)
    assert polled.latest == 1  # one post published: positions count publications, not ids
    assert newest == 2
    for since in (newest, polled.latest + 1):
        with pytest.raises(InvalidInput) as refused:
            await timeline(reader, since=since, before=None, limit=20)
        assert refused.value.code == ErrorCode.CURSOR_INVALID
    assert (await timeline(reader, since=polled.latest, before=None, limit=20)).posts == []
