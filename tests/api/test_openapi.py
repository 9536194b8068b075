"""/openapi.json describes every answer exactly: each operation names the schema of its success
answer and lists the error statuses it can give, all in the error envelope; it declares the
bearer scheme exactly when it takes a session; nothing of FastAPI's unused 422 is left. And every
success answer of every route is seen once in a run that calls them all, each validated against
the document by the harness of tests/response_validation.py."""

from __future__ import annotations

import asyncio
import io
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
from PIL import Image

from tests.conftest import MakeStaff, MakeUser, Server, ServerPool, User, fresh_identity
from tests.identity_provider import StandInProvider
from tests.response_validation import (
    ResponseCheck,
    Seen,
    body_schema,
    has_body,
    success_responses,
)
from tests.support import (
    CASES,
    FLAGGED,
    SANCTIONS,
    case_of,
    decided_case,
    lifted,
    public_account,
    sent,
    tagged,
)
from townhall.client import TownhallClient
from townhall.domain.errors import ErrorCode

COMPONENTS = "#/components/schemas/"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
Operation = tuple[str, str, dict[str, Any]]


def operations(spec: dict[str, Any]) -> Iterator[Operation]:
    for path, items in spec["paths"].items():
        for method, operation in items.items():
            if method in HTTP_METHODS:
                yield method.upper(), path, operation


async def document(server: Server) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        answer = await anonymous.get("/openapi.json")
    assert answer.status_code == 200
    spec: dict[str, Any] = answer.json()
    return spec


def schema_ref(response: dict[str, Any]) -> str | None:
    schema = body_schema(response)
    ref: str | None = schema.get("$ref")
    return ref


# The document ---------------------------------------------------------------------------------


async def test_every_operation_names_the_schema_of_its_success_answer(server: Server) -> None:
    spec = await document(server)
    components = spec["components"]["schemas"]
    unnamed = []
    for method, path, operation in operations(spec):
        successes = success_responses(operation)
        if not successes:
            unnamed.append(f"{method} {path}: no success answer")
        for status, response in successes.items():
            if status == "204":
                if has_body(response):
                    unnamed.append(f"{method} {path} {status}: a body on 204")
                continue
            ref = schema_ref(response) if has_body(response) else None
            if ref is None or ref.rsplit("/", 1)[-1] not in components:
                unnamed.append(f"{method} {path} {status}: no named schema")
    assert unnamed == [], "\n".join(unnamed)


def errors_of_its_kind(method: str, operation: dict[str, Any]) -> set[str]:
    """What every operation of its kind can answer (see api/openapi.py)."""
    parameters = operation.get("parameters", [])
    body = "requestBody" in operation
    expected = set()
    if parameters or body:
        expected.add("400")  # a parameter or field out of range, JSON that does not parse
    if operation.get("security"):
        expected |= {"401", "403"}
    if any(parameter["in"] == "path" for parameter in parameters):
        expected.add("404")
    if body:
        expected.add("413")  # api/limits.py: the body is over the size limit
    if operation.get("security") or method != "GET":
        expected.add("507")  # a write, or a signed-in read that records the look: disk full
    return expected


async def test_every_operation_declares_its_errors_in_the_error_envelope(server: Server) -> None:
    spec = await document(server)
    problems = []
    for method, path, operation in operations(spec):
        responses = operation["responses"]
        missing = errors_of_its_kind(method, operation) - set(responses)
        if missing:
            problems.append(f"{method} {path}: does not declare {sorted(missing)}")
        if "default" in responses:
            problems.append(f"{method} {path}: a `default` answer hides undeclared statuses")
        for status, response in responses.items():
            # A probe's 503 names each check that failed, for the operator (docs/deploy.md).
            is_error = status[0] in "45" and (method, path, status) != ("GET", "/readyz", "503")
            envelope = f"{COMPONENTS}Error{status}"
            if is_error and (not has_body(response) or schema_ref(response) != envelope):
                problems.append(f"{method} {path} {status}: not the error envelope of {status}")
        if "401" in responses:
            assert "WWW-Authenticate" in responses["401"]["headers"], (method, path)
    assert problems == [], "\n".join(problems)


