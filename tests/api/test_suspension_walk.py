"""A suspension of updates stops everything a user publishes or changes of themselves (messages,
groups, posts, public accounts, the profile) until it ends: every write route of the API, walked
from the OpenAPI document so that a new route cannot slip past, refuses it with 403
`updates_suspended`, unless this module names it among what a suspended account still does."""

from __future__ import annotations

import json

import pytest

from tests.conftest import MakeUser, User
from tests.support import (
    OPEN_TO_CLOSED,
    STAFF_PREFIXES,
    WRITE_METHODS,
    applied,
    assert_error,
    openapi_routes,
    walk_write_routes,
    world_of,
)

pytestmark = pytest.mark.usefixtures("no_server_errors")

# What a suspended account still does: read, follow, report, keep its contacts and its groups in
# order, join where it is asked, and take its own content down. What a closed account may
# (log out, leave, secure itself, appeal) is left out of the walk: it would end the session.
SUSPENDED_MAY = {
    ("POST", "/api/v1/agreement/accept"),
    ("POST", "/api/v1/me/phone/code"),
    ("POST", "/api/v1/me/phone/verify"),
    ("POST", "/api/v1/me/identity/check"),
    ("POST", "/api/v1/invitations/{conversation_id}/accept"),
    ("POST", "/api/v1/invitations/{conversation_id}/decline"),
    ("POST", "/api/v1/conversations/{conversation_id}/read"),
    ("POST", "/api/v1/conversations/{conversation_id}/leave"),
    ("DELETE", "/api/v1/conversations/{conversation_id}/members/{user_id}"),
    ("PUT", "/api/v1/conversations/{conversation_id}/admins/{user_id}"),
    ("DELETE", "/api/v1/conversations/{conversation_id}/admins/{user_id}"),
    ("PUT", "/api/v1/conversations/{conversation_id}/mutes/{user_id}"),
    ("DELETE", "/api/v1/conversations/{conversation_id}/mutes/{user_id}"),
    ("POST", "/api/v1/conversations/{conversation_id}/owner"),
    ("DELETE", "/api/v1/conversations/{conversation_id}"),
    ("DELETE", "/api/v1/conversations/{conversation_id}/links/{link_id}"),
    ("POST", "/api/v1/join-links/preview"),
    ("POST", "/api/v1/join-links/join"),
    ("POST", "/api/v1/conversations/{conversation_id}/join-requests/{user_id}/approve"),
    ("POST", "/api/v1/conversations/{conversation_id}/join-requests/{user_id}/decline"),
    ("POST", "/api/v1/contacts/search/handle"),
    ("POST", "/api/v1/contacts/search/phone"),
    ("PUT", "/api/v1/contacts/privacy"),
    ("POST", "/api/v1/friend-requests"),  # without a greeting: with one it is a direct send
    ("POST", "/api/v1/friend-requests/{user_id}/accept"),
    ("POST", "/api/v1/friend-requests/{user_id}/decline"),
    ("POST", "/api/v1/friend-requests/{user_id}/ignore"),
    ("PUT", "/api/v1/contacts/{user_id}/remark"),
    ("DELETE", "/api/v1/contacts/{user_id}"),
    ("PUT", "/api/v1/contacts/{user_id}/block"),
    ("DELETE", "/api/v1/contacts/{user_id}/block"),
    ("PUT", "/api/v1/public-accounts/{public_account_id}/subscription"),
    ("DELETE", "/api/v1/public-accounts/{public_account_id}/subscription"),
    ("DELETE", "/api/v1/posts/{post_id}"),
    ("POST", "/api/v1/posts/{post_id}/forwards"),
    ("POST", "/api/v1/reports"),
}


async def test_a_suspended_account_is_refused_every_update_and_keeps_the_rest(
    make_user: MakeUser, reviewer: User
) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    world = await world_of(alice, bob, reviewer)
    await applied(reviewer, "user", alice.id, "suspend_updates", days=1)

    # The updates first: what the kept routes do (a group dissolved, a member removed) must not
    # change what the refused ones answer.
    refused = []
    async for method, path, answer in walk_write_routes(
        alice, world, leaving_out=OPEN_TO_CLOSED | SUSPENDED_MAY
    ):
        if path.startswith(STAFF_PREFIXES):
            continue
        if json.loads(answer.request.content or b"{}").get("kind") == "direct":
            assert answer.status_code == 201, answer.text  # opening a chat is no update
            continue
        assert answer.status_code == 403, (method, path, answer.text)
        assert_error(answer, 403, "updates_suspended")
        refused.append((method, path))
    assert ("POST", "/api/v1/conversations/{conversation_id}/messages") in refused
    assert ("PATCH", "/api/v1/me") in refused and len(refused) >= 8

    every_route = set(openapi_routes(world.spec, WRITE_METHODS))
    kept = []
    async for method, path, answer in walk_write_routes(
        alice, world, leaving_out=every_route - SUSPENDED_MAY
    ):
        refusal = answer.status_code == 403 and answer.json()["error"]["code"]
        assert refusal != "updates_suspended", (method, path)
        kept.append((method, path))
    assert set(kept) == SUSPENDED_MAY
