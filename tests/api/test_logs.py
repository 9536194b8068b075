"""The server's log at its most talkative (`log_level = "debug"`): every line one JSON object,
every request one access line with its id, the id echoed to the client — and not one token,
password, identity datum or message text anywhere in it."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import pytest
import websockets

from tests.conftest import (
    PASSWORD,
    MakeStaff,
    MakeUser,
    Server,
    ServerPool,
    User,
    fresh_identity,
)
from tests.support import group_of, identity_secrets, leaks, report, sent

pytestmark = pytest.mark.http_layer  # the PostgreSQL run leaves it out (Makefile)


async def test_a_debug_log_holds_no_secret_and_one_access_line_per_request(
    servers: ServerPool, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    server = servers.start(log_level="debug")
    identity = fresh_identity()
    alice: User = await make_user("alice", on=server, identity=identity)
    bob: User = await make_user("bob", on=server)
    reviewer = await make_staff("reviewer", on=server)
    private = f"meet me at the old mill {uuid.uuid4().hex}"
    group = (await group_of(alice, "secret garden", bob))["id"]
    message = await sent(alice, group, private)
    detail = f"she keeps asking for money {uuid.uuid4().hex}"
    assert (await report(bob, "message", message["id"], "fraud", detail=detail)).status_code == 201
    async with websockets.connect(server.ws_url) as socket:
        await socket.send(json.dumps({"type": "auth", "token": bob.token}))
        await socket.recv()
        over_socket = f"over the socket {uuid.uuid4().hex}"
        await socket.send(
            json.dumps(
                {"type": "send", "conversation_id": group, "text": over_socket, "client_id": "w1"}
            )
        )
        await socket.recv()
    revealed = await reviewer.raw(
        "POST",
        f"/api/v1/admin/identities/{alice.id}/reveal",
        json={"reason": "case 118 fraud", "reference": "request:TEST-118"},
    )
    assert revealed.status_code == 200
    link = await alice.request("POST", f"/api/v1/conversations/{group}/links", json={})
    # A link made before links carried their token after `#` opens the app at its path.
    assert (await alice.raw("GET", f"/app/join/{link['token']}")).status_code == 200
    request_id = str(uuid.uuid4())
    answer = await alice.raw("GET", "/api/v1/me", headers={"X-Request-ID": request_id})
    assert answer.headers["x-request-id"] == request_id

    log = await log_naming(server, request_id)
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]
    assert any(line["level"] == "debug" for line in lines), "not a debug log"
    secrets = identity_secrets(identity) | {
        "a token": alice.token.encode(),
        "another token": bob.token.encode(),
        "a staff token": reviewer.token.encode(),
        "a password": PASSWORD.encode(),
        "message text": private.encode(),
        "message text over the socket": over_socket.encode(),
        "report detail": detail.encode(),
        "group title": b"secret garden",
        "a join link's token": link["token"].encode(),
    }
    assert leaks(log.encode(), secrets) == []
    access = [line for line in lines if line["logger"] == "townhall.access"]
    (mine,) = [line for line in access if line.get("request_id") == request_id]
    assert (mine["method"], mine["path"], mine["status"], mine["account_id"]) == (
        "GET",
        "/api/v1/me",
        200,
        alice.id,
    )
    assert all(line["event"] in ("request", "websocket") for line in access)
    assert any(line["event"] == "websocket" for line in access)
    security = [line["event"] for line in lines if line["logger"] == "townhall.security"]
    assert f"login: account={alice.id} address=127.0.0.1" in security
    assert (
        f"staff action: identity.reveal by account={reviewer.id} role=reviewer on user:{alice.id}"
        in security
    )


async def log_naming(server: Server, request_id: str) -> str:
    """The server's log once it holds the request's access line, which is written after the
    answer is sent (the client may read the log before it)."""
    deadline = time.monotonic() + 10
    while request_id not in (log := server.log()) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return log


async def test_a_refusal_by_permission_is_a_security_event(
    server: Server, make_user: MakeUser
) -> None:
    alice: User = await make_user("alice")
    refused = await alice.raw("GET", "/api/v1/admin/review/cases")
    assert refused.status_code == 403
    assert (
        f"permission refused: account={alice.id} role=user permission=read_review_queue"
        in server.log()
    )


@pytest.mark.parametrize("sent_id", [None, "not-a-uuid", "'; DROP TABLE x; --", "a" * 400])
async def test_a_request_without_a_uuid_for_its_id_is_given_a_new_one(
    server: Server, make_user: MakeUser, sent_id: str | None
) -> None:
    alice: User = await make_user("alice")
    headers = {} if sent_id is None else {"X-Request-ID": sent_id}
    answers = [await alice.raw("GET", "/api/v1/me", headers=headers) for _ in range(2)]
    given = [answer.headers["x-request-id"] for answer in answers]
    assert all(len(request_id) == 32 and int(request_id, 16) >= 0 for request_id in given)
    assert given[0] != given[1]
    log = await log_naming(server, given[1])
    (line,) = [json.loads(line) for line in log.splitlines() if given[1] in line]
    assert (line["logger"], line["path"], line["account_id"]) == (
        "townhall.access",
        "/api/v1/me",
        alice.id,
    )
    if sent_id is not None:
        assert sent_id not in log


async def test_a_sockets_lines_carry_its_request_id(server: Server, make_user: MakeUser) -> None:
    alice: User = await make_user("alice")
    request_id = str(uuid.uuid4())
    async with websockets.connect(
        server.ws_url, additional_headers={"X-Request-ID": request_id}
    ) as socket:
        await socket.send(json.dumps({"type": "auth", "token": alice.token}))
        await socket.recv()
    deadline = time.monotonic() + 10
    while not (closed := socket_lines(server, request_id)) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)  # the line is written once the server has seen the close
    assert [line["account_id"] for line in closed] == [alice.id]


def socket_lines(server: Server, request_id: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in server.log().splitlines() if request_id in line]
    return [line for line in lines if line["event"] == "websocket"]