async def test_each_statuss_envelope_lists_exactly_the_codes_sent_with_that_status(
    server: Server,
) -> None:
    components = (await document(server))["components"]["schemas"]
    envelopes = {name: schema for name, schema in components.items() if name.startswith("Error")}
    assert envelopes, "no error envelopes"
    for name, envelope in envelopes.items():
        status = int(name.removeprefix("Error"))
        listed = envelope["properties"]["error"]["properties"]["code"]["enum"]
        assert set(listed) == {code for code in ErrorCode if code.status == status}, name


async def test_each_thing_on_the_wire_is_one_component_with_a_plain_name(server: Server) -> None:
    # Two models of one name get module-qualified names (`townhall__api__...__Post`): one thing
    # would then be two types in a generated client.
    names = (await document(server))["components"]["schemas"]
    assert [name for name in names if not name.isidentifier() or "__" in name] == []


async def test_operation_ids_are_short_unique_names_a_generated_client_can_use(
    server: Server,
) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(await document(server))]
    assert len(ids) == len(set(ids))
    assert [name for name in ids if not name.isidentifier() or "api_v1" in name] == []


async def test_every_operation_and_parameter_says_what_it_is(server: Server) -> None:
    # FastAPI's default summary is the handler's name title-cased: `review_decide` -> "Decide".
    undescribed = []
    for method, path, operation in operations(await document(server)):
        summary = operation.get("summary", "")
        if not summary or operation["operationId"].endswith(summary.lower().replace(" ", "_")):
            undescribed.append(f"{method} {path}: summary {summary!r}")
        for parameter in operation.get("parameters", []):
            if not parameter.get("description"):
                undescribed.append(f"{method} {path}: parameter {parameter['name']}")
    assert undescribed == [], "\n".join(undescribed)


async def test_integer_bounds_are_integers_within_int64(server: Server) -> None:
    # A float bound such as 9.223372036854776e18 is past int64: strict generators choke on it.
    def bounds(node: Any) -> Iterator[tuple[str, Any]]:
        if isinstance(node, dict):
            if node.get("type") == "integer":
                yield from ((key, node[key]) for key in ("minimum", "maximum") if key in node)
            for value in node.values():
                yield from bounds(value)
        elif isinstance(node, list):
            for value in node:
                yield from bounds(value)

    found = list(bounds(await document(server)))
    assert found, "no integer bounds at all"
    assert [(key, value) for key, value in found if not isinstance(value, int)] == []
    assert max(value for _, value in found) == 2**63 - 1


async def test_nothing_of_fastapis_validation_error_is_left(server: Server) -> None:
    spec = await document(server)
    assert "HTTPValidationError" not in json.dumps(spec)
    assert "ValidationError" not in spec["components"]["schemas"]


async def test_an_operation_names_the_bearer_scheme_exactly_when_it_takes_a_session(
    server: Server,
) -> None:
    spec = await document(server)
    assert spec["components"]["securitySchemes"] == {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "the token of a session: POST /api/v1/sessions",
        }
    }
    wrong = []
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        for method, path, operation in operations(spec):
            answer = await anonymous.request(method, re.sub(r"\{\w+\}", "1", path))
            takes_a_session = (
                answer.status_code == 401 and answer.json()["error"]["code"] == "token_missing"
            )
            if takes_a_session:
                assert answer.headers["WWW-Authenticate"] == "Bearer"
            if "security" not in operation or bool(operation["security"]) != takes_a_session:
                wrong.append(f"{method} {path}: security {operation.get('security')}")
            elif takes_a_session:
                assert operation["security"] == [{"bearer": []}], (method, path)
    assert wrong == [], "\n".join(wrong)


# Every success answer, seen -------------------------------------------------------------------


async def test_every_success_answer_of_every_route_is_seen_and_matches_the_document(
    servers: ServerPool,
    fresh_server: Server,
    review_server: Server,
    make_user: MakeUser,
    make_staff: MakeStaff,
    identity_provider: StandInProvider,
    response_check: ResponseCheck,
) -> None:
    spec = await document(fresh_server)
    with response_check.recording() as seen:
        await every_route_once(
            servers, fresh_server, review_server, make_user, make_staff, identity_provider
        )
    expected: set[Seen] = {
        (method, path, int(status))
        for method, path, operation in operations(spec)
        for status in success_responses(operation)
    }
    missing = sorted(expected - seen)
    assert missing == [], "success answers never seen validated:\n" + "\n".join(map(str, missing))


