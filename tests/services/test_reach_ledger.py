"""The reach ledger at the real thresholds of the default pack (5,000 views, 500 forwarders):
thousands of views arrive at once and are group-committed, yet a post escalates exactly once,
at exactly the threshold; forwards count by distinct forwarder."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, insert, select

from tests.services.conftest import PASSWORD, World
from townhall.config import Settings
from townhall.domain.reach import evidence_digest
from townhall.services.posts import ForwardedPost, NewPost
from townhall.services.principal import Principal
from townhall.services.rendering import post_attachment
from townhall.store import posts as post_store
from townhall.store.database import Database, open_database
from townhall.store.posts import PostWithAccount
from townhall.store.reach import EscalationWithEvidence, StoredForward
from townhall.store.schema import accounts

VIEWS = 5000
FORWARDS = 500


@pytest.fixture
async def reviewer(world: World) -> Principal:
    await world.accounts.create_staff(handle="reviewer", password=PASSWORD, role="reviewer")
    token = (await world.accounts.log_in("reviewer", PASSWORD, address=None)).token
    return await world.accounts.authenticate(token)


@pytest.fixture
async def second_engine(tmp_path: Path, database_url: str | None) -> AsyncIterator[Database]:
    """A second engine on the world's database."""
    url = database_url or Settings(data_dir=tmp_path / "data").resolved_database_url
    database = open_database(url)
    yield database
    await database.dispose()


@pytest.fixture
def post_row(second_engine: Database) -> Any:
    """Reads a post as the ledger is handed it."""

    async def read(post_id: int) -> PostWithAccount:
        async with second_engine.reading() as conn:
            row = await post_store.get(conn, post_id)
        assert row is not None
        return row

    return read


async def bare_accounts(database: Database, count: int) -> list[int]:
    """Accounts that exist and nothing more, as forwarders (a registration each would take
    minutes)."""
    async with database.writing() as conn:
        first = (await conn.scalar(select(func.max(accounts.c.id)))) + 1
        ids = list(range(first, first + count))
        await conn.execute(
            insert(accounts),
            [
                {
                    "id": account_id,
                    "handle": f"forwarder{account_id}",
                    "display_name": "forwarder",
                    "password_hash": "!",
                    "status": "active",
                    "created_at": 0,
                }
                for account_id in ids
            ],
        )
    return ids


async def a_post(world: World, reviewer: Principal, handle: str) -> NewPost:
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
        reviewer, account.account.id, approve=True, reason=None, news_entitlement="none"
    )
    return await world.services.posts.publish(
        operator, account.account.id, title="据说", body="据说……", content_class="commentary",
        source_post_id=None,
    )  # fmt: skip


async def escalations_of(
    world: World, reviewer: Principal, post_id: int
) -> list[EscalationWithEvidence]:
    found = await world.services.reach.escalations(reviewer, after=0, limit=200)
    return [item for item in found if item.post_id == post_id]


async def test_the_5000th_distinct_viewer_escalates_the_post_once(
    world: World, reviewer: Principal, post_row: Any
) -> None:
    post = await post_row((await a_post(world, reviewer, "author")).post.id)
    ledger = world.services.reach

    seen = await asyncio.gather(*(ledger.record_view(post, viewer) for viewer in range(1, VIEWS)))
    assert max(reach.views for reach in seen) == VIEWS - 1
    assert await escalations_of(world, reviewer, post.id) == []

    # The 5,000th viewer arrives with a hundred who have seen it already.
    again = [ledger.record_view(post, viewer) for viewer in range(1, 101)]
    last = await asyncio.gather(ledger.record_view(post, VIEWS), *again)
    assert {reach.views for reach in last} == {VIEWS}
    (escalation,) = await escalations_of(world, reviewer, post.id)
    assert (escalation.measure, escalation.threshold) == ("views", VIEWS)
    assert escalation.count == VIEWS
    content = orjson.loads(escalation.snapshot_content)
    assert (content["title"], content["body"], content["reach"]["views"]) == (
        "据说",
        "据说……",
        VIEWS,
    )
    assert escalation.snapshot_sha256 == evidence_digest(content)

    await asyncio.gather(*(ledger.record_view(post, v) for v in range(VIEWS + 1, VIEWS + 201)))
    assert await escalations_of(world, reviewer, post.id) == [escalation]
    totals = await ledger.author_totals(reviewer, post.public_account_id)
    assert (totals.account.views, totals.account.forwards) == (VIEWS + 200, 0)

    # The escalation is a review case, due within the pack's hour; the author's yearly total
    # crossed the threshold with it, and the author is queued too.
    post_case, author_case = await world.services.review.queue(
        reviewer, state="pending", source="escalation", overdue=False, offset=0, limit=10
    )
    assert (post_case.row.target_type, post_case.row.target_id, post_case.sources) == (
        "post",
        post.id,
        ["escalation"],
    )
    assert (post_case.row.views, post_case.row.forwards) == (VIEWS, 0)
    assert post_case.content["text"] == "据说\n据说……"
    assert (author_case.row.target_type, author_case.row.target_id) == ("user", post.operator_id)


