"""Corrections are committed with the decision and delivered after it: a correction cut short
(the server stopped mid-way) is finished later, and nobody is told twice."""

from __future__ import annotations

from typing import Any

import pytest

from tests.services.conftest import PASSWORD, World
from townhall.domain.review import Correction
from townhall.services import corrections as corrections_module
from townhall.services.principal import Principal
from townhall.store.posts import PostWithAccount

STATEMENT = "经核实此为谣言"


@pytest.fixture
async def reviewer(world: World) -> Principal:
    await world.accounts.create_staff(handle="reviewer", password=PASSWORD, role="reviewer")
    token = (await world.accounts.log_in("reviewer", PASSWORD, address=None)).token
    return await world.accounts.authenticate(token)


async def a_post(world: World, reviewer: Principal) -> PostWithAccount:
    operator = await world.person("operator")
    accounts = world.services.public_accounts
    account = await accounts.apply(
        operator, name="谣言工厂", category="individual", account_type="subscription",
        description="", entity_name=None, registration=None, news_licence=None,
    )  # fmt: skip
    await accounts.decide(
        reviewer, account.account.id, approve=True, reason=None, news_entitlement="none"
    )
    new = await world.services.posts.publish(
        operator, account.account.id, title="据说停水", body="转发。", content_class="culture",
        source_post_id=None,
    )  # fmt: skip
    return new.post


async def told(world: World, user: Principal) -> list[dict[str, Any]]:
    events, _ = await world.sync.events_since(user, 0)
    return [event["correction"] for event in events if event["type"] == "correction"]


async def test_a_correction_cut_short_is_finished_and_tells_nobody_twice(
    world: World, reviewer: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    post = await a_post(world, reviewer)
    readers = [await world.person(f"reader{n}") for n in range(5)]
    for reader in readers:
        await world.services.posts.read(reader, post.id)
    await world.services.reports.report(
        readers[0], target_type="post", target_id=post.id, reason="rumour", detail=None
    )
    (case_id,) = [
        c.id
        for c in await world.services.review.queue(
            reviewer, state="pending", source=None, overdue=False, offset=0, limit=10
        )
        if (c.row.target_type, c.row.target_id) == ("post", post.id)
    ]
    await world.services.review.decide(
        reviewer,
        [case_id],
        decision="remove",
        reason="fabricated",
        category="rumour",
        correction=Correction(STATEMENT),
    )
    # Committed with the decision; no worker runs here, so no one is told yet.
    assert [await told(world, reader) for reader in readers] == [[]] * 5

    # Two readers a slice; the delivery stops after the first slice, as a crash would.
    monkeypatch.setattr(corrections_module, "SLICE", 2)
    service = world.services.corrections
    tell = service._tell
    slices = 0

    async def crash_after_one_slice(*args: Any) -> None:
        nonlocal slices
        slices += 1
        if slices > 1:
            raise RuntimeError("the server stopped")
        await tell(*args)

    monkeypatch.setattr(service, "_tell", crash_after_one_slice)
    with pytest.raises(RuntimeError):
        await service.deliver_owed()
    assert [len(await told(world, reader)) for reader in readers] == [1, 1, 0, 0, 0]

    monkeypatch.setattr(service, "_tell", tell)
    assert await service.deliver_owed() == 1
    assert await service.deliver_owed() == 0  # delivered: nothing owed any more
    for reader in readers:
        (correction,) = await told(world, reader)
        assert correction["statement"] == STATEMENT
    shown = await world.services.review.case(reviewer, case_id)
    (correction,) = shown.corrections
    assert correction.noticed == 5 and correction.done_at is not None