async def every_route_once(
    servers: ServerPool,
    server: Server,
    review_server: Server,
    make_user: MakeUser,
    make_staff: MakeStaff,
    identity_provider: StandInProvider,
) -> None:
    """Each route called until it answered each of its success statuses: registration, phone
    confirmation and login happen in `make_user`."""
    alice = await make_user("alice", on=server)
    bob = await make_user("bob", on=server)
    carol = await make_user("carol", on=server)
    reviewer = await make_staff("reviewer", on=server)
    admin = await make_staff("admin", on=server)
    await the_account(server, alice, make_user, identity_provider)
    chat = await conversations(alice, bob, carol)
    await media(alice, bob, chat)
    await group_life(alice, bob, carol, await make_user("dave", on=server), reviewer)
    await contacts(alice, bob, carol)
    await public_accounts_and_posts(bob, carol, reviewer, chat)
    await reports_review_and_lexicon(alice, bob, reviewer, admin, chat)
    second_reviewer = await make_staff("reviewer", on=server, new=True)
    await sanctions_and_appeals(alice, bob, carol, reviewer, second_reviewer, admin, chat)
    await identities(server, bob, make_user, reviewer, admin)
    await identity_review(review_server, make_user, make_staff)
    await the_authoritys_views(server, await make_staff("auditor", on=server))
    # The DSA statements: only under a pack that files them.
    eu = servers.shared(policy_pack="eu-dsa")
    await (await make_staff("auditor", on=eu)).request("GET", "/api/v1/audit/dsa-statements")


async def the_account(
    server: Server, alice: User, make_user: MakeUser, identity_provider: StandInProvider
) -> None:
    async with TownhallClient(server.base_url) as anonymous:
        assert (await anonymous.request("GET", "/healthz"))["status"] == "ok"
        assert (await anonymous.request("GET", "/readyz"))["status"] == "ready"
        policy = await anonymous.request("GET", "/api/v1/policy")
        agreement = await anonymous.request("GET", "/api/v1/agreement")
        assert agreement["version"] == policy["agreement"]["version"]
        await anonymous.log_in(alice.handle, alice.password)
        await anonymous.log_out()
        avatar = await anonymous.http.get(f"/api/v1/users/{alice.id}/avatar")
        assert avatar.status_code == 200
        await anonymous.log_in(alice.handle, alice.password)  # a second device of alice's
        sessions = (await alice.request("GET", "/api/v1/me/sessions"))["sessions"]
        other = next(session["id"] for session in sessions if not session["current"])
        await alice.request("DELETE", f"/api/v1/me/sessions/{other}")
    password = {"current_password": alice.password, "new_password": alice.password}
    await alice.request("POST", "/api/v1/me/password", json=password)
    await alice.request("POST", "/api/v1/agreement/accept", json={"version": agreement["version"]})
    await alice.request("PATCH", "/api/v1/me", json={"bio": "读书、喝茶"})
    assert (await alice.me())["bio"] == "读书、喝茶"
    # The provider gives no answer at registration; asked again, it matches.
    identity = fresh_identity()
    identity_provider.answer(identity["id_number"], "down")
    dora = await make_user("dora", on=server, identity=identity, confirm_phone=False)
    identity_provider.answer(identity["id_number"], "match")
    checked = await dora.request("POST", "/api/v1/me/identity/check")
    assert checked["status"] == "provider_verified"
    await dora.request("DELETE", "/api/v1/me")