async def test_views_arriving_together_past_the_threshold_escalate_once(
    world: World, reviewer: Principal, post_row: Any
) -> None:
    post = await post_row((await a_post(world, reviewer, "author")).post.id)
    ledger = world.services.reach
    seen = await asyncio.gather(*(ledger.record_view(post, v) for v in range(1, VIEWS + 1001)))
    assert max(reach.views for reach in seen) == VIEWS + 1000
    assert (await post_row(post.id)).views == VIEWS + 1000
    (escalation,) = await escalations_of(world, reviewer, post.id)
    assert escalation.measure == "views"
    assert VIEWS <= escalation.count <= VIEWS + 1000
    assert orjson.loads(escalation.snapshot_content)["reach"]["views"] == escalation.count


async def test_the_500th_distinct_forwarder_escalates_the_post_once(
    world: World, reviewer: Principal, post_row: Any, second_engine: Database
) -> None:
    post = await post_row((await a_post(world, reviewer, "author")).post.id)
    alice, bob = await world.person("alice"), await world.person("bob")
    chat, _ = await world.messaging.open_direct(alice, bob.account_id)
    posts = world.services.posts
    others = await bare_accounts(second_engine, FORWARDS - 2)

    # Forwards recorded with real messages that alice sends (bare accounts cannot send), each
    # naming its forwarder: alice forwards it 500 times, then 498 others once each.
    ledger = world.services.reach

    async def sent_as(forwarder_id: int, n: int) -> StoredForward:
        appended = await world.messaging.send(
            alice,
            chat.id,
            text="据说",
            client_id=f"forward-{n}",
            written_with=ledger.forwarding(post, forwarder_id=forwarder_id, parent=None),
        )
        return await ledger.forward_in(
            post, appended.message, forwarder_id=forwarder_id, parent=None
        )

    alone = await asyncio.gather(*(sent_as(alice.account_id, n) for n in range(FORWARDS)))
    assert len({forward.id for forward in alone}) == FORWARDS
    assert await escalations_of(world, reviewer, post.id) == []  # one user is one forwarder
    reach = (await posts.read(bob, post.id)).reach
    assert (reach.forwards, reach.forwarders) == (FORWARDS, 1)
    await asyncio.gather(*(sent_as(f, FORWARDS + n) for n, f in enumerate(others)))
    assert await escalations_of(world, reviewer, post.id) == []

    async def forward(by: Principal, from_message_id: int | None = None) -> ForwardedPost:
        return await posts.forward(
            by, post.id, conversation_id=chat.id, from_message_id=from_message_id,
            client_id=None,
        )  # fmt: skip

    last = await forward(bob, alone[0].message_id)
    assert last.forward.depth == 2
    (escalation,) = await escalations_of(world, reviewer, post.id)
    assert (escalation.measure, escalation.threshold) == ("forwards", FORWARDS)
    assert escalation.count == FORWARDS  # distinct forwarders
    raw = FORWARDS + FORWARDS - 1  # alice's 500, the others' 498 and bob's
    evidence = orjson.loads(escalation.snapshot_content)
    assert evidence["reach"]["forwards"] == raw
    assert evidence["reach"]["forwarders"] == FORWARDS
    await asyncio.gather(forward(alice), forward(bob))
    assert await escalations_of(world, reviewer, post.id) == [escalation]
    reach = (await posts.read(bob, post.id)).reach
    assert (reach.forwards, reach.forwarders, reach.forward_depth) == (
        raw + 2,
        FORWARDS,
        2,
    )
    totals = await world.services.reach.author_totals(reviewer, post.public_account_id)
    account = totals.account
    assert (account.views, account.forwards, account.forwarders) == (1, raw + 2, FORWARDS)


async def test_a_forward_whose_message_was_stored_without_its_record_gets_it_when_resent(
    world: World, reviewer: Principal, post_row: Any
) -> None:
    """A forward sent before its record was written with its message, whose record a crash
    lost: the resend is answered with the stored message and records the forward, once."""
    post = await post_row((await a_post(world, reviewer, "author")).post.id)
    alice, bob = await world.person("alice"), await world.person("bob")
    chat, _ = await world.messaging.open_direct(alice, bob.account_id)
    lost = await world.messaging.send(
        alice, chat.id, text=post.title, client_id="fwd-1", attachment=post_attachment(post)
    )

    resent = [
        await world.services.posts.forward(
            alice, post.id, conversation_id=chat.id, from_message_id=None, client_id="fwd-1"
        )
        for _ in range(2)
    ]

    assert {answer.message.id for answer in resent} == {lost.message.id}
    assert resent[0].forward == resent[1].forward
    assert resent[0].forward.message_id == lost.message.id
    reach = (await world.services.posts.read(bob, post.id)).reach
    assert (reach.forwards, reach.forwarders) == (1, 1)
