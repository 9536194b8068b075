"""A closed account may log in, read its notices, appeal and leave, and nothing else: every write
route of the API, walked from the OpenAPI document so that a new route cannot slip past, refuses
it with 403."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import MakeUser, User
from tests.support import (
    WRITE_METHODS,
    account_name,
    applied,
    assert_error,
    full_sync,
    notices_of,
    openapi_routes,
    public_account,
    query_parameters,
    request_bodies,
)

pytestmark = pytest.mark.usefixtures("no_server_errors")

# What a closed account may still do: leave, log out, secure itself (change its password, end
# its sessions: tests/api/test_account_security.py) and appeal (logging in and registering take
# no token).
OPEN_TO_CLOSED = {
    ("POST", "/api/v1/accounts"),
    ("POST", "/api/v1/sessions"),
    ("DELETE", "/api/v1/sessions/current"),
    ("POST", "/api/v1/me/password"),
    ("DELETE", "/api/v1/me/sessions/{session_id}"),
    ("DELETE", "/api/v1/me"),
    ("POST", "/api/v1/appeals"),
}
STAFF_PREFIXES = ("/api/v1/admin/", "/api/v1/audit/")


async def test_a_closed_account_is_refused_every_write_route_but_leaving_and_appealing(
    make_user: MakeUser, reviewer: User, admin: User
) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    chat = (await alice.open_direct(bob.id))["id"]
    account = await public_account(alice, reviewer)
    post = await alice.request(
        "POST",
        f"/api/v1/public-accounts/{account['id']}/posts",
        json={"title": "春茶上市", "body": "春茶上市。正文。", "content_class": "culture"},
    )
    closure = await applied(admin, "user", alice.id, "close", reason="a fraud ring")

    spec = await alice.request("GET", "/openapi.json")
    ids = {
        "conversation_id": chat,
        "public_account_id": account["id"],
        "post_id": post["id"],
        "user_id": bob.id,
        "sanction_id": closure["id"],
    }
    fields: dict[str, Any] = {
        **ids,
        "member_ids": [bob.id],
        "title": "茶话会",
        "text": "你好",
        "client_id": uuid.uuid4().hex,
        "name": account_name(),
        "category": "individual",
        "account_type": "subscription",
        "content_class": "culture",
        "target_type": "user",
        "target_id": bob.id,
        "display_name": "Alice",
        "token": "a1b2c3",  # a join link's, well formed
    }
    walked = []
    for method, path in openapi_routes(spec, WRITE_METHODS):
        if (method, path) in OPEN_TO_CLOSED:
            continue
        url = path.format(**{name: ids.get(name, 1) for name in _parameters(path)})
        params = query_parameters(spec, method, path, fields)
        for body in request_bodies(spec, method, path, fields):
            answer = await alice.raw(method, url, json=body, params=params)
            staff = path.startswith(STAFF_PREFIXES)
            assert_error(answer, 403, "role_required" if staff else "account_closed")
            walked.append((method, path))
    assert ("POST", "/api/v1/reports") in walked and len(walked) > 20

    # What stays open: the notice, the appeal, logging out and leaving.
    assert notices_of((await full_sync(alice))[0], "sanction_applied")
    appeal = await alice.request(
        "POST", "/api/v1/appeals", json={"sanction_id": closure["id"], "statement": "误会"}
    )
    assert appeal["state"] == "pending"
    assert (await alice.raw("DELETE", "/api/v1/me")).status_code == 204


async def test_over_the_websocket_a_closed_account_sends_nothing(
    alice: User, bob: User, admin: User
) -> None:
    chat = (await alice.open_direct(bob.id))["id"]
    await applied(admin, "user", alice.id, "close")
    async with alice.websocket() as socket:
        client_id = await socket.send_message(chat, "你好")
        while True:
            frame = await socket.receive()
            if frame.get("client_id") == client_id:
                break
    assert frame["type"] == "error" and frame["error"]["code"] == "account_closed", frame
    assert_error(await alice.raw("POST", "/api/v1/me/phone/code"), 403, "account_closed")


def _parameters(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]
