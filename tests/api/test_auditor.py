"""The supervising authority's auditor: refused every write, over HTTP and the WebSocket alike;
reads cases, sanctions, reports, reach escalations and the figures per period under
/api/v1/audit, and never a private identity, a reporter or the content a case judged."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import PASSWORD, MakeStaff, MakeUser, Server, ServerPool, User, fresh_identity
from tests.support import (
    assert_error,
    case_of,
    every_item,
    group_of,
    identity_secrets,
    leaks,
    masked_id_number,
    masked_phone,
    openapi_routes,
    public_account,
    query_parameters,
    review_case,
)
from townhall.packs import load_pack

AUDIT = "/api/v1/audit"
AUDITOR_ROUTES = ("filings", "cases", "sanctions", "reports", "escalations", "stats", "queues")
# Routes that take no token: an auditor's token means nothing there (a new registration is a
# new plain user), so they are anonymous rather than refused.
ANONYMOUS_WRITES = {("POST", "/api/v1/accounts"), ("POST", "/api/v1/sessions")}
LOG_OUT = ("DELETE", "/api/v1/sessions/current")
# The writes an account makes to keep itself safe, whatever its role: logging out, ending its
# other sessions, changing its password.
OWN_SECURITY = {
    LOG_OUT,
    ("DELETE", "/api/v1/me/sessions/{session_id}"),
    ("POST", "/api/v1/me/password"),
}
PACK = load_pack("cn-2014")
TZ = ZoneInfo(PACK.timezone)
DAY_MS = 86_400_000


@pytest.fixture
def reach_server(servers: ServerPool) -> Server:
    """The shared server whose pack calls a post serious at 3 views (as tests/api/test_reach.py
    uses): escalations come cheap."""
    return servers.shared(policy_pack=servers.pack(serious_views=3, serious_forwards=2))


# Writes -----------------------------------------------------------------------------------------


async def write_routes(user: User) -> list[tuple[str, str]]:
    """Every non-GET/HEAD operation the running server documents in its OpenAPI document."""
    document = await user.request("GET", "/openapi.json")
    return sorted(
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method.upper() not in ("GET", "HEAD", "PARAMETERS")
    )


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


async def test_an_auditor_is_refused_every_write_whatever_it_sends(
    server: Server, make_staff: MakeStaff
) -> None:
    auditor = await make_staff("auditor")
    routes = await write_routes(auditor)
    assert ("POST", "/api/v1/conversations/{conversation_id}/messages") in routes
    assert ("POST", "/api/v1/admin/review/cases/{case_id}/decision") in routes
    refused = []
    for method, path in routes:
        if (method, path) in ANONYMOUS_WRITES | OWN_SECURITY:
            continue
        for body in ({}, {"content": b""}, {"json": {"garbage": [1, 2]}}, {"content": b"junk"}):
            answer = await auditor.raw(method, concrete(path), **body)
            assert_error(answer, 403, "read_only_role")
        refused.append((method, path))
    assert len(refused) == len(routes) - len(ANONYMOUS_WRITES | OWN_SECURITY), routes

    # A well-formed write is refused just the same, and changes nothing.
    answer = await auditor.raw(
        "POST", "/api/v1/conversations", json={"kind": "group", "title": "t", "member_ids": []}
    )
    assert_error(answer, 403, "read_only_role")
    assert (await auditor.request("GET", "/api/v1/conversations"))["conversations"] == []
    assert (await auditor.raw("GET", "/api/v1/me")).status_code == 200

    # The anonymous routes never look at the token: they answer as they would anyone.
    for method, path in sorted(ANONYMOUS_WRITES):
        answer = await auditor.raw(method, path, json={"garbage": [1, 2]})
        assert_error(answer, 400, "invalid_request")

    # Its own security is the one write left to the auditor: a password change is weighed (the
    # current password is wrong here), and logging out works (on a session of its own here: the
    # shared auditor's token stays good).
    wrong = {"current_password": "not the password", "new_password": "a new password"}
    answer = await auditor.raw("POST", "/api/v1/me/password", json=wrong)
    assert_error(answer, 403, "password_wrong")
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        login = await http.post(
            "/api/v1/sessions", json={"handle": auditor.handle, "password": PASSWORD}
        )
        assert login.status_code == 201, login.text
        token = {"Authorization": f"Bearer {login.json()['token']}"}
        assert (await http.delete("/api/v1/sessions/current", headers=token)).status_code == 204
        assert_error(await http.get("/api/v1/me", headers=token), 401, "token_revoked")


async def test_an_auditor_socket_may_listen_but_not_send(
    alice: User, bob: User, make_staff: MakeStaff
) -> None:
    auditor = await make_staff("auditor")
    chat = (await alice.open_direct(bob.id))["id"]
    async with auditor.websocket() as live:
        await live.send_message(chat, "hello", "auditor-1")
        refused = await live.receive()
        assert refused == {
            "type": "error",
            "client_id": "auditor-1",
            "error": {"code": "read_only_role", "message": refused["error"]["message"]},
        }
        await live.send_frame({"type": "ping"})
        assert (await live.receive())["type"] == "pong"  # the socket stays open
    assert (await bob.history(chat))["messages"] == []
    async with alice.websocket() as live:  # a user's sends go through as ever
        await live.send_message(chat, "hello", "alice-1")
        assert (await live.receive_until("ack"))["client_id"] == "alice-1"


# Reading ---------------------------------------------------------------------------------------


async def a_sanction(
    staff: User, subject_id: int, kind: str = "limit_publication", **fields: Any
) -> dict[str, Any]:
    """A sanction applied as staff apply one (POST /api/v1/admin/sanctions)."""
    body = {
        "subject_type": "user",
        "subject_id": subject_id,
        "kind": kind,
        "reason": "sent scam links to three people",
        **fields,
    }
    return await staff.request("POST", "/api/v1/admin/sanctions", json=body)


async def decide(staff: User, case_id: int, decision: str) -> None:
    await staff.request(
        "POST",
        f"/api/v1/admin/review/cases/{case_id}/decision",
        json={"decision": decision, "reason": "reviewed against the rules"},
    )


async def every(staff: User, route: str, **params: Any) -> list[dict[str, Any]]:
    """Every record of a list, page by page."""
    return await every_item(staff, f"{AUDIT}/{route}", route, **params)


def by_id(records: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {record["id"]: record for record in records}


def local_day(offset_days: int = 0) -> str:
    return (datetime.now(TZ) + timedelta(days=offset_days)).date().isoformat()


async def test_the_auditor_reads_the_records_and_never_an_identity(
    reach_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    server = reach_server
    identities = [fresh_identity(legal_name=name) for name in ("欧阳娜娜", "司马光", "诸葛亮")]
    alice = await make_user("alice", on=server, identity=identities[0])
    bob = await make_user("bob", on=server, identity=identities[1])
    operator = await make_user("operator", on=server, identity=identities[2])
    readers = [await make_user("reader", on=server) for _ in range(3)]
    reviewer = await make_staff("reviewer", on=server)
    auditor = await make_staff("auditor", on=server)

    # A flagged message, reported by bob with his phone number in the detail, then removed.
    chat = (await alice.open_direct(bob.id))["id"]
    text = f"周末一起玩百家乐 {uuid.uuid4().hex}"  # unique: a removed text is banked
    message = await alice.send(chat, text)
    report = await bob.report(
        "message", message["id"], "gambling", f"call {identities[1]['phone']}"
    )
    flagged = await case_of(reviewer, "message", message["id"])
    await decide(reviewer, flagged["id"], "remove")
    # A reported user, upheld, sanctioned, and the sanction appealed.
    await bob.report("user", alice.id, "fraud")
    upheld = await case_of(reviewer, "user", alice.id)
    await decide(reviewer, upheld["id"], "uphold")
    sanction_id = (await a_sanction(reviewer, alice.id, case_id=upheld["id"], days=7))["id"]
    statement = f"not me: ask {identities[0]['legal_name']} at {identities[0]['phone']}"
    await alice.request(
        "POST", "/api/v1/appeals", json={"sanction_id": sanction_id, "statement": statement}
    )
    # A post read 3 times: escalated.
    account = await public_account(operator, reviewer)
    post = await operator.publish(account["id"], "春茶上市", "春茶上市。正文。")
    for reader in readers:
        await reader.read_post(post["id"])

    answers = [await auditor.raw("GET", f"{AUDIT}/{route}") for route in AUDITOR_ROUTES]
    for period in ("day", "week", "month"):
        answers.append(await auditor.raw("GET", f"{AUDIT}/stats", params={"period": period}))
    for answer in answers:
        assert answer.status_code == 200, answer.text
    today = {"since": local_day(-1), "until": local_day(1)}
    cases = by_id(await every(auditor, "cases", **today))
    sanctions = by_id(await every(auditor, "sanctions", **today))
    reports = by_id(await every(auditor, "reports", **today))
    escalations = await every(auditor, "escalations", **today)

    case = cases[flagged["id"]]
    assert case["target_type"] == "message" and case["target_id"] == message["id"]
    assert (case["state"], case["decision"], case["decided_by"]) == (
        "removed",
        "remove",
        reviewer.id,
    )
    assert set(case["sources"]) == {"flag", "report"} and case["categories"] == ["gambling"]
    assert case["content_chars"] == len(text) and "content" not in case
    assert case["decided_in_time"] is True and case["overdue"] is False
    assert 0 <= case["handling_ms"] < DAY_MS
    assert "author_id" not in case
    assert cases[upheld["id"]]["state"] == "upheld"

    sanction = sanctions[sanction_id]
    assert (sanction["subject_type"], sanction["subject_id"]) == ("user", alice.id)
    assert (sanction["kind"], sanction["state"], sanction["appeal_state"]) == (
        "limit_publication",
        "active",
        "pending",
    )
    assert sanction["case_id"] == upheld["id"] and sanction["ends_at"] > sanction["starts_at"]
    assert (sanction["category"], sanction["ground"]) == ("fraud", PACK.enforcement.ground)

    filed = reports[report["id"]]
    assert filed == {
        "id": report["id"],
        "case_id": flagged["id"],
        "target_type": "message",
        "reason": "gambling",
        "created_at": filed["created_at"],
        "decided_at": filed["decided_at"],
        "handling_ms": filed["handling_ms"],
        "outcome": "action_taken",
    }
    (escalation,) = [e for e in escalations if e["post_id"] == post["id"]]
    assert (escalation["measure"], escalation["count"], escalation["threshold"]) == ("views", 3, 3)
    assert escalation["case_state"] == "open" and len(escalation["snapshot_sha256"]) == 64

    # None of it, nor any figure, names anyone.
    every_body = b"".join(answer.content for answer in answers)
    for listing in (cases, sanctions, reports):
        every_body += repr(listing).encode()
    for identity in identities:
        secrets = identity_secrets(identity)
        secrets["masked phone"] = masked_phone(identity["phone"]).encode()
        secrets["masked id number"] = masked_id_number(identity["id_number"]).encode()
        assert leaks(every_body, secrets) == []


async def test_lists_page_and_filter_by_period_and_category(
    reach_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    server = reach_server
    alice = await make_user("alice", on=server)
    bob = await make_user("bob", on=server)
    reviewer = await make_staff("reviewer", on=server)
    auditor = await make_staff("auditor", on=server)
    chat = (await alice.open_direct(bob.id))["id"]
    gambling = await alice.send(chat, "来玩百家乐")
    fraud = await bob.report("user", alice.id, "fraud")
    gambling_case = await review_case(reviewer, "message", gambling["id"])
    fraud_case = await review_case(reviewer, "user", alice.id)
    assert gambling_case and fraud_case

    today = {"since": local_day(-1), "until": local_day(1)}
    only_gambling = by_id(await every(auditor, "cases", category="gambling", **today))
    assert gambling_case["id"] in only_gambling and fraud_case["id"] not in only_gambling
    assert all("gambling" in case["categories"] for case in only_gambling.values())
    later = await auditor.request("GET", f"{AUDIT}/cases", params={"since": local_day(2)})
    assert later == {"cases": [], "next_cursor": None}
    earlier = await auditor.request("GET", f"{AUDIT}/reports", params={"until": local_day(-2)})
    assert fraud["id"] not in by_id(earlier["reports"])
    assert fraud["id"] in by_id(await every(auditor, "reports", category="fraud", **today))

    first = await auditor.request("GET", f"{AUDIT}/cases", params={"limit": 1})
    assert len(first["cases"]) == 1 and first["next_cursor"] is not None
    second = await auditor.request(
        "GET", f"{AUDIT}/cases", params={"limit": 1, "cursor": first["next_cursor"]}
    )
    assert second["cases"][0]["id"] > first["cases"][0]["id"]

    stats = await auditor.request(
        "GET", f"{AUDIT}/stats", params={"period": "week", "category": "gambling", **today}
    )
    assert stats["period"] == "week" and stats["timezone"] == PACK.timezone
    assert {row["category"] for row in stats["rows"]} == {"gambling"}
    (row,) = stats["rows"]
    assert row["cases_opened"] >= 1 and row["pending"] >= 1
    assert set(row) >= {"handling_ms_median", "handling_ms_p90", "overdue", "sanctions_warning"}

    for params, code in [
        ({"since": "yesterday"}, "date_invalid"),
        ({"since": local_day(1), "until": local_day(-1)}, "period_invalid"),
        ({"limit": 501}, "limit_invalid"),
    ]:
        assert_error(await auditor.raw("GET", f"{AUDIT}/cases", params=params), 400, code)
    answer = await auditor.raw("GET", f"{AUDIT}/stats", params={"period": "year"})
    assert_error(answer, 400, "period_invalid")


async def test_only_the_auditor_and_admins_read_the_auditor_routes(
    alice: User, make_staff: MakeStaff
) -> None:
    reviewer = await make_staff("reviewer")
    admin = await make_staff("admin")
    for route in AUDITOR_ROUTES:
        for intruder in (alice, reviewer):
            assert_error(await intruder.raw("GET", f"{AUDIT}/{route}"), 403, "role_required")
        assert (await admin.raw("GET", f"{AUDIT}/{route}")).status_code == 200
    anonymous = httpx.AsyncClient(base_url=alice.base_url)
    async with anonymous:
        answer = await anonymous.get(f"{AUDIT}/cases", params={"x": uuid.uuid4().hex})
        assert_error(answer, 401, "token_missing")


# Every route, walked ----------------------------------------------------------------------------

# Keys under which a person's account id would appear in an answer.
PERSON_KEYS = frozenset(
    {"author_id", "reporter_id", "appellant_id", "forwarder_id", "viewer_id", "user_id",
     "sender_id", "member_id", "operator_id", "inviter_id", "invitee_id", "created_by"}
)  # fmt: skip


def people_named(value: Any, found: set[int]) -> set[int]:
    """Every account id a JSON answer gives under a key that names a person."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in PERSON_KEYS and isinstance(item, int):
                found.add(item)
            people_named(item, found)
    elif isinstance(value, list):
        for item in value:
            people_named(item, found)
    return found


