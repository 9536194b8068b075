"""Permissions are the services' own: called with no HTTP in between, as the WebSocket, the
command line or any later transport calls them, a use case refuses a role without the
permission it needs, and the read-only auditor every write."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.services.conftest import PASSWORD, World
from townhall.domain.errors import Forbidden
from townhall.services.principal import Principal


async def staff(world: World, role: str) -> Principal:
    handle = f"{role}-one"
    await world.accounts.create_staff(handle=handle, password=PASSWORD, role=role)
    token = (await world.accounts.log_in(handle, PASSWORD, address=None)).token
    return await world.accounts.authenticate(token)


async def test_the_auditor_changes_nothing_whatever_it_calls(world: World) -> None:
    alice, bob = await world.person("alice"), await world.person("bob")
    auditor = await staff(world, "auditor")
    chat, _ = await world.messaging.open_direct(alice, bob.account_id)
    services = world.services
    writes: list[Callable[[], Awaitable[Any]]] = [
        lambda: world.messaging.send(auditor, chat.id, text="hello", client_id="a1"),
        lambda: world.messaging.open_direct(auditor, alice.account_id),
        lambda: services.groups.create(auditor, title="tea", description="", member_ids=[]),
        lambda: services.reports.report(
            auditor, target_type="user", target_id=alice.account_id, reason="fraud", detail=None
        ),
        lambda: services.appeals.file(auditor, sanction_id=1, case_id=None, statement="not me"),
        lambda: world.accounts.update_profile(auditor, display_name="Auditor", bio=None),
        lambda: world.accounts.deregister(auditor),
        lambda: services.review.decide(auditor, [1], decision="approve", reason="no violation"),
        lambda: services.enforcement.lift(auditor, 1, "the appeal was upheld"),
    ]
    for write in writes:
        with pytest.raises(Forbidden) as refused:
            await write()
        assert refused.value.code == "read_only_role"
    assert (await world.messaging.history(bob, chat.id, before=None, limit=10)) == []
    # What it may not read is refused as such; what it may read, it reads.
    with pytest.raises(Forbidden) as refused:
        await services.review.queue(
            auditor, state="pending", source=None, overdue=False, offset=0, limit=10
        )
    assert refused.value.code == "role_required"
    assert isinstance(await services.audit_log.rows(auditor, after=0, limit=10), list)


async def test_a_role_without_the_permission_is_refused_by_the_use_case(world: World) -> None:
    alice = await world.person("alice")
    reviewer = await staff(world, "reviewer")
    services = world.services
    calls: list[Callable[[], Awaitable[Any]]] = [
        lambda: services.review.decide(alice, [1], decision="approve", reason="no violation"),
        lambda: world.identity.reveal(
            alice, alice.account_id, "curious about her", "request:TEST-118"
        ),
        lambda: world.identity.blacklist(reviewer, alice.account_id, "a fraud ring"),
        lambda: services.moderation.add_term(
            reviewer, text="代开发票", category="fraud", severity="high"
        ),
    ]
    for call in calls:
        with pytest.raises(Forbidden) as refused:
            await call()
        assert refused.value.code == "role_required"
