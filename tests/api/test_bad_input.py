"""Bad input: always a 4xx with the error shape, never a 500, and never anything half-written."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import (
    AGREEMENT_VERSION,
    PASSWORD,
    MakeStaff,
    Server,
    User,
    fresh_identity,
    unique_handle,
)
from tests.support import assert_error, full_history, full_sync, latest_sms_code

BODY_LIMIT = 65_536
TOO_BIG_BODY = b'{"text":"' + b"a" * BODY_LIMIT + b'","client_id":"big-1"}'


async def in_chunks(data: bytes, size: int = 8192) -> AsyncIterator[bytes]:
    """A body sent with chunked transfer encoding: no Content-Length announces its size."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


Ask = Callable[[User, int], Awaitable[httpx.Response]]


def post_message(
    body: Any = None, *, content: bytes | None = None, chunked: bool = False, **headers: str
) -> Ask:
    async def ask(alice: User, chat: int) -> httpx.Response:
        path = f"/api/v1/conversations/{chat}/messages"
        if content is None:
            return await alice.raw("POST", path, json=body, headers=headers)
        sent = in_chunks(content) if chunked else content
        headers_sent = {"Content-Type": "application/json", **headers}
        return await alice.raw("POST", path, content=sent, headers=headers_sent)

    return ask


def call(method: str, path: str, **kwargs: Any) -> Ask:
    async def ask(alice: User, chat: int) -> httpx.Response:
        return await alice.raw(method, path.format(chat=chat), **kwargs)

    return ask