async def group_life(alice: User, bob: User, carol: User, dave: User, reviewer: User) -> None:
    group = (await alice.create_group("读书会", []))["id"]
    path = f"/api/v1/conversations/{group}"
    await alice.request("POST", f"{path}/members", json={"member_ids": [bob.id]})
    await alice.request("PATCH", path, json={"announcement": "周六见"})
    await alice.request("PUT", f"{path}/admins/{bob.id}")
    await alice.request("DELETE", f"{path}/admins/{bob.id}")
    await alice.request("PUT", f"{path}/mutes/{bob.id}")
    await alice.request("DELETE", f"{path}/mutes/{bob.id}")
    link = await alice.request("POST", f"{path}/links", json={})
    await alice.request("GET", f"{path}/links")
    await carol.request("POST", "/api/v1/join-links/preview", json={"token": link["token"]})
    await carol.request("POST", "/api/v1/join-links/join", json={"token": link["token"]})
    await alice.request("DELETE", f"{path}/members/{carol.id}")
    await alice.request("DELETE", f"{path}/links/{link['id']}")
    asking = await alice.request("POST", f"{path}/links", json={"needs_approval": True})
    for user in (carol, dave):
        await user.request("POST", "/api/v1/join-links/join", json={"token": asking["token"]})
    await alice.request("GET", f"{path}/join-requests")
    await alice.request("POST", f"{path}/join-requests/{carol.id}/approve")
    await alice.request("POST", f"{path}/join-requests/{dave.id}/decline")
    await carol.request("POST", f"{path}/leave")
    await alice.request("POST", f"{path}/owner", json={"user_id": bob.id})
    await reviewer.request("GET", f"/api/v1/admin/groups/{group}/history")
    await bob.request("DELETE", path)


async def conversations(alice: User, bob: User, carol: User) -> int:
    chat = (await alice.open_direct(bob.id))["id"]
    assert (await bob.open_direct(alice.id))["id"] == chat  # 200: it was there
    group = await alice.create_group("茶话会", [bob.id, carol.id])
    (invited,) = (await carol.request("GET", "/api/v1/invitations"))["invitations"]
    await carol.request("POST", f"/api/v1/invitations/{invited['conversation_id']}/decline")
    await bob.accept_invitation(group["id"])
    await bob.request("GET", "/api/v1/conversations")
    await bob.request("GET", f"/api/v1/conversations/{group['id']}")
    message = await alice.send(chat, "你好", client_id="hello-once")
    assert await alice.send(chat, "你好", client_id="hello-once") == message  # 200: a resend
    await bob.request("POST", f"/api/v1/conversations/{chat}/read", json={"seq": message["seq"]})
    oops = await alice.send(chat, "发错了")
    await alice.request("POST", f"/api/v1/conversations/{chat}/messages/{oops['id']}/recall")
    await bob.request("GET", "/api/v1/conversations")  # a recalled last message, read state
    await bob.history(chat)
    await bob.request("GET", "/api/v1/search/messages", params={"q": "你好"})
    await bob.sync()
    return int(chat)


async def media(alice: User, bob: User, chat: int) -> None:
    picture = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(picture, "JPEG")
    image = await alice.upload(picture.getvalue())
    await alice.send(chat, "", media_ids=[image["id"]])
    for path in (f"/api/v1/media/{image['id']}", f"/api/v1/media/{image['id']}/thumbnail"):
        assert (await bob.raw("GET", path)).status_code == 200
        assert (await bob.raw("GET", path, headers={"Range": "bytes=0-9"})).status_code == 206


async def contacts(alice: User, bob: User, carol: User) -> None:
    await alice.request("POST", "/api/v1/contacts/search/handle", json={"handle": bob.handle})
    await alice.request("GET", "/api/v1/users", params=[("id", bob.id), ("id", alice.id)])
    await alice.request("POST", "/api/v1/contacts/search/phone", json={"phone": "+8613912345678"})
    await bob.request("PUT", "/api/v1/contacts/privacy", json={"findable_by_phone": True})
    await bob.request("GET", "/api/v1/contacts/privacy")
    for requester, answer in ((alice, "accept"), (carol, "decline"), (carol, "ignore")):
        await requester.request_friend(bob.id, "你好")
        await bob.request("GET", "/api/v1/friend-requests")
        await bob.answer_friend(requester.id, answer)
    await bob.request("PUT", f"/api/v1/contacts/{alice.id}/remark", json={"remark": "老同学"})
    await bob.request("PUT", f"/api/v1/contacts/{carol.id}/block")
    await bob.request("GET", "/api/v1/contacts")
    await bob.request("DELETE", f"/api/v1/contacts/{carol.id}/block")
    await bob.request("DELETE", f"/api/v1/contacts/{alice.id}")


