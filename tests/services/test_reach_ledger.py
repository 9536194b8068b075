"""The reach ledger at the real thresholds of the default pack (5,000 views, 500 forwards):
thousands of views arrive at once and are group-committed, yet a post escalates exactly once,
at exactly the threshold."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Row

from tests.services.conftest import PASSWORD, World
from townhall.config import Settings
from townhall.domain.reach import evidence_digest
from townhall.services.principal import Principal
from townhall.store import posts as post_store
from townhall.store.database import open_database

VIEWS = 5000
FORWARDS = 500


@pytest.fixture
async def reviewer(world: World) -> Principal:
    await world.accounts.create_staff(handle="reviewer", password=PASSWORD, role="reviewer")
    token = (await world.accounts.log_in("reviewer", PASSWORD)).token
    return await world.accounts.authenticate(token)


@pytest.fixture
async def post_row(tmp_path: Path) -> AsyncIterator[Any]:
    """Reads a post as the ledger is handed it, through a second engine on the same file."""
    settings = Settings(data_dir=tmp_path / "data")
    database = open_database(settings.resolved_database_url)

    async def read(post_id: int) -> Row:
        async with database.reading() as conn:
            row = await post_store.get(conn, post_id)
        assert row is not None
        return row

    yield read
    await database.dispose()


async def a_post(world: World, reviewer: Principal, handle: str) -> dict[str, Any]:
    operator = await world.person(handle)
    account = await world.services.public_accounts.apply(
        operator,
        name=f"读书会{handle}",
        category="individual",
        account_type="subscription",
        description="",
        entity_name=None,
        registration=None,
        news_licence=None,
    )
    await world.services.public_accounts.decide(
        reviewer, account["id"], approve=True, reason=None, news_entitlement="none"
    )
    return await world.services.posts.publish(
        operator, account["id"], title="据说", body="据说……", content_class="commentary",
        source_post_id=None,
    )  # fmt: skip


async def escalations_of(world: World, reviewer: Principal, post_id: int) -> list[dict]:
    found = await world.services.reach.escalations(reviewer, after=0, limit=200)
    return [item for item in found if item["post_id"] == post_id]


async def test_the_5000th_distinct_viewer_escalates_the_post_once(
    world: World, reviewer: Principal, post_row: Any
) -> None:
    post = await post_row((await a_post(world, reviewer, "author"))["id"])
    ledger = world.services.reach

    seen = await asyncio.gather(*(ledger.record_view(post, viewer) for viewer in range(1, VIEWS)))
    assert max(reach.views for reach in seen) == VIEWS - 1
    assert await escalations_of(world, reviewer, post.id) == []

    # The 5,000th viewer arrives with a hundred who have seen it already.
    again = [ledger.record_view(post, viewer) for viewer in range(1, 101)]
    last = await asyncio.gather(ledger.record_view(post, VIEWS), *again)
    assert {reach.views for reach in last} == {VIEWS}
    (escalation,) = await escalations_of(world, reviewer, post.id)
    assert (escalation["measure"], escalation["threshold"]) == ("views", VIEWS)
    assert escalation["count"] == VIEWS
    content = escalation["snapshot"]["content"]
    assert (content["title"], content["body"], content["reach"]["views"]) == (
        "据说",
        "据说……",
        VIEWS,
    )
    assert escalation["snapshot"]["sha256"] == evidence_digest(content)

    await asyncio.gather(*(ledger.record_view(post, v) for v in range(VIEWS + 1, VIEWS + 201)))
    assert await escalations_of(world, reviewer, post.id) == [escalation]
    totals = await ledger.author_totals(reviewer, post.public_account_id)
    assert (totals["views"], totals["forwards"]) == (VIEWS + 200, 0)

    # The escalation is a review case, due within the pack's hour.
    (case,) = await world.services.review.queue(
        reviewer, state="pending", source="escalation", overdue=False, offset=0, limit=10
    )
    assert (case["target"], case["sources"]) == ({"type": "post", "id": post.id}, ["escalation"])
    assert case["reach"] == {"views": VIEWS, "forwards": 0}
    assert case["content"]["text"] == "据说\n据说……"


async def test_views_arriving_together_past_the_threshold_escalate_once(
    world: World, reviewer: Principal, post_row: Any
) -> None:
    post = await post_row((await a_post(world, reviewer, "author"))["id"])
    ledger = world.services.reach
    seen = await asyncio.gather(*(ledger.record_view(post, v) for v in range(1, VIEWS + 1001)))
    assert max(reach.views for reach in seen) == VIEWS + 1000
    assert (await post_row(post.id)).views == VIEWS + 1000
    (escalation,) = await escalations_of(world, reviewer, post.id)
    assert escalation["measure"] == "views"
    assert VIEWS <= escalation["count"] <= VIEWS + 1000
    assert escalation["snapshot"]["content"]["reach"]["views"] == escalation["count"]


async def test_the_500th_forward_escalates_the_post_once(
    world: World, reviewer: Principal, post_row: Any
) -> None:
    post = await post_row((await a_post(world, reviewer, "author"))["id"])
    alice, bob = await world.person("alice"), await world.person("bob")
    chat, _ = await world.messaging.open_direct(alice, bob.account_id)
    posts = world.services.posts

    # 499 forwards straight into the ledger, each with a real message (one group commit of
    # messages, where forwarding through PostService would interleave 499 small ones).
    sent = await asyncio.gather(
        *(
            world.messaging.send(alice, chat["id"], text="据说", client_id=f"forward-{n}")
            for n in range(FORWARDS - 1)
        )
    )
    recorded = await asyncio.gather(
        *(
            world.services.reach.record_forward(
                post,
                forwarder_id=alice.account_id,
                conversation_id=chat["id"],
                message_id=appended.message.id,
                parent=None,
            )
            for appended in sent
        )
    )
    assert len({forward.id for forward in recorded}) == FORWARDS - 1
    assert await escalations_of(world, reviewer, post.id) == []

    async def forward(by: Principal, from_message_id: int | None = None) -> dict[str, Any]:
        return await posts.forward(
            by, post.id, conversation_id=chat["id"], from_message_id=from_message_id,
            client_id=None,
        )  # fmt: skip

    last = await forward(bob, sent[0].message.id)
    assert last["forward"]["depth"] == 2
    (escalation,) = await escalations_of(world, reviewer, post.id)
    assert (escalation["measure"], escalation["threshold"]) == ("forwards", FORWARDS)
    assert escalation["count"] == FORWARDS
    assert escalation["snapshot"]["content"]["reach"]["forwards"] == FORWARDS
    await asyncio.gather(forward(alice), forward(bob))
    assert await escalations_of(world, reviewer, post.id) == [escalation]
    reach = (await posts.read(bob, post.id))["reach"]
    assert (reach["forwards"], reach["forward_depth"]) == (FORWARDS + 2, 2)
    totals = await world.services.reach.author_totals(reviewer, post.public_account_id)
    assert (totals["views"], totals["forwards"]) == (1, FORWARDS + 2)
