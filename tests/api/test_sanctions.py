"""Sanctions: each one withholds exactly what it should, on HTTP and the WebSocket alike, and
nothing more; timed ones end by themselves; the ladder and the credit band follow the strikes
that decided cases give; the EU pack wants a warning first; bad requests are refused plainly
and every apply and lift leaves one audit row."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import (
    MakeStaff,
    MakeUser,
    Server,
    ServerPool,
    User,
    fresh_identity,
    post_registration,
)
from tests.support import (
    FLAGGED,
    SANCTIONS,
    applied,
    assert_error,
    case_of,
    decided_case,
    full_history,
    full_sync,
    group_of,
    lift,
    lifted,
    notices_of,
    public_account,
    query_db,
    sanction,
    send,
    sent,
    standing,
    subscribed_account,
    tagged,
)
from townhall.client import LiveSocket
from townhall.packs import load_pack

pytestmark = pytest.mark.usefixtures("no_server_errors")

WAIT = 10  # seconds: generous, only reached when something is wrong
GROUND = load_pack("cn-2014").enforcement.ground


# Helpers ------------------------------------------------------------------------------------------


def in_seconds(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


async def ws_send(socket: LiveSocket, conversation_id: int, text: str = "你好") -> dict[str, Any]:
    """The ack or error frame that answers one send over the WebSocket."""
    client_id = await socket.send_message(conversation_id, text)
    while True:
        frame = await asyncio.wait_for(socket.receive(), WAIT)
        if frame["type"] in ("ack", "error") and frame.get("client_id") == client_id:
            return frame


def refused_over_ws(frame: dict[str, Any], code: str) -> None:
    assert frame["type"] == "error", frame
    assert frame["error"]["code"] == code, frame


async def new_group(user: User, member_ids: list[int]) -> httpx.Response:
    return await user.raw(
        "POST",
        "/api/v1/conversations",
        json={"kind": "group", "title": "茶话会", "member_ids": member_ids},
    )


async def apply_public_account(user: User) -> httpx.Response:
    body = {"name": f"读书会{uuid.uuid4().hex[:6]}", "category": "individual"}
    return await user.raw(
        "POST", "/api/v1/public-accounts", json={**body, "account_type": "subscription"}
    )


async def publish(operator: User, account_id: int, title: str = "春茶上市") -> httpx.Response:
    return await operator.raw(
        "POST",
        f"/api/v1/public-accounts/{account_id}/posts",
        json={"title": title, "body": f"{title}。正文。", "content_class": "culture"},
    )


async def forward(user: User, post_id: int, conversation_id: int) -> httpx.Response:
    return await user.raw(
        "POST", f"/api/v1/posts/{post_id}/forwards", json={"conversation_id": conversation_id}
    )


async def flagged_cases(author: User, chat: int, reviewer: User, count: int) -> list[int]:
    """`count` open cases about the author's flagged (medium) messages in a chat."""
    messages = [await sent(author, chat, tagged(FLAGGED)) for _ in range(count)]
    return [(await case_of(reviewer, "message", m["id"]))["id"] for m in messages]


async def removal_cases(author: User, chat: int, reviewer: User, count: int) -> list[int]:
    """`count` cases that found the author's messages in violation (medium: 2 points each)."""
    cases = await flagged_cases(author, chat, reviewer, count)
    for case_id in cases:
        await decided_case(reviewer, case_id, "remove", "gambling ad")
    return cases


async def notices_until(user: User, since: int, kind: str, count: int = 1) -> list[dict[str, Any]]:
    """The user's notices of a kind after a cursor, polled until `count` arrived."""
    deadline = time.monotonic() + WAIT
    while True:
        found = notices_of((await full_sync(user, since))[0], kind)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.05)


def audit_actions(server: Server) -> list[tuple[Any, ...]]:
    return query_db(
        server.data_dir,
        "SELECT seq, actor_id, action, subject_type, subject_id, reason FROM audit_log "
        "ORDER BY seq",
    )


def roles_of(conversation: dict[str, Any]) -> dict[int, str]:
    return {member["user_id"]: member["role"] for member in conversation["members"]}


# User sanctions -----------------------------------------------------------------------------------