async def public_accounts_and_posts(bob: User, carol: User, reviewer: User, chat: int) -> None:
    applied = await public_account(carol, account_type="service")
    await reviewer.request("GET", "/api/v1/admin/public-accounts")
    await reviewer.request(
        "POST",
        f"/api/v1/admin/public-accounts/{applied['id']}/decision",
        json={"decision": "approve"},
    )
    account = applied["id"]
    await carol.request("GET", "/api/v1/me/public-accounts")
    await carol.request("GET", "/api/v1/public-accounts")
    await bob.request("GET", f"/api/v1/public-accounts/{account}")
    await bob.subscribe(account)
    post = await carol.publish(account, "开张", "今天开张")
    deleted = await carol.publish(account, "更正", "稍后删除")
    await carol.request("DELETE", f"/api/v1/posts/{deleted['id']}")
    await bob.request("GET", f"/api/v1/public-accounts/{account}/posts")
    await bob.request("GET", "/api/v1/search/public-accounts", params={"q": applied["name"]})
    await bob.request("GET", "/api/v1/search/posts", params={"q": "开张"})
    await bob.timeline()
    await bob.read_post(post["id"])
    forwarded = await bob.forward(post["id"], chat)
    await reviewer.request(
        "GET", f"/api/v1/admin/reach/forwards/{forwarded['forward']['id']}/lineage"
    )
    await reviewer.request("GET", f"/api/v1/admin/reach/public-accounts/{account}")
    await reviewer.request("GET", "/api/v1/admin/reach/escalations")
    await bob.request("DELETE", f"/api/v1/public-accounts/{account}/subscription")


async def reports_review_and_lexicon(
    alice: User, bob: User, reviewer: User, admin: User, chat: int
) -> None:
    message = await sent(alice, chat, "借我点钱")
    first = await bob.report("message", message["id"], "fraud")
    assert await bob.report("message", message["id"], "fraud") == first  # 200: already filed
    await bob.request("GET", "/api/v1/reports")

    flagged = await sent(alice, chat, tagged(FLAGGED))
    case = await case_of(reviewer, "message", flagged["id"])
    await reviewer.request("GET", "/api/v1/admin/review/summary")
    await reviewer.request("GET", f"{CASES}/{case['id']}")
    await reviewer.request("PUT", f"{CASES}/{case['id']}/claim")
    await reviewer.request("DELETE", f"{CASES}/{case['id']}/claim")
    again = await sent(alice, chat, tagged(FLAGGED))
    other = await case_of(reviewer, "message", again["id"])
    await reviewer.request(
        "POST",
        "/api/v1/admin/review/decisions",
        json={"case_ids": [other["id"]], "decision": "approve", "reason": "a joke"},
    )

    await reviewer.request("GET", "/api/v1/admin/lexicon")
    await reviewer.request(
        "POST", "/api/v1/admin/lexicon/check", json={"surface": "direct", "text": "你好"}
    )
    term = f"代开发票{uuid.uuid4().hex[:6]}"
    await admin.request(
        "POST",
        "/api/v1/admin/lexicon/terms",
        json={"text": term, "category": "fraud", "severity": "high"},
    )
    await admin.request("DELETE", "/api/v1/admin/lexicon/terms", params={"text": term})
    await reviewer.request("GET", "/api/v1/admin/moderation/statements")
    await reviewer.request("GET", "/api/v1/admin/moderation/hash-bank")
    hashed = uuid.uuid4().hex * 2  # a PDQ hash no picture has
    hashes = "/api/v1/admin/moderation/image-hashes"
    listed = await admin.raw(
        "POST", hashes, params={"list": "fraud"}, content=f"pdq {hashed}\n".encode()
    )
    assert listed.status_code == 201, listed.text
    assert (await admin.raw("GET", f"{hashes}/export")).status_code == 200
    assert (await admin.raw("DELETE", hashes, params={"pdq": hashed})).status_code == 204
    await reviewer.request("GET", "/api/v1/admin/moderation/trainings")
    since = {"since": "2026-01-01T00:00:00Z"}
    rescan = await admin.request("POST", "/api/v1/admin/moderation/rescans", json=since)
    await reviewer.request("GET", f"/api/v1/admin/moderation/rescans/{rescan['id']}")
    await reviewer.request("GET", "/api/v1/admin/moderation/rescans")