async def test_every_route_the_auditor_may_read_shows_no_private_data(
    reach_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    server = reach_server
    identities = {name: fresh_identity() for name in ("alice", "bob", "carol", "dave")}
    alice, bob, carol, dave = [
        await make_user(name, on=server, identity=identity) for name, identity in identities.items()
    ]
    operator, eve = await make_user("operator", on=server), await make_user("eve", on=server)
    reviewer = await make_staff("reviewer", on=server)
    auditor = await make_staff("auditor", on=server)
    private_texts = [
        f"周末一起玩百家乐 {uuid.uuid4().hex}",  # alice's flagged message
        f"he keeps sending this {uuid.uuid4().hex}",  # bob's report detail
        f"I only joked {uuid.uuid4().hex}",  # eve's appeal statement
        f"茶话会{uuid.uuid4().hex[:6]}",  # the private group's title
    ]
    message_text, report_detail, statement, group_title = private_texts

    # alice's message, reported by bob, removed; a post read and forwarded into a private group;
    # a private file alice sent bob.
    chat = (await alice.open_direct(bob.id))["id"]
    message = await alice.send(chat, message_text)
    private_file = await alice.upload(f"{message_text}\n".encode(), "百家乐.txt")
    await alice.send(chat, "", media_ids=[private_file["id"]])
    await bob.report("message", message["id"], "gambling", report_detail)
    case = await case_of(reviewer, "message", message["id"])
    await decide(reviewer, case["id"], "remove")
    account = await public_account(operator, reviewer)
    post = await operator.publish(account["id"], "春茶上市", "春茶上市。正文。")
    group = await group_of(carol, group_title, dave)
    await carol.read_post(post["id"])
    forward = await carol.request(
        "POST", f"/api/v1/posts/{post['id']}/forwards", json={"conversation_id": group["id"]}
    )
    # eve, the one subject of a record here, sanctioned and appealing.
    sanction = await a_sanction(reviewer, eve.id, "warning")
    appeal = await eve.request(
        "POST", "/api/v1/appeals", json={"sanction_id": sanction["id"], "statement": statement}
    )
    await reviewer.request("GET", "/api/v1/admin/appeals")  # content staff read: recorded

    ids = {
        "conversation_id": group["id"],
        "public_account_id": account["id"],
        "post_id": post["id"],
        "forward_id": forward["forward"]["id"],
        "case_id": case["id"],
        "sanction_id": sanction["id"],
        "appeal_id": appeal["id"],
        "subject_type": "user",
        "subject_id": eve.id,
        "user_id": eve.id,  # an avatar: drawn from the id, it names nobody
        "seq": 1,
        "first": 1,
        "rescan_id": 1,
        "media_id": private_file["id"],
    }
    spec = await auditor.request("GET", "/openapi.json")
    answers, refused = [], []
    for _, path in openapi_routes(spec, ("get",)):
        url = path.format(**{name: ids[name] for name in re.findall(r"\{(\w+)\}", path)})
        params = query_parameters(spec, "GET", path, ids)
        answer = await auditor.raw("GET", url, params=params)
        if path.startswith("/api/v1/admin/"):
            assert_error(answer, 403, "role_required")
            refused.append(path)
        elif path == "/api/v1/audit/dsa-statements":  # cn-2014 files none
            assert_error(answer, 422, "dsa_statements_off")
        else:
            assert answer.status_code in (200, 404, 409), (path, answer.text)
            answers.append(answer)
    assert "/api/v1/admin/review/cases/{case_id}" in refused
    assert "/api/v1/admin/reach/forwards/{forward_id}/lineage" in refused

    every_body = b"".join(answer.content for answer in answers)
    for text in private_texts:
        assert text.encode() not in every_body, text
        assert json.dumps(text).strip('"').encode() not in every_body, text
    for person, identity in zip((alice, bob, carol, dave), identities.values(), strict=True):
        assert person.handle.encode() not in every_body
        assert leaks(every_body, identity_secrets(identity)) == []
    named = set()
    for answer in answers:
        if answer.headers.get("content-type", "").startswith("application/json"):
            people_named(answer.json(), named)
    assert named.isdisjoint({alice.id, bob.id, carol.id, dave.id}), named