async def test_limited_publication_keeps_direct_chat_and_withholds_all_publishing(
    alice: User, bob: User, reviewer: User
) -> None:
    account = await public_account(alice, reviewer, account_type="service")
    post = (await publish(alice, account["id"], "开张")).json()
    chat = (await alice.open_direct(bob.id))["id"]
    group = (await group_of(alice, "茶话会", bob))["id"]
    limit = await applied(reviewer, "user", alice.id, "limit_publication", days=7)
    assert (limit["kind"], limit["state"], limit["subject"]) == (
        "limit_publication",
        "active",
        {"type": "user", "id": alice.id},
    )

    assert_error(await send(alice, group), 403, "publication_limited")
    assert_error(await new_group(alice, [bob.id]), 403, "publication_limited")
    assert_error(await apply_public_account(alice), 403, "publication_limited")
    assert_error(await publish(alice, account["id"]), 403, "publication_limited")
    assert_error(await forward(alice, post["id"], group), 403, "publication_limited")
    assert (await forward(alice, post["id"], chat)).status_code == 201
    async with alice.websocket() as socket:
        refused_over_ws(await ws_send(socket, group), "publication_limited")
        direct = await ws_send(socket, chat, "私聊一下")
        assert direct["type"] == "ack", direct
    assert (await sent(alice, chat, "还能私聊"))["text"] == "还能私聊"
    # Only alice is limited, and nothing she tried reached the group.
    await sent(bob, group, "我还能说")
    assert [m["text"] for m in await full_history(bob, group)] == ["我还能说"]
    assert [m["text"] for m in await full_history(bob, chat)] == ["开张", "私聊一下", "还能私聊"]
    (shown,) = (await alice.me())["sanctions"]
    assert (shown["id"], shown["kind"]) == (limit["id"], "limit_publication")

    await lifted(reviewer, limit["id"])
    await sent(alice, group, "我回来了")
    assert (await new_group(alice, [bob.id])).status_code == 201
    assert (await publish(alice, account["id"])).status_code == 201
    assert (await alice.me())["sanctions"] == []


@pytest.fixture
def expiry_server(servers: ServerPool) -> Server:
    """A shared server whose expiry job runs four times a second."""
    return servers.shared(sanction_expiry_interval_seconds=0.25)