async def sanctions_and_appeals(
    alice: User,
    bob: User,
    carol: User,
    reviewer: User,
    second_reviewer: User,
    admin: User,
    chat: int,
) -> None:
    flagged = await sent(alice, chat, tagged(FLAGGED))
    case = await case_of(reviewer, "message", flagged["id"])
    await decided_case(reviewer, case["id"], "remove", "gambling ad")
    limit = await admin.request(
        "POST",
        SANCTIONS,
        json={
            "subject_type": "user",
            "subject_id": alice.id,
            "kind": "limit_publication",
            "reason": "gambling ads",
            "case_id": case["id"],
            "days": 7,
        },
    )
    await reviewer.request("GET", SANCTIONS)
    await reviewer.request(
        "GET", f"{SANCTIONS}/standing", params={"subject_type": "user", "subject_id": alice.id}
    )
    await reviewer.request("GET", f"{SANCTIONS}/{limit['id']}")
    await reviewer.request("GET", "/api/v1/admin/users", params={"id": [alice.id, reviewer.id]})
    filed = await alice.request(
        "POST",
        "/api/v1/appeals",
        json={"sanction_id": limit["id"], "statement": "it was a joke among friends"},
    )
    await alice.request("GET", "/api/v1/appeals")
    await second_reviewer.request("GET", "/api/v1/admin/appeals")
    await second_reviewer.request(
        "POST",
        f"/api/v1/admin/appeals/{filed['id']}/decision",
        json={"verdict": "uphold", "reason": "it was an advertisement"},
    )
    await lifted(admin, limit["id"])
    await alice.request("GET", "/api/v1/notices")  # the removal, the sanction, its appeal, its end
    await reviewer.request(
        "POST",
        "/api/v1/admin/identity-links",
        json={"user_id": bob.id, "other_user_id": carol.id, "reason": "one person"},
    )
    await reviewer.request(
        "POST",
        "/api/v1/admin/identity-links/unlink",
        json={"user_id": carol.id, "reason": "two people after all"},
    )


async def identities(
    server: Server, bob: User, make_user: MakeUser, reviewer: User, admin: User
) -> None:
    await reviewer.request("GET", "/api/v1/admin/identities")
    await reviewer.request(
        "POST",
        f"/api/v1/admin/identities/{bob.id}/reveal",
        json={"reason": "a court order", "reference": "request:TEST-118"},
    )
    await admin.request("GET", "/api/v1/admin/identity-access")
    eve = await make_user("eve", on=server, confirm_phone=False)
    await admin.request(
        "POST", "/api/v1/admin/blacklist", json={"user_id": eve.id, "reason": "fraud ring"}
    )


async def identity_review(server: Server, make_user: MakeUser, make_staff: MakeStaff) -> None:
    """On a server whose pack has a reviewer confirm every identity."""
    frank = await make_user("frank", on=server, confirm_phone=False)
    reviewer = await make_staff("reviewer", on=server)
    await reviewer.request("POST", f"/api/v1/admin/identities/{frank.id}/claim")
    await reviewer.request(
        "POST", f"/api/v1/admin/identities/{frank.id}/decision", json={"decision": "approve"}
    )


async def the_authoritys_views(server: Server, auditor: User) -> None:
    lists = ("filings", "cases", "sanctions", "reports", "escalations")
    for view in (*lists, "stats", "queues", "log"):
        await auditor.request("GET", f"/api/v1/audit/{view}")
    signed = await asyncio.to_thread(server.cli, "audit", "checkpoint")
    assert signed.returncode == 0, signed.stderr
    await auditor.request("GET", "/api/v1/audit/log/checkpoint")
    await auditor.request("GET", "/api/v1/audit/log/proofs/inclusion", params={"seq": 1})
    await auditor.request("GET", "/api/v1/audit/log/proofs/consistency", params={"first": 1})