BAD_REQUESTS = [
    pytest.param(post_message(content=b'{"text": "hi", '), 400, "malformed_json", id="truncated"),
    pytest.param(post_message(content=b"hello"), 400, "malformed_json", id="not-json"),
    pytest.param(post_message(content=b"\xff\xfe{}"), 400, "malformed_json", id="not-utf8"),
    pytest.param(
        post_message({"text": 5, "client_id": "c-1"}), 400, "invalid_request", id="int-text"
    ),
    pytest.param(
        post_message({"text": "hi", "client_id": 7}), 400, "invalid_request", id="int-cid"
    ),
    pytest.param(
        post_message({"text": None, "client_id": "c-1"}), 400, "invalid_request", id="null"
    ),
    pytest.param(
        post_message({"text": "hi", "client_id": "c-1", "pin": True}),
        400,
        "invalid_request",
        id="unknown-field",
    ),
    pytest.param(post_message({"text": "hi"}), 400, "invalid_request", id="missing-field"),
    pytest.param(post_message(["hi", "c-1"]), 400, "invalid_request", id="array"),
    pytest.param(
        post_message(content=b'{"text":"hi","client_id":"c-1"}', **{"Content-Type": "text/plain"}),
        400,
        "invalid_request",
        id="text-plain",
    ),
    pytest.param(
        post_message(content=b'{"text":"\\ud800","client_id":"c-1"}'),
        400,
        "invalid_request",
        id="lone-surrogate",
    ),
    pytest.param(
        post_message(content=b"[" * 30_000 + b"]" * 30_000), 400, None, id="deeply-nested"
    ),
    pytest.param(post_message(content=TOO_BIG_BODY), 413, "body_too_large", id="big-body"),
    pytest.param(
        post_message(content=TOO_BIG_BODY, chunked=True),
        413,
        "body_too_large",
        id="big-chunked-body",
    ),
    pytest.param(
        post_message({"text": "中" * 2731, "client_id": "c-1"}),
        413,
        "message_too_large",
        id="8193-bytes",
    ),
    pytest.param(post_message({"text": "", "client_id": "c-1"}), 400, "text_empty", id="empty"),
    pytest.param(
        post_message({"text": " \n\t", "client_id": "c-1"}), 400, "text_empty", id="blank"
    ),
    pytest.param(
        post_message({"text": "a\u0000b", "client_id": "c-1"}), 400, "text_invalid", id="nul"
    ),
    pytest.param(
        post_message({"text": "hi", "client_id": ""}), 400, "client_id_invalid", id="no-cid"
    ),
    pytest.param(
        post_message({"text": "hi", "client_id": "two words"}),
        400,
        "client_id_invalid",
        id="cid-sp",
    ),
    pytest.param(
        post_message({"text": "hi", "client_id": "x" * 65}), 400, "client_id_invalid", id="cid-65"
    ),
    pytest.param(
        post_message({"text": "hi", "client_id": "x" * 2000}), 400, "invalid_request", id="cid-2000"
    ),
    pytest.param(
        call(
            "POST", f"/api/v1/conversations/{2**70}/messages", json={"text": "hi", "client_id": "a"}
        ),
        400,
        "invalid_request",
        id="huge-conversation-id",
    ),
    pytest.param(
        call("GET", "/api/v1/conversations/0/messages"), 400, "invalid_request", id="id-0"
    ),
    pytest.param(
        call("GET", "/api/v1/conversations/-1/messages"), 400, "invalid_request", id="id-neg"
    ),
    pytest.param(call("GET", "/api/v1/conversations/abc"), 400, "invalid_request", id="id-abc"),
    pytest.param(
        call("GET", "/api/v1/conversations/{chat}/messages", params={"cursor": 2**70}),
        400,
        "cursor_invalid",
        id="huge-cursor",
    ),
    pytest.param(
        call("GET", "/api/v1/sync", params={"since": 2**70}),
        400,
        "invalid_request",
        id="huge-since",
    ),
    pytest.param(
        call("POST", "/api/v1/conversations", json={"kind": "direct", "user_id": 2**70}),
        400,
        "invalid_request",
        id="huge-user-id",
    ),
    pytest.param(
        call(
            "POST",
            "/api/v1/conversations",
            json={"kind": "group", "title": "t", "member_ids": [1, 2**70]},
        ),
        400,
        "invalid_request",
        id="huge-member-id",
    ),
    pytest.param(
        call("POST", "/api/v1/conversations", json={"kind": "channel", "title": "t"}),
        400,
        "invalid_request",
        id="unknown-kind",
    ),
    pytest.param(
        call(
            "POST", "/api/v1/conversations", json={"kind": "group", "title": " ", "member_ids": []}
        ),
        400,
        "title_invalid",
        id="blank-title",
    ),
    pytest.param(
        call(
            "POST",
            "/api/v1/conversations",
            json={"kind": "group", "title": "x" * 129, "member_ids": []},
        ),
        400,
        "title_invalid",
        id="long-title",
    ),
    pytest.param(
        call(
            "POST",
            "/api/v1/conversations/{chat}/messages",
            json={"text": "hi", "client_id": "c-1"},
            headers={"Authorization": ""},
        ),
        401,
        "token_missing",
        id="no-token",
    ),
    pytest.param(
        call("GET", "/api/v1/sync", headers={"Authorization": "Basic YWxpY2U6cHc="}),
        401,
        "token_missing",
        id="basic-auth",
    ),
    pytest.param(
        call(
            "POST",
            "/api/v1/conversations/{chat}/messages",
            json={"text": "hi", "client_id": "c-1"},
            headers={"Authorization": "Bearer not-a-token"},
        ),
        401,
        "token_invalid",
        id="garbage-token",
    ),
    pytest.param(
        call("GET", "/api/v1/me", headers={"Authorization": "Bearer " + "a" * 4000}),
        401,
        "token_invalid",
        id="long-token",
    ),
    # A boolean or a numeral string is no id: pydantic would read `true` as user 1.
    pytest.param(
        call("POST", "/api/v1/conversations", json={"kind": "direct", "user_id": True}),
        400,
        "invalid_request",
        id="id-true",
    ),
    pytest.param(
        call("POST", "/api/v1/conversations", json={"kind": "direct", "user_id": "1"}),
        400,
        "invalid_request",
        id="id-string",
    ),
    # PostgreSQL's text holds no NUL: a query or path with one is refused before any route.
    pytest.param(
        call("GET", "/api/v1/search/messages?q=a%00b"), 400, "invalid_request", id="query-nul"
    ),
    pytest.param(
        call("GET", "/api/v1/search/posts", params={"q": "a\u0000b"}),
        400,
        "invalid_request",
        id="query-nul-encoded",
    ),
    pytest.param(call("GET", "/api/v1/conversations/%00"), 400, "invalid_request", id="path-nul"),
    pytest.param(call("GET", "/api/v1/no-such-thing"), 404, "not_found", id="unknown-route"),
    pytest.param(call("POST", "/api/v2/sync"), 404, "not_found", id="unknown-version"),
    pytest.param(call("PUT", "/api/v1/me"), 405, "method_not_allowed", id="wrong-method"),
]


@pytest.fixture
async def chat(alice: User, bob: User) -> int:
    conversation_id = (await alice.open_direct(bob.id))["id"]
    await bob.send(conversation_id, "before the bad request", "before-1")
    return conversation_id


async def what_they_see(alice: User, bob: User, chat: int) -> tuple:
    alice_events, _ = await full_sync(alice)
    bob_events, _ = await full_sync(bob)
    return alice_events, bob_events, await full_history(alice, chat)


@pytest.mark.parametrize(("ask", "status", "code"), BAD_REQUESTS)
async def test_bad_input_is_refused_and_writes_nothing(
    alice: User, bob: User, chat: int, ask: Ask, status: int, code: str | None
) -> None:
    before = await what_they_see(alice, bob, chat)

    answer = await ask(alice, chat)

    assert_error(answer, status, code)
    assert await what_they_see(alice, bob, chat) == before
    # The client_id of a refused message is still free: nothing kept it.
    sent = await alice.send(chat, "after the bad request", "c-1")
    assert sent["seq"] == 2


def identity_with(**changes: object) -> dict[str, object]:
    """A registration change: a fresh valid identity with some fields replaced or removed."""
    identity: dict[str, object] = {**fresh_identity(), **changes}
    return {"identity": {k: v for k, v in identity.items() if v is not None}}