async def test_a_suspension_ends_by_itself_at_its_end_time_and_says_so(
    expiry_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    reviewer = await make_staff("reviewer", on=expiry_server)
    alice, bob = [await make_user(name, on=expiry_server) for name in ("alice", "bob")]
    chat = (await alice.open_direct(bob.id))["id"]
    group = (await group_of(alice, "茶话会", bob))["id"]
    _, cursor = await full_sync(alice)
    ends_at = in_seconds(3)
    suspension = await applied(
        reviewer,
        "user",
        alice.id,
        "suspend_updates",
        reason="spam in every group",
        ends_at=ends_at.isoformat(),
    )

    for conversation_id in (chat, group):
        assert_error(await send(alice, conversation_id), 403, "updates_suspended")
    assert_error(await new_group(alice, [bob.id]), 403, "updates_suspended")
    async with alice.websocket() as socket:
        for conversation_id in (chat, group):
            refused_over_ws(await ws_send(socket, conversation_id), "updates_suspended")
    assert datetime.now(UTC) < ends_at, "the refusals above must come before the end"
    (notice,) = await notices_until(alice, cursor, "sanction_applied")
    statement = notice["sanction"]["statement"]
    assert notice["sanction"]["id"] == suspension["id"]
    assert (statement["ground"], statement["facts"]) == (GROUND, "spam in every group")
    told_end = datetime.fromisoformat(statement["ends_at"])
    assert abs(told_end - ends_at) < timedelta(milliseconds=2)

    # No one lifts it: sends start working once its end time has passed, and not before.
    deadline = time.monotonic() + WAIT
    while (answer := await send(alice, chat, "我回来了")).status_code != 201:
        assert_error(answer, 403, "updates_suspended")
        assert time.monotonic() < deadline, "the suspension did not end"
        await asyncio.sleep(0.1)
    assert datetime.now(UTC) >= told_end
    await sent(alice, group, "大家好")
    async with alice.websocket() as socket:
        assert (await ws_send(socket, group, "又见面了"))["type"] == "ack"

    (ended,) = await notices_until(alice, cursor, "sanction_ended")
    assert (ended["sanction"]["id"], ended["sanction"]["state"]) == (suspension["id"], "expired")
    assert ended["sanction"]["statement"]["facts"] == "spam in every group"
    assert ended["sanction"]["statement"]["ends_at"] == statement["ends_at"]
    assert ended["sanction"]["ended_at"] is not None
    shown = await reviewer.request("GET", f"{SANCTIONS}/{suspension['id']}")
    assert shown["state"] == "expired"
    assert (await alice.me())["sanctions"] == []
    assert_error(await lift(reviewer, suspension["id"]), 409, "sanction_not_active")


async def test_a_shorter_sanction_of_a_kind_does_not_end_a_longer_one(
    servers: ServerPool, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    # The expiry job runs hourly here: only the sanctions' own end times can decide.
    host = servers.shared(sanction_expiry_interval_seconds=3600)
    reviewer = await make_staff("reviewer", on=host)
    alice, bob = [await make_user(name, on=host) for name in ("alice", "bob")]
    group = (await group_of(alice, "茶话会", bob))["id"]
    other = (await group_of(bob, "读书会", alice))["id"]
    await applied(reviewer, "user", alice.id, "limit_publication")
    await applied(reviewer, "group", other, "suspend_posting", days=1)
    ends_at = in_seconds(1.5)
    await applied(reviewer, "user", alice.id, "limit_publication", ends_at=ends_at.isoformat())
    await applied(reviewer, "group", other, "suspend_posting", ends_at=ends_at.isoformat())

    await asyncio.sleep(max(0.0, (ends_at - datetime.now(UTC)).total_seconds()) + 0.3)
    assert_error(await send(alice, group), 403, "publication_limited")
    assert_error(await send(bob, other), 403, "group_posting_suspended")


async def test_timed_sanctions_on_a_public_account_and_a_group_end_by_themselves(
    expiry_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    reviewer = await make_staff("reviewer", on=expiry_server)
    operator, reader = [await make_user(name, on=expiry_server) for name in ("operator", "reader")]
    account = await public_account(operator, reviewer, account_type="service")
    group = (await group_of(operator, "茶话会", reader))["id"]
    ends_at = in_seconds(2).isoformat()
    await applied(reviewer, "public_account", account["id"], "suspend_updates", ends_at=ends_at)
    await applied(reviewer, "group", group, "suspend_posting", ends_at=ends_at)
    assert_error(await publish(operator, account["id"]), 422, "public_account_suspended")
    assert_error(await send(reader, group), 403, "group_posting_suspended")

    deadline = time.monotonic() + WAIT
    while (await publish(operator, account["id"])).status_code != 201:
        assert time.monotonic() < deadline, "the public account's suspension did not end"
        await asyncio.sleep(0.1)
    await sent(reader, group)
    shown = await reader.request("GET", f"/api/v1/public-accounts/{account['id']}")
    assert shown["status"] == "approved"


async def test_a_suspension_ending_does_not_reopen_a_deregistered_operators_account(
    expiry_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    reviewer = await make_staff("reviewer", on=expiry_server)
    operator, reader = [await make_user(name, on=expiry_server) for name in ("leaver", "reader")]
    account = await public_account(operator, reviewer)
    suspension = await applied(
        reviewer,
        "public_account",
        account["id"],
        "suspend_updates",
        ends_at=in_seconds(1.5).isoformat(),
    )
    assert (await operator.raw("DELETE", "/api/v1/me")).status_code == 204
    path = f"/api/v1/public-accounts/{account['id']}"
    assert_error(await reader.raw("GET", path), 404, "public_account_not_found")

    deadline = time.monotonic() + WAIT
    while (await reviewer.request("GET", f"{SANCTIONS}/{suspension['id']}"))["state"] == "active":
        assert time.monotonic() < deadline, "the suspension did not expire"
        await asyncio.sleep(0.1)
    assert_error(await reader.raw("GET", path), 404, "public_account_not_found")
    stored = query_db(
        expiry_server.data_dir, "SELECT status FROM public_accounts WHERE id = ?", account["id"]
    )
    assert stored == [("closed",)]


async def test_a_closed_user_may_log_in_and_read_but_do_nothing_until_an_admin_lifts_it(
    alice: User, bob: User, reviewer: User, admin: User
) -> None:
    chat = (await alice.open_direct(bob.id))["id"]
    group = (await group_of(alice, "茶话会", bob))["id"]
    await sent(bob, chat, "在吗")
    assert_error(await sanction(reviewer, "user", alice.id, "close"), 403, "role_required")
    closed = await applied(admin, "user", alice.id, "close", reason="a fraud ring")

    await alice.log_out()
    await alice.log_in(alice.handle, alice.password)
    me = await alice.me()
    assert [(s["id"], s["kind"]) for s in me["sanctions"]] == [(closed["id"], "close")]
    assert me["sanctions"][0]["statement"]["facts"] == "a fraud ring"
    assert [m["text"] for m in await full_history(alice, chat)] == ["在吗"]
    assert notices_of((await full_sync(alice))[0], "sanction_applied")

    for conversation_id in (chat, group):
        assert_error(await send(alice, conversation_id), 403, "account_closed")
    assert_error(await new_group(alice, [bob.id]), 403, "account_closed")
    assert_error(await apply_public_account(alice), 403, "account_closed")
    async with alice.websocket() as socket:
        refused_over_ws(await ws_send(socket, chat), "account_closed")
    assert [m["text"] for m in await full_history(bob, chat)] == ["在吗"]

    assert_error(await lift(reviewer, closed["id"]), 403, "role_required")
    await lifted(admin, closed["id"])
    await sent(alice, chat, "误会一场")
    await sent(alice, group, "误会一场")
    assert (await alice.me())["sanctions"] == []


async def test_a_blacklisted_identity_cannot_register_again_until_it_is_lifted(
    server: Server, make_user: MakeUser, bob: User, admin: User
) -> None:
    identity = fresh_identity()
    listed = await make_user("listed", identity=identity)
    chat = (await listed.open_direct(bob.id))["id"]
    blacklisting = await applied(admin, "user", listed.id, "blacklist_identity")

    typed_otherwise = {
        **fresh_identity(),
        "id_number": " " + identity["id_number"].lower(),
        "legal_name": "王五",
    }
    refused = await post_registration(server, typed_otherwise)
    assert_error(refused, 403, "identity_blacklisted")
    assert identity["id_number"] not in refused.text
    assert_error(await send(listed, chat), 403, "account_closed")
    assert (await post_registration(server, fresh_identity())).status_code == 201

    await lifted(admin, blacklisting["id"])
    # Off the list: the identity now meets only its cap of one account, held by `listed`.
    assert_error(await post_registration(server, typed_otherwise), 409, "identity_limit")
    await sent(listed, chat)


# Public-account sanctions -------------------------------------------------------------------------


async def test_every_rung_is_reachable_from_every_lower_one(
    make_user: MakeUser, alice: User, bob: User, reviewer: User, admin: User
) -> None:
    operator = await make_user("operator")
    account = await public_account(operator, reviewer)
    group = (await group_of(alice, "茶话会", bob))["id"]
    ladders = {
        ("public_account", account["id"]): [
            ("warning", {}, "approved"),
            ("limit_publication", {}, "approved"),
            ("suspend_updates", {"days": 7}, "suspended"),
            ("close", {}, "closed"),
        ],
        ("user", bob.id): [
            ("warning", {}, None),
            ("limit_publication", {}, None),
            ("suspend_updates", {"days": 7}, None),
            ("close", {}, None),
            ("blacklist_identity", {}, None),
        ],
        ("group", group): [
            ("warning", {}, None),
            ("suspend_posting", {"days": 7}, None),
            ("close_group", {}, None),
        ],
    }
    for (subject_type, subject_id), rungs in ladders.items():
        for kind, fields, status in rungs:
            await applied(admin, subject_type, subject_id, kind, **fields)
            if status is not None:
                page = await reviewer.request("GET", f"/api/v1/public-accounts/{subject_id}")
                assert page["status"] == status, kind

    # The account steps back down the rungs still in force as the higher ones are lifted.
    page = f"/api/v1/public-accounts/{account['id']}"
    closures = await admin.request(
        "GET", SANCTIONS, params={"subject_type": "public_account", "subject_id": account["id"]}
    )
    by_kind = {s["kind"]: s["id"] for s in closures["sanctions"]}
    await lifted(admin, by_kind["close"])
    assert (await reviewer.request("GET", page))["status"] == "suspended"
    await lifted(admin, by_kind["suspend_updates"])
    assert (await reviewer.request("GET", page))["status"] == "approved"


async def test_a_suspended_public_account_cannot_publish_but_stays_readable(
    make_user: MakeUser, bob: User, reviewer: User
) -> None:
    operator, account = await subscribed_account(make_user, reviewer, bob)
    post = (await publish(operator, account["id"], "开张")).json()
    suspension = await applied(reviewer, "public_account", account["id"], "suspend_updates", days=7)

    assert_error(await publish(operator, account["id"], "新品"), 422, "public_account_suspended")
    shown = await bob.request("GET", f"/api/v1/public-accounts/{account['id']}")
    assert shown["status"] == "suspended"
    assert [p["id"] for p in (await bob.timeline())["posts"]] == [post["id"]]
    assert (await bob.read_post(post["id"]))["title"] == "开张"
    # The account is suspended, not its operator.
    chat = (await operator.open_direct(bob.id))["id"]
    await sent(operator, chat)
    assert (await operator.me())["sanctions"] == []

    await lifted(reviewer, suspension["id"])
    assert (await publish(operator, account["id"], "复业")).status_code == 201
    shown = await bob.request("GET", f"/api/v1/public-accounts/{account['id']}")
    assert shown["status"] == "approved"


async def test_limited_publication_of_a_public_account_holds_every_post_for_review(
    make_user: MakeUser, bob: User, reviewer: User
) -> None:
    operator, account = await subscribed_account(make_user, reviewer, bob)
    before = (await publish(operator, account["id"], "开张")).json()
    assert "moderation" not in before
    limit = await applied(reviewer, "public_account", account["id"], "limit_publication")

    held = await publish(operator, account["id"], "春茶上市")
    assert held.status_code == 201, held.text
    assert held.json()["moderation"] == "held"
    assert [p["id"] for p in (await bob.timeline())["posts"]] == [before["id"]]
    assert_error(await bob.raw("GET", f"/api/v1/posts/{held.json()['id']}"), 404)
    case = await case_of(reviewer, "post", held.json()["id"])
    assert case["sources"] == ["hold"]
    assert case["author_id"] == operator.id

    await lifted(reviewer, limit["id"])
    after = (await publish(operator, account["id"], "夏茶上市")).json()
    assert "moderation" not in after
    assert [p["id"] for p in (await bob.timeline())["posts"]] == [after["id"], before["id"]]


# Group sanctions ----------------------------------------------------------------------------------


async def test_suspended_posting_silences_every_member_of_that_group_only(
    alice: User, bob: User, carol: User, reviewer: User
) -> None:
    group = (await group_of(alice, "茶话会", bob, carol))["id"]
    other = (await group_of(alice, "读书会", bob))["id"]
    chat = (await bob.open_direct(carol.id))["id"]
    await sent(carol, group, "早")
    _, cursor = await full_sync(alice)
    suspension = await applied(
        reviewer, "group", group, "suspend_posting", reason="a flood of spam", days=1
    )

    for member in (alice, bob, carol):
        assert_error(await send(member, group), 403, "group_posting_suspended")
    async with bob.websocket() as socket:
        refused_over_ws(await ws_send(socket, group), "group_posting_suspended")
        assert (await ws_send(socket, other, "这里可以"))["type"] == "ack"
    await sent(alice, other, "这里也可以")
    await sent(bob, chat, "私聊可以")
    assert [m["text"] for m in await full_history(carol, group)] == ["早"]
    (notice,) = await notices_until(alice, cursor, "sanction_applied")  # the owner is told
    assert notice["sanction"]["subject"] == {"type": "group", "id": group}
    for member in (alice, bob):
        assert (await member.me())["sanctions"] == []  # the group is sanctioned, not them

    await lifted(reviewer, suspension["id"])
    await sent(bob, group, "解禁了")


async def test_a_closed_group_takes_no_more_messages(
    alice: User, bob: User, reviewer: User, admin: User
) -> None:
    group = (await group_of(alice, "茶话会", bob))["id"]
    other = (await group_of(alice, "读书会", bob))["id"]
    assert_error(await sanction(reviewer, "group", group, "close_group"), 403, "role_required")
    await sent(bob, group, "最后一句")
    await applied(admin, "group", group, "close_group", reason="organises fraud")

    for member in (alice, bob):
        assert_error(await send(member, group), 403, "group_closed")
    async with alice.websocket() as socket:
        refused_over_ws(await ws_send(socket, group), "group_closed")
    assert [m["text"] for m in await full_history(alice, group)] == ["最后一句"]
    await sent(bob, other, "这里照常")


async def test_removing_rights_demotes_the_owner_until_it_is_lifted(
    alice: User, bob: User, reviewer: User
) -> None:
    group = (await group_of(alice, "茶话会", bob))["id"]
    path = f"/api/v1/conversations/{group}"
    assert roles_of(await alice.request("GET", path)) == {alice.id: "owner", bob.id: "member"}
    assert_error(
        await sanction(reviewer, "group", group, "remove_rights", member_id=bob.id),
        409,
        "not_a_manager",
    )
    assert_error(
        await sanction(reviewer, "group", group, "remove_rights"), 400, "member_id_invalid"
    )
    assert_error(
        await sanction(reviewer, "group", group, "warning", member_id=alice.id),
        400,
        "member_id_invalid",
    )

    removal = await applied(reviewer, "group", group, "remove_rights", member_id=alice.id)
    assert removal["member_id"] == alice.id
    assert roles_of(await bob.request("GET", path)) == {alice.id: "member", bob.id: "member"}
    await sent(alice, group, "我还能说话")  # a plain member still posts

    await lifted(reviewer, removal["id"])
    assert roles_of(await bob.request("GET", path)) == {alice.id: "owner", bob.id: "member"}


# Warnings, the ladder, and credit -----------------------------------------------------------------


async def test_a_warning_withholds_nothing_and_stays_on_the_record(
    alice: User, bob: User, reviewer: User
) -> None:
    chat = (await alice.open_direct(bob.id))["id"]
    group = (await group_of(alice, "茶话会", bob))["id"]
    warning = await applied(reviewer, "user", alice.id, "warning", reason="mind the language")
    assert warning["statement"]["ends_at"] is None

    await sent(alice, chat)
    await sent(alice, group)
    assert (await new_group(alice, [bob.id])).status_code == 201
    assert (await apply_public_account(alice)).status_code == 201
    me = await alice.me()
    assert me["sanctions"] == []
    assert me["credit"] == {"score": 100, "band": "good", "withheld": []}
    shown = await standing(reviewer, "user", alice.id)
    assert [s["id"] for s in shown["history"]] == [warning["id"]]
    assert shown["in_force"] == []
    assert shown["points"] == 0  # a warning without a case gives no strike
    assert_error(
        await sanction(reviewer, "user", alice.id, "warning", days=3), 400, "ends_at_invalid"
    )


async def test_the_recommendation_climbs_as_cases_give_strikes(
    alice: User, bob: User, carol: User, reviewer: User
) -> None:
    chat = (await alice.open_direct(bob.id))["id"]
    cases = await removal_cases(alice, chat, reviewer, 4)
    climbed = []
    for case_id, kind in zip(cases[:3], ("warning", "limit_publication", "warning"), strict=True):
        advice = (await standing(reviewer, "user", alice.id, case_id=case_id))["recommendation"]
        climbed.append((advice["sanction"], advice["days"], advice["points_after"]))
        given = await applied(reviewer, "user", alice.id, kind, case_id=case_id)
        assert (given["case_id"], given["points"]) == (case_id, 2)
        assert given["statement"]["category"] == "gambling"
        assert given["statement"]["severity"] == "medium"
    advice = (await standing(reviewer, "user", alice.id, case_id=cases[3]))["recommendation"]
    climbed.append((advice["sanction"], advice["days"], advice["points_after"]))
    assert climbed == [
        ("warning", None, pytest.approx(2)),
        ("limit_publication", 7, pytest.approx(4)),
        ("limit_publication", 7, pytest.approx(6)),
        ("suspend_updates", 30, pytest.approx(8)),
    ]
    before = await standing(reviewer, "user", alice.id)
    assert before["points"] == pytest.approx(6)
    assert len(before["history"]) == 3

    # One case, one strike; the case must have found a violation, by this subject.
    assert_error(
        await sanction(reviewer, "user", alice.id, "warning", case_id=cases[0]),
        409,
        "case_already_sanctioned",
    )
    assert_error(
        await sanction(reviewer, "user", bob.id, "warning", case_id=cases[3]),
        409,
        "case_not_about_subject",
    )
    (cleared, still_open) = await flagged_cases(alice, chat, reviewer, 2)
    await decided_case(reviewer, cleared, "approve", "a card game among friends")
    for case_id in (cleared, still_open):
        assert_error(
            await sanction(reviewer, "user", alice.id, "warning", case_id=case_id),
            409,
            "case_not_a_violation",
        )
    assert_error(
        await sanction(reviewer, "user", alice.id, "warning", case_id=10**9),
        404,
        "case_not_found",
    )
    after = await standing(reviewer, "user", alice.id)
    assert after["points"] == pytest.approx(before["points"])
    assert after["history"] == before["history"]


async def test_a_group_case_counts_for_the_group_and_its_author(
    alice: User, bob: User, reviewer: User
) -> None:
    group = (await group_of(alice, "茶话会", bob))["id"]
    (case_id,) = await removal_cases(bob, group, reviewer, 1)
    advice = (await standing(reviewer, "group", group, case_id=case_id))["recommendation"]
    assert advice["sanction"] == "warning"
    given = await applied(reviewer, "group", group, "warning", case_id=case_id)
    assert given["points"] == 2
    assert (await standing(reviewer, "group", group))["points"] == pytest.approx(2)
    # The same case about the author is the same strike: it was given already.
    assert_error(
        await sanction(reviewer, "user", bob.id, "warning", case_id=case_id),
        409,
        "case_already_sanctioned",
    )
    assert_error(
        await sanction(reviewer, "user", alice.id, "warning", case_id=case_id),
        409,
        "case_not_about_subject",
    )


async def test_enough_strike_points_drop_the_credit_band_and_withhold_group_creation(
    alice: User, bob: User, reviewer: User
) -> None:
    chat = (await alice.open_direct(bob.id))["id"]
    group = (await group_of(alice, "茶话会", bob))["id"]
    cases = await removal_cases(alice, chat, reviewer, 3)
    for case_id in cases[:2]:
        await applied(reviewer, "user", alice.id, "warning", case_id=case_id)
    # 4 points: a score of 80, still good.
    assert (await alice.me())["credit"] == {"score": 80, "band": "good", "withheld": []}
    assert (await new_group(alice, [bob.id])).status_code == 201

    await applied(reviewer, "user", alice.id, "warning", case_id=cases[2])
    credit = (await alice.me())["credit"]
    assert (credit["score"], credit["band"]) == (70, "watched")
    assert set(credit["withheld"]) == {"create_group", "apply_public_account"}
    assert (await standing(reviewer, "user", alice.id))["credit"] == credit
    assert_error(await new_group(alice, [bob.id]), 403, "credit_too_low")
    assert_error(await apply_public_account(alice), 403, "credit_too_low")
    # The band withholds only what it names.
    await sent(alice, group)
    await sent(alice, chat)


# The EU pack --------------------------------------------------------------------------------------


def passport_identity() -> dict[str, str]:
    """The EU pack accepts passports only (with a Latin legal name)."""
    return fresh_identity(
        id_type="passport", id_number=f"P{uuid.uuid4().hex[:12].upper()}", legal_name="ANNA LENZ"
    )


@pytest.fixture
async def eu_server(servers: ServerPool) -> AsyncIterator[Server]:
    yield servers.shared(policy_pack="eu-dsa")


async def test_the_eu_pack_suspends_only_after_a_warning(
    eu_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    reviewer = await make_staff("reviewer", on=eu_server)
    admin = await make_staff("admin", on=eu_server)
    alice = await make_user("alice", on=eu_server, identity=passport_identity())
    bob = await make_user("bob", on=eu_server, identity=passport_identity())
    carol = await make_user("carol", on=eu_server, identity=passport_identity())
    chat = (await alice.open_direct(bob.id))["id"]
    group = (await group_of(alice, "Book club", bob))["id"]

    for staff, kind, fields in (
        (reviewer, "suspend_updates", {"days": 7}),
        (admin, "close", {}),
        (admin, "blacklist_identity", {}),
    ):
        answer = await sanction(staff, "user", alice.id, kind, **fields)
        assert_error(answer, 422, "warning_required")
    refused = await sanction(reviewer, "group", group, "suspend_posting", days=1)
    assert_error(refused, 422, "warning_required")
    assert (await standing(reviewer, "user", alice.id))["history"] == []
    # A limit is no suspension: it needs no warning first.
    assert (await sanction(reviewer, "user", carol.id, "limit_publication")).status_code == 201

    await applied(reviewer, "user", alice.id, "warning", reason="first and last warning")
    await applied(reviewer, "user", alice.id, "suspend_updates", days=7)
    assert_error(await send(alice, chat), 403, "updates_suspended")
    await applied(reviewer, "group", group, "warning", reason="moderate your members")
    await applied(reviewer, "group", group, "suspend_posting", days=1)
    assert_error(await send(bob, group), 403, "group_posting_suspended")


# Bad requests -------------------------------------------------------------------------------------


async def test_bad_sanction_requests_are_refused_with_their_reason(
    alice: User, bob: User, reviewer: User, admin: User, make_staff: MakeStaff
) -> None:
    group = (await group_of(alice, "茶话会", bob))["id"]
    past = in_seconds(-60).isoformat()
    naive = (datetime.now() + timedelta(days=1)).replace(tzinfo=None).isoformat()
    refusals: list[tuple[User, dict[str, Any], int, str]] = [
        (reviewer, {"subject_type": "planet", "kind": "warning"}, 400, "subject_type_invalid"),
        (reviewer, {"kind": "banishment"}, 400, "sanction_kind_invalid"),
        (reviewer, {"kind": "suspend_posting", "days": 1}, 400, "sanction_kind_invalid"),
        (reviewer, {"kind": "suspend_updates", "ends_at": past}, 400, "ends_at_invalid"),
        (reviewer, {"kind": "suspend_updates", "ends_at": naive}, 400, None),
        (reviewer, {"kind": "suspend_updates"}, 400, "ends_at_required"),
        (
            reviewer,
            {"kind": "suspend_updates", "days": 1, "ends_at": in_seconds(60).isoformat()},
            400,
            "ends_at_invalid",
        ),
        (reviewer, {"kind": "suspend_updates", "days": 0}, 400, None),
        (reviewer, {"kind": "suspend_updates", "days": 3651}, 400, None),
        (reviewer, {"kind": "close", "days": 3}, 403, "role_required"),
        (admin, {"kind": "close", "days": 3}, 400, "ends_at_invalid"),
        (reviewer, {"kind": "warning", "reason": None}, 422, "reason_required"),
        (reviewer, {"kind": "warning", "reason": "   bad   "}, 422, "reason_required"),
        (reviewer, {"kind": "warning", "reason": "x" * 1001}, 422, "reason_required"),
        (reviewer, {"kind": "warning", "subject_id": 10**9}, 404, "user_not_found"),
        (reviewer, {"kind": "warning", "subject_id": reviewer.id}, 404, "user_not_found"),
        (
            reviewer,
            {"subject_type": "group", "subject_id": 10**9, "kind": "warning"},
            404,
            "group_not_found",
        ),
        (
            reviewer,
            {"subject_type": "group", "subject_id": (await alice.open_direct(bob.id))["id"]},
            404,
            "group_not_found",
        ),
        (
            reviewer,
            {"subject_type": "public_account", "subject_id": 10**9, "kind": "warning"},
            404,
            "public_account_not_found",
        ),
        (reviewer, {"kind": "warning", "colour": "red"}, 400, None),
        (reviewer, {"kind": "warning", "subject_id": "alice"}, 400, None),
        (reviewer, {"kind": "warning", "case_id": 0}, 400, None),
        (alice, {"kind": "warning"}, 403, "role_required"),
    ]
    for staff, changes, status, code in refusals:
        body = {
            "subject_type": "user",
            "subject_id": alice.id,
            "kind": "warning",
            "reason": "spreads rumours",
            **changes,
        }
        if body["reason"] is None:
            del body["reason"]
        answer = await staff.raw("POST", SANCTIONS, json=body)
        assert answer.status_code == status, (changes, answer.text)
        assert_error(answer, status, code)
    assert (await standing(reviewer, "user", alice.id))["history"] == []
    assert (await standing(reviewer, "group", group))["history"] == []

    auditor = await make_staff("auditor")
    assert_error(await sanction(auditor, "user", alice.id, "warning"), 403)
    # The auditor reads sanctions under /api/v1/audit, not the staff's standing.
    refused = await auditor.raw(
        "GET", f"{SANCTIONS}/standing", params={"subject_type": "user", "subject_id": alice.id}
    )
    assert_error(refused, 403, "role_required")
    for params, status, code in (
        ({"subject_type": "planet", "subject_id": alice.id}, 400, "subject_type_invalid"),
        ({"subject_type": "user", "subject_id": 10**9}, 404, "user_not_found"),
        ({"subject_type": "user", "subject_id": alice.id, "case_id": 10**9}, 404, "case_not_found"),
        ({"subject_type": "user"}, 400, None),
    ):
        answer = await reviewer.raw("GET", f"{SANCTIONS}/standing", params=params)
        assert_error(answer, status, code)
    assert_error(await alice.raw("GET", SANCTIONS), 403, "role_required")
    assert_error(await reviewer.raw("GET", f"{SANCTIONS}/{10**9}"), 404, "sanction_not_found")
    assert_error(await lift(reviewer, 10**9), 404, "sanction_not_found")
    assert_error(await reviewer.raw("GET", f"{SANCTIONS}/0"), 400)

    warning = await applied(reviewer, "user", alice.id, "warning")
    assert_error(await lift(alice, warning["id"]), 403, "role_required")
    assert_error(await lift(reviewer, warning["id"], "no"), 422, "reason_required")
    await lifted(reviewer, warning["id"])
    assert_error(await lift(reviewer, warning["id"]), 409, "sanction_not_active")


# Records ------------------------------------------------------------------------------------------


async def test_every_apply_and_lift_writes_one_audit_row_and_a_refusal_none(
    server: Server, alice: User, reviewer: User
) -> None:
    before = audit_actions(server)
    limit = await applied(reviewer, "user", alice.id, "limit_publication", reason="spam links")
    after_apply = audit_actions(server)
    (row,) = after_apply[len(before) :]
    assert row[1:] == (reviewer.id, "sanction.apply", "user", alice.id, "spam links")

    assert_error(await sanction(reviewer, "user", alice.id, "close"), 403)
    assert_error(await sanction(reviewer, "user", alice.id, "warning", reason=None), 422)
    assert audit_actions(server) == after_apply

    await lifted(reviewer, limit["id"])
    after_lift = audit_actions(server)
    (row,) = after_lift[len(after_apply) :]
    assert row[1:] == (reviewer.id, "sanction.lift", "user", alice.id, "the appeal was upheld")
    assert_error(await lift(reviewer, limit["id"]), 409, "sanction_not_active")
    assert audit_actions(server) == after_lift

    listed = await reviewer.request(
        "GET", SANCTIONS, params={"subject_type": "user", "subject_id": alice.id}
    )
    assert [(s["id"], s["state"]) for s in listed["sanctions"]] == [(limit["id"], "lifted")]
