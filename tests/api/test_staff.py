"""Staff routes under /api/v1/admin: roles, the review queue, claims and decisions, the audited
reveal and its access records, and the blacklist."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.conftest import (
    PASSWORD,
    MakeStaff,
    MakeUser,
    Server,
    ServerPool,
    User,
    fresh_identity,
    post_registration,
    unique_handle,
)
from tests.support import (
    assert_error,
    case_of,
    group_of,
    masked_id_number,
    masked_phone,
    report,
    sent,
)

# The identity desk is the reviewers' alone; the record of its reveals and the blacklist the
# administrators' (who may read the record of every reveal, so they do not reveal). Each call
# names a real subject, who must come out of every refusal untouched. Every route against every
# role, from the permission each declares: tests/api/test_permissions.py.
IDENTITY_DESK_ROUTES = [
    ("GET", "/api/v1/admin/identities", None),
    ("GET", "/api/v1/admin/identities?status=provider_verified&limit=5", None),
    ("POST", "/api/v1/admin/identities/{user_id}/claim", None),
    ("POST", "/api/v1/admin/identities/{user_id}/decision", {"decision": "approve"}),
    (
        "POST",
        "/api/v1/admin/identities/{user_id}/decision",
        {"decision": "reject", "reason": "the photo is blurred"},
    ),
    (
        "POST",
        "/api/v1/admin/identities/{user_id}/reveal",
        {"reason": "police request 118", "reference": "request:TEST-118"},
    ),
]
ADMIN_ROUTES = [
    ("GET", "/api/v1/admin/identity-access", None),
    ("GET", "/api/v1/admin/identity-access?subject_id={user_id}", None),
    ("POST", "/api/v1/admin/blacklist", {"user_id": "{user_id}", "reason": "a fraud ring"}),
    (
        "POST",
        "/api/v1/admin/lexicon/terms",
        {"text": "代开发票", "category": "fraud", "severity": "high"},
    ),
    ("DELETE", "/api/v1/admin/lexicon/terms?text=nothing-like-this", None),
]


def route_calls(routes: list, user_id: int) -> list[tuple[str, str, Any]]:
    calls = []
    for method, path, body in routes:
        if body is not None:
            body = {k: user_id if v == "{user_id}" else v for k, v in body.items()}
        calls.append((method, path.format(user_id=user_id), body))
    return calls


def refusal_code(role: str, method: str) -> str:
    """The auditor is read-only: any write of its is refused as such before its role is
    weighed; every other refusal names the role required."""
    return "read_only_role" if role == "auditor" and method != "GET" else "role_required"


async def call(member: User, method: str, path: str, body: Any = None) -> httpx.Response:
    return await member.raw(method, path, **({} if body is None else {"json": body}))


async def access_records(admin: User, subject_id: int) -> list[dict[str, Any]]:
    answer = await admin.raw(
        "GET", "/api/v1/admin/identity-access", params={"subject_id": subject_id}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["records"]


async def queue(reviewer: User, **params: Any) -> dict[str, Any]:
    answer = await reviewer.raw("GET", "/api/v1/admin/identities", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def queue_item(reviewer: User, user_id: int, status: str) -> dict[str, Any] | None:
    # The queue is in id order and its cursor is the last id seen.
    page = await queue(reviewer, status=status, cursor=str(user_id - 1), limit=1)
    items = [item for item in page["identities"] if item["user_id"] == user_id]
    return items[0] if items else None


# Roles ----------------------------------------------------------------------------------------


async def test_staff_accounts_have_a_role_and_no_identity(make_staff: MakeStaff) -> None:
    for role in ("reviewer", "admin", "auditor"):
        me = await (await make_staff(role)).me()
        assert me["role"] == role
        assert me["identity"] is None
        assert me["agreement"]["must_accept"] is False


async def test_a_plain_user_is_refused_every_staff_route(
    review_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    identity = fresh_identity()
    subject = await make_user("subject", on=review_server, identity=identity)
    intruder = await make_user("intruder", on=review_server)
    for method, path, body in route_calls(IDENTITY_DESK_ROUTES + ADMIN_ROUTES, subject.id):
        assert_error(await call(intruder, method, path, body), 403, "role_required")
    await assert_untouched(subject, identity, review_server, make_staff)


async def test_an_auditor_is_refused_every_staff_route(
    review_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    identity = fresh_identity()
    subject = await make_user("subject", on=review_server, identity=identity)
    auditor = await make_staff("auditor", on=review_server)
    for method, path, body in route_calls(IDENTITY_DESK_ROUTES + ADMIN_ROUTES, subject.id):
        assert_error(await call(auditor, method, path, body), 403, refusal_code("auditor", method))
    await assert_untouched(subject, identity, review_server, make_staff)


async def test_an_admin_is_refused_the_identity_desk_and_a_reviewer_the_admins_routes(
    review_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    identity = fresh_identity()
    subject = await make_user("subject", on=review_server, identity=identity)
    admin = await make_staff("admin", on=review_server)
    reviewer = await make_staff("reviewer", on=review_server)
    for method, path, body in route_calls(IDENTITY_DESK_ROUTES, subject.id):
        assert_error(await call(admin, method, path, body), 403, "role_required")
    for method, path, body in route_calls(ADMIN_ROUTES, subject.id):
        assert_error(await call(reviewer, method, path, body), 403, "role_required")
    await assert_untouched(subject, identity, review_server, make_staff)


async def assert_untouched(
    subject: User, identity: dict[str, str], server: Server, make_staff: MakeStaff
) -> None:
    """Still pending, never claimed or decided, never revealed, not blacklisted."""
    assert (await subject.me())["identity"]["status"] == "pending_review"
    item = await queue_item(await make_staff("reviewer", on=server), subject.id, "pending_review")
    assert item is not None
    assert (item["claimed_by"], item["decided_by"]) == (None, None)
    assert await access_records(await make_staff("admin", on=server), subject.id) == []
    # A listed identity would be refused with 403; this one only meets the cap.
    assert_error(await post_registration(server, identity), 409, "identity_limit")


async def test_every_staff_route_needs_a_token(server: Server, alice: User) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        for method, path, body in route_calls(IDENTITY_DESK_ROUTES + ADMIN_ROUTES, alice.id):
            answer = await http.request(method, path, json=body)
            assert_error(answer, 401, "token_missing")


# The audited reveal ---------------------------------------------------------------------------


async def test_a_reveal_needs_a_real_reason_and_a_refused_one_leaves_no_record(
    alice: User, make_staff: MakeStaff
) -> None:
    reviewer = await make_staff("reviewer")
    admin = await make_staff("admin")
    path = f"/api/v1/admin/identities/{alice.id}/reveal"
    reasons = ({}, {"reason": None}, {"reason": ""}, {"reason": "    "}, {"reason": "why?"})
    placeholders = ({"reason": "aaaaa"}, {"reason": "....."}, {"reason": "1212121"})
    for body in (*reasons, *placeholders):
        refused = await reviewer.raw("POST", path, json=body | {"reference": "request:TEST-118"})
        assert_error(refused, 422, "reason_required")
        assert "identity" not in refused.json()
    assert_error(
        await reviewer.raw(
            "POST", path, json={"reason": "x" * 1001, "reference": "request:TEST-118"}
        ),
        422,
    )
    assert_error(await reviewer.raw("POST", path, json={"reason": 12345}), 400, "invalid_request")
    assert await access_records(admin, alice.id) == []


async def test_every_reveal_writes_one_record_of_who_whom_when_and_why(
    make_user: MakeUser, make_staff: MakeStaff
) -> None:
    identity = fresh_identity(legal_name="司马光")
    subject = await make_user("subject", identity=identity)
    first = await make_staff("reviewer")
    second = await make_staff("reviewer", new=True)
    admin = await make_staff("admin")
    reasons = [
        (first, "  court order 2024-17  "),
        (second, "fraud complaint #882"),
        (first, "re-check"),
    ]
    revealed = []
    for reviewer, reason in reasons:
        before = time.time()
        answer = await reviewer.raw(
            "POST",
            f"/api/v1/admin/identities/{subject.id}/reveal",
            json={"reason": reason, "reference": "request:TEST-118"},
        )
        after = time.time()
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) == {"user_id", "identity", "access_record_id"}
        assert body["user_id"] == subject.id
        assert body["identity"] == identity
        revealed.append((body["access_record_id"], reviewer.id, reason.strip(), before, after))

    records = await access_records(admin, subject.id)
    assert len(records) == len(reasons)
    by_id = {record["id"]: record for record in records}
    assert [record["id"] for record in records] == sorted(by_id, reverse=True)  # newest first
    for record_id, actor_id, reason, before, after in revealed:
        record = by_id[record_id]
        assert set(record) == {"id", "actor_id", "subject_id", "reason", "reference", "at"}
        assert (record["actor_id"], record["subject_id"], record["reason"]) == (
            actor_id,
            subject.id,
            reason,
        )
        assert record["reference"] == "request:TEST-118"
        at = datetime.fromisoformat(record["at"]).timestamp()
        assert before - 1 <= at <= after + 1
    # The unfiltered list holds them too, a page at a time, each page further back.
    newest = await admin.request("GET", "/api/v1/admin/identity-access", params={"limit": 2})
    assert len(newest["records"]) == 2 and newest["next_cursor"] is not None
    older = await admin.request(
        "GET",
        "/api/v1/admin/identity-access",
        params={"limit": 2, "cursor": newest["next_cursor"]},
    )
    assert older["records"][0]["id"] < newest["records"][-1]["id"]
    assert [r["id"] for r in newest["records"] + older["records"]][:3] == [
        record_id for record_id, *_ in reversed(revealed)
    ]
    # Reading the records is not itself a reveal.
    assert len(await access_records(admin, subject.id)) == len(reasons)


async def test_a_reveal_names_what_it_is_for(alice: User, bob: User, make_staff: MakeStaff) -> None:
    reviewer = await make_staff("reviewer")
    path = f"/api/v1/admin/identities/{alice.id}/reveal"
    reason = "fraud complaint against this account"
    for reference in ("", "118", "case:", "case:abc", "case:-1", "file:118", "request:ab"):
        refused = await reviewer.raw("POST", path, json={"reason": reason, "reference": reference})
        assert_error(refused, 400, "reference_invalid")
    missing = await reviewer.raw("POST", path, json={"reason": reason})
    assert_error(missing, 400, "invalid_request")
    no_case = await reviewer.raw("POST", path, json={"reason": reason, "reference": "case:999999"})
    assert_error(no_case, 404, "case_not_found")
    no_appeal = await reviewer.raw(
        "POST", path, json={"reason": reason, "reference": "appeal:999999"}
    )
    assert_error(no_appeal, 404, "appeal_not_found")
    group = (await group_of(alice, "读书会", bob))["id"]
    message = await sent(alice, group, "借我点钱")
    assert (await report(bob, "message", message["id"], "fraud")).status_code == 201
    case = await case_of(reviewer, "message", message["id"])
    looked = await reviewer.raw(
        "POST", path, json={"reason": reason, "reference": f" case:{case['id']} "}
    )
    assert looked.status_code == 200, looked.text
    # The case is about alice's message: it is no reason to look at bob, who reported it.
    bobs = f"/api/v1/admin/identities/{bob.id}/reveal"
    unrelated = await reviewer.raw(
        "POST", bobs, json={"reason": reason, "reference": f"case:{case['id']}"}
    )
    assert_error(unrelated, 422, "reference_unrelated")
    authority = await reviewer.raw(
        "POST", path, json={"reason": reason, "reference": "request:京公网安-2026-118号"}
    )
    assert authority.status_code == 200, authority.text


async def test_reveals_are_limited_per_reviewer_and_alert_the_administrators(
    servers: ServerPool, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    server = servers.shared(
        limits__identity_reveals_per_reviewer_per_hour=4, limits__identity_reveals_alert_per_hour=2
    )
    people = [await make_user(f"person{n}", on=server) for n in range(5)]
    reviewer = await make_staff("reviewer", on=server, new=True)
    other = await make_staff("reviewer", on=server, new=True)
    admin = await make_staff("admin", on=server)
    since = (await admin.request("GET", "/api/v1/sync"))["next"]
    body = {"reason": "checking a fraud ring", "reference": "request:TEST-118"}
    answers = [
        await reviewer.raw("POST", f"/api/v1/admin/identities/{p.id}/reveal", json=body)
        for p in people
    ]
    assert [a.status_code for a in answers[:4]] == [200] * 4
    assert_error(answers[4], 429, "too_many_reveals")
    assert 3000 <= int(answers[4].headers["Retry-After"]) <= 3601
    assert "identity" not in answers[4].json()
    # The limit is the reviewer's own.
    mine = await other.raw("POST", f"/api/v1/admin/identities/{people[4].id}/reveal", json=body)
    assert mine.status_code == 200
    events = (await admin.request("GET", "/api/v1/sync", params={"since": since}))["events"]
    alerts = [e["notice"] for e in events if e["type"] == "notice"]
    assert [(a["kind"], a["reviewer_id"], a["reveals_last_hour"]) for a in alerts] == [
        ("identity_reveals_alert", reviewer.id, 3)
    ]
    records = await access_records(admin, people[4].id)
    assert [r["actor_id"] for r in records] == [other.id]  # the refused look left no record


async def test_there_is_nothing_to_reveal_of_staff_or_of_nobody(make_staff: MakeStaff) -> None:
    reviewer = await make_staff("reviewer")
    admin = await make_staff("admin")
    for user_id in (admin.id, 2**62):
        answer = await reviewer.raw(
            "POST",
            f"/api/v1/admin/identities/{user_id}/reveal",
            json={"reason": "checking an account", "reference": "request:TEST-118"},
        )
        assert_error(answer, 404, "identity_not_found")
    assert await access_records(admin, admin.id) == []
    for user_id in ("0", "-1", "abc", str(2**70)):
        answer = await reviewer.raw(
            "POST",
            f"/api/v1/admin/identities/{user_id}/reveal",
            json={"reason": "a reason", "reference": "request:TEST-118"},
        )
        assert_error(answer, 400, "invalid_request")


# The review queue, claims and decisions -------------------------------------------------------


async def test_the_queue_lists_pending_identities_masked_and_in_pages(
    review_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    identities = [fresh_identity() for _ in range(3)]
    users = [await make_user("pending", on=review_server, identity=i) for i in identities]
    reviewer = await make_staff("reviewer", on=review_server)

    seen: list[dict[str, Any]] = []
    cursor = str(users[0].id - 1)
    while len(seen) < len(users):
        page = await queue(reviewer, status="pending_review", cursor=cursor, limit=2)
        items = page["identities"]
        assert 1 <= len(items) <= 2
        assert [i["user_id"] for i in items] == sorted(i["user_id"] for i in items)
        assert all(i["user_id"] >= users[0].id for i in items)
        assert (page["next_cursor"] is None) == (len(items) < 2)
        seen.extend(i for i in items if i["user_id"] in {u.id for u in users})
        cursor = page["next_cursor"]

    for user, identity, item in zip(users, identities, seen, strict=True):
        assert item["user_id"] == user.id
        assert item["handle"] == user.handle
        assert item["status"] == "pending_review"
        assert item["id_type"] == "cn_ric"
        assert item["id_number"] == masked_id_number(identity["id_number"])
        assert item["legal_name"] == "张*"
        assert item["phone"] == masked_phone(identity["phone"])
        assert (item["claimed_by"], item["claimed_at"], item["decided_by"]) == (None, None, None)
        datetime.fromisoformat(item["submitted_at"])
    # The other lists do not hold them.
    for status in ("format_checked", "provider_verified", "staff_verified", "rejected"):
        assert await queue_item(reviewer, users[0].id, status) is None
    assert_error(
        await reviewer.raw("GET", "/api/v1/admin/identities", params={"status": "all"}),
        400,
        "invalid_request",
    )
    assert_error(
        await reviewer.raw("GET", "/api/v1/admin/identities", params={"limit": 0}),
        400,
        "limit_invalid",
    )


async def test_a_claim_keeps_other_reviewers_off_until_the_decision(
    review_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    subject = await make_user("subject", on=review_server)
    first = await make_staff("reviewer", on=review_server)
    second = await make_staff("reviewer", on=review_server, new=True)
    base = f"/api/v1/admin/identities/{subject.id}"

    claimed = await first.raw("POST", f"{base}/claim")
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["user_id"] == subject.id
    assert claimed.json()["claimed_by"] == first.id
    item = await queue_item(first, subject.id, "pending_review")
    assert item is not None
    assert item["claimed_by"] == first.id
    assert item["claimed_at"] == claimed.json()["claimed_at"]

    assert_error(await second.raw("POST", f"{base}/claim"), 409, "claimed")
    assert_error(
        await second.raw("POST", f"{base}/decision", json={"decision": "approve"}), 409, "claimed"
    )
    assert (await subject.me())["identity"]["status"] == "pending_review"
    assert (await first.raw("POST", f"{base}/claim")).status_code == 200  # one's own, again

    approved = await first.raw("POST", f"{base}/decision", json={"decision": "approve"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "staff_verified"
    assert approved.json()["decided_by"] == first.id
    assert (await subject.me())["identity"]["status"] == "staff_verified"
    verified = await queue_item(first, subject.id, "staff_verified")
    assert verified is not None
    assert verified["decided_by"] == first.id
    assert await queue_item(first, subject.id, "pending_review") is None

    # Decided is decided: neither reviewer can claim or decide it again.
    for reviewer in (first, second):
        assert_error(await reviewer.raw("POST", f"{base}/claim"), 409, "identity_not_pending")
        again = await reviewer.raw(
            "POST", f"{base}/decision", json={"decision": "reject", "reason": "changed my mind"}
        )
        assert_error(again, 409, "identity_not_pending")
    assert (await subject.me())["identity"]["status"] == "staff_verified"


async def test_a_rejection_needs_a_reason_which_the_user_then_sees(
    review_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    subject = await make_user("subject", on=review_server)
    reviewer = await make_staff("reviewer", on=review_server)
    path = f"/api/v1/admin/identities/{subject.id}/decision"
    for reason in (None, "", "    ", "nope", "x" * 1001):
        refused = await reviewer.raw("POST", path, json={"decision": "reject", "reason": reason})
        assert_error(refused, 422, "reason_required")
    for body, code in (
        ({"decision": "maybe"}, "decision_invalid"),
        ({}, "invalid_request"),
        ({"decision": "reject", "reason": "x" * 4097}, "invalid_request"),
    ):
        assert_error(await reviewer.raw("POST", path, json=body), 400, code)
    assert (await subject.me())["identity"]["status"] == "pending_review"

    reason = "the name does not match the document photo"
    rejected = await reviewer.raw(
        "POST", path, json={"decision": "reject", "reason": f"  {reason} "}
    )
    assert rejected.status_code == 200, rejected.text
    shown = (await subject.me())["identity"]
    assert shown["status"] == "rejected"
    assert shown["reason"] == reason
    item = await queue_item(reviewer, subject.id, "rejected")
    assert item is not None
    assert (item["reason"], item["decided_by"]) == (reason, reviewer.id)


async def test_a_provider_verified_identity_is_not_pending(
    alice: User, make_staff: MakeStaff
) -> None:
    reviewer = await make_staff("reviewer")
    base = f"/api/v1/admin/identities/{alice.id}"
    assert_error(await reviewer.raw("POST", f"{base}/claim"), 409, "identity_not_pending")
    answer = await reviewer.raw("POST", f"{base}/decision", json={"decision": "approve"})
    assert_error(answer, 409, "identity_not_pending")
    missing = await reviewer.raw(
        "POST", f"/api/v1/admin/identities/{2**62}/decision", json={"decision": "approve"}
    )
    assert_error(missing, 404, "identity_not_found")


# The blacklist --------------------------------------------------------------------------------


async def test_a_blacklisted_identity_cannot_register_again(
    server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    identity = fresh_identity()
    listed = await make_user("listed", identity=identity)
    admin = await make_staff("admin")
    answer = await admin.raw(
        "POST", "/api/v1/admin/blacklist", json={"user_id": listed.id, "reason": "fraud ring"}
    )
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"user_id": listed.id, "blacklisted": True, "newly_added": True}
    again = await admin.raw(
        "POST", "/api/v1/admin/blacklist", json={"user_id": listed.id, "reason": "fraud ring"}
    )
    assert again.status_code == 201
    assert again.json()["newly_added"] is False

    typed_otherwise = {
        **fresh_identity(),
        "id_number": " " + identity["id_number"].lower(),
        "legal_name": "王五",
    }
    assert_error(await post_registration(server, typed_otherwise), 403, "identity_blacklisted")
    # Not even once the listed account is gone, which frees the identity of its cap.
    assert (await listed.raw("DELETE", "/api/v1/me")).status_code == 204
    refused = await post_registration(server, identity)
    assert_error(refused, 403, "identity_blacklisted")
    assert identity["id_number"] not in refused.text
    # Other identities still register.
    assert (await post_registration(server, fresh_identity())).status_code == 201


async def test_blacklisting_needs_a_reason_and_an_identity(
    alice: User, make_staff: MakeStaff
) -> None:
    admin = await make_staff("admin")
    for reason in (None, "", "bad"):
        answer = await admin.raw(
            "POST", "/api/v1/admin/blacklist", json={"user_id": alice.id, "reason": reason}
        )
        assert_error(answer, 422, "reason_required")
    answer = await admin.raw(
        "POST", "/api/v1/admin/blacklist", json={"user_id": admin.id, "reason": "staff member"}
    )
    assert_error(answer, 404, "identity_not_found")
    answer = await admin.raw("POST", "/api/v1/admin/blacklist", json={"reason": "who?"})
    assert_error(answer, 400, "invalid_request")
    # None of these listed alice.
    assert (await alice.me())["status"] == "active"


# The operator's CLI ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--role", "superuser"), "role"),
        (("--role", "user"), "role"),
        (("--role", "reviewer", "--handle", "x"), "handle"),
    ],
)
def test_create_staff_refuses_a_bad_role_or_handle(
    server: Server, args: tuple[str, ...], message: str
) -> None:
    if "--handle" not in args:
        args = (*args, "--handle", unique_handle("staff"))
    made = server.admin("create-staff", *args, "--password-stdin", stdin=PASSWORD + "\n")
    assert made.returncode != 0
    assert message in made.stderr
    assert "Traceback" not in made.stderr


def test_create_staff_refuses_a_taken_handle(server: Server) -> None:
    taken = server.staff_member("reviewer").handle
    made = server.admin(
        "create-staff", "--handle", taken, "--role", "admin", "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert made.returncode != 0
    assert "handle_taken" in made.stderr