IDENTITY_REFUSALS = {"id_type_invalid", "identity_invalid"}


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"handle": "x"}, "handle_invalid"),
        ({"handle": "has space"}, "handle_invalid"),
        ({"password": "short"}, "password_invalid"),
        ({"display_name": " "}, "display_name_invalid"),
        ({"display_name": "x" * 65}, "display_name_too_long"),
        (identity_with(phone=None), "invalid_request"),
        (identity_with(id_type="dl"), "id_type_invalid"),
        (identity_with(legal_name=" "), "identity_invalid"),
        ({"identity": None}, "invalid_request"),
        ({"agreement_version": "v" * 65}, "invalid_request"),
        ({"role": "admin"}, "invalid_request"),
    ],
)
async def test_a_refused_registration_leaves_no_account(
    server: Server, changes: dict, code: str | None
) -> None:
    handle = unique_handle("newbie")
    identity = fresh_identity()
    body = {
        "handle": handle,
        "password": PASSWORD,
        "display_name": "Newbie",
        "identity": identity,
        "agreement_version": AGREEMENT_VERSION,
        **changes,
    }
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answer = await http.post("/api/v1/accounts", json=body)
        # A refused identity is a 422; a malformed request a 400.
        assert_error(answer, 422 if code in IDENTITY_REFUSALS else 400, code)
        login = await http.post("/api/v1/sessions", json={"handle": handle, "password": PASSWORD})
        assert_error(login, 401, "login_failed")
        # Neither the handle nor the identity was taken by the refused attempt.
        again = await http.post(
            "/api/v1/accounts",
            json={
                "handle": handle,
                "password": PASSWORD,
                "display_name": "Newbie",
                "identity": identity,
                "agreement_version": AGREEMENT_VERSION,
            },
        )
        assert again.status_code == 201, again.text


@pytest.fixture(scope="module")
def solo_chat(server: Server) -> Iterator[tuple[httpx.Client, int]]:
    """A user alone in a group, for fuzzing without async fixtures (hypothesis reruns the test)."""
    with httpx.Client(base_url=server.base_url) as http:
        handle = unique_handle("fuzz")
        registered = http.post(
            "/api/v1/accounts",
            json={
                "handle": handle,
                "password": PASSWORD,
                "display_name": "Fuzz",
                "identity": fresh_identity(),
                "agreement_version": AGREEMENT_VERSION,
            },
        )
        registered.raise_for_status()
        login = http.post("/api/v1/sessions", json={"handle": handle, "password": PASSWORD})
        token = login.json()["token"]
        http.headers["Authorization"] = f"Bearer {token}"
        # A group needs a confirmed phone (the stand-in provider verified the identity).
        http.post("/api/v1/me/phone/code").raise_for_status()
        code = latest_sms_code(server.data_dir, registered.json()["id"])
        http.post("/api/v1/me/phone/verify", json={"code": code}).raise_for_status()
        group = http.post(
            "/api/v1/conversations", json={"kind": "group", "title": "solo", "member_ids": []}
        ).json()
        yield http, group["id"]


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=10,
)
message_bodies = json_values | st.fixed_dictionaries(
    {"text": json_values, "client_id": json_values}, optional={"extra": json_values}
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=message_bodies)
def test_no_message_body_makes_the_server_fail(
    solo_chat: tuple[httpx.Client, int], body: Any
) -> None:
    http, conversation_id = solo_chat
    answer = http.post(f"/api/v1/conversations/{conversation_id}/messages", json=body)
    if answer.status_code not in (200, 201):
        assert_error(answer, answer.status_code)
        assert 400 <= answer.status_code < 500


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=json_values
    | st.fixed_dictionaries(
        {"kind": json_values},
        optional={"user_id": json_values, "title": json_values, "member_ids": json_values},
    )
)
def test_no_conversation_body_makes_the_server_fail(
    solo_chat: tuple[httpx.Client, int], body: Any
) -> None:
    http, _ = solo_chat
    answer = http.post("/api/v1/conversations", json=body)
    if answer.status_code not in (200, 201):
        assert_error(answer, answer.status_code)
        assert 400 <= answer.status_code < 500


async def test_every_list_refuses_a_limit_out_of_range_with_one_code(
    alice: User, make_staff: MakeStaff
) -> None:
    """Walked from the OpenAPI document: a route's own bounds and its service's say the same, to
    each role that may read the list (to the others, that they may not)."""
    callers = [alice, await make_staff("admin"), await make_staff("auditor")]
    spec = await alice.request("GET", "/openapi.json")
    lists = [
        path
        for path, operations in spec["paths"].items()
        if any(p["name"] == "limit" for p in operations.get("get", {}).get("parameters", []))
    ]
    assert len(lists) >= 20
    for path in lists:
        url = re.sub(r"\{[^}]+\}", "1", path)
        required = {
            p["name"]: "x" for p in spec["paths"][path]["get"]["parameters"] if p.get("required")
        }
        for limit in (0, -1, 10**6):
            codes = {
                (await caller.raw("GET", url, params={**required, "limit": limit})).json()["error"][
                    "code"
                ]
                for caller in callers
            }
            assert "limit_invalid" in codes, (path, limit, codes)
            assert codes <= {"limit_invalid", "role_required"}, (path, limit, codes)
