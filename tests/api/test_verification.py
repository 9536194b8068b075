"""Verification that verifies: a checksum makes an identity `format_checked`, not verified; the
operator's identity-verification provider (here a stand-in speaking the documented contract) or a
reviewer verifies it; the pack says which statuses and whether a confirmed phone each capability
needs."""

from __future__ import annotations

import json
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
from tests.identity_provider import StandInProvider
from tests.support import (
    account_name,
    assert_error,
    confirm_phone_of,
    identity_secrets,
    leaks,
    send,
)

QUEUE = "/api/v1/admin/identities"


@pytest.fixture
def unverified_server(servers: ServerPool) -> Server:
    """The default pack and no identity-verification provider, as `make run` starts it."""
    return servers.shared(verifier="none")


async def create_group(user: User, *members: User) -> httpx.Response:
    return await user.raw(
        "POST",
        "/api/v1/conversations",
        json={"kind": "group", "title": "读书会", "member_ids": [m.id for m in members]},
    )


async def apply_for_account(user: User, **papers: str) -> httpx.Response:
    body = {"name": account_name(), "category": "individual", "account_type": "subscription"}
    return await user.raw("POST", "/api/v1/public-accounts", json={**body, **papers})


async def check_again(user: User) -> httpx.Response:
    return await user.raw("POST", "/api/v1/me/identity/check")


async def identity_of(user: User) -> dict[str, Any]:
    return (await user.me())["identity"]


async def approve(reviewer: User, user: User) -> dict[str, Any]:
    answer = await reviewer.raw("POST", f"{QUEUE}/{user.id}/decision", json={"decision": "approve"})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def queued(reviewer: User, status: str, user: User) -> dict[str, Any] | None:
    answer = await reviewer.raw(
        "GET", QUEUE, params={"status": status, "cursor": str(user.id - 1), "limit": 1}
    )
    assert answer.status_code == 200, answer.text
    return next((i for i in answer.json()["identities"] if i["user_id"] == user.id), None)


# A checksum is not verification ------------------------------------------------------------------


async def test_a_checksum_valid_number_is_only_format_checked_and_cannot_make_a_group(
    unverified_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    alice = await make_user("alice", on=unverified_server, confirm_phone=False)
    bob = await make_user("bob", on=unverified_server, confirm_phone=False)
    shown = await identity_of(alice)
    assert (shown["status"], shown["phone_confirmed"], shown["provider_result"]) == (
        "format_checked",
        False,
        None,
    )

    refused = await create_group(alice, bob)
    assert_error(refused, 422, "identity_unverified")
    assert "provider_verified or staff_verified" in refused.json()["error"]["message"]
    assert "format_checked" in refused.json()["error"]["message"]
    # A confirmed phone alone is not enough either.
    await confirm_phone_of(alice, unverified_server.data_dir)
    assert (await identity_of(alice))["phone_confirmed"] is True
    assert_error(await create_group(alice, bob), 422, "identity_unverified")
    # One-to-one chat asks nothing of the identity under cn-2014.
    chat = (await alice.open_direct(bob.id))["id"]
    assert (await send(alice, chat, "你好")).status_code == 201

    # A reviewer confirms the identity from the queue of format-checked ones.
    reviewer = await make_staff("reviewer", on=unverified_server)
    item = await queued(reviewer, "format_checked", alice)
    assert item is not None
    assert (item["status"], item["phone_confirmed"], item["provider_result"]) == (
        "format_checked",
        True,
        None,
    )
    assert (await approve(reviewer, alice))["status"] == "staff_verified"
    assert await queued(reviewer, "format_checked", alice) is None
    assert (await queued(reviewer, "staff_verified", alice) or {}).get("decided_by") == reviewer.id
    assert (await identity_of(alice))["status"] == "staff_verified"
    assert (await create_group(alice, bob)).status_code == 201


async def test_asking_for_a_check_without_a_provider_says_there_is_none(
    unverified_server: Server, make_user: MakeUser
) -> None:
    alice = await make_user("alice", on=unverified_server, confirm_phone=False)
    assert_error(await check_again(alice), 409, "no_verifier")


async def test_a_verified_identity_still_needs_a_confirmed_phone(
    unverified_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    carol = await make_user("carol", on=unverified_server, confirm_phone=False)
    dave = await make_user("dave", on=unverified_server, confirm_phone=False)
    await approve(await make_staff("reviewer", on=unverified_server), carol)

    refused = await create_group(carol, dave)
    assert_error(refused, 422, "phone_unconfirmed")
    assert "/api/v1/me/phone/code" in refused.json()["error"]["message"]
    assert_error(await apply_for_account(carol), 422, "phone_unconfirmed")

    await confirm_phone_of(carol, unverified_server.data_dir)
    assert (await create_group(carol, dave)).status_code == 201
    assert (await apply_for_account(carol)).status_code == 201


# The identity-verification provider -------------------------------------------------------------


def log_since(server: Server, offset: int) -> str:
    return server.log_file.read_bytes()[offset:].decode(errors="replace")


async def test_the_provider_verifies_an_identity_at_registration(
    server: Server, make_user: MakeUser, identity_provider: StandInProvider
) -> None:
    identity = fresh_identity()
    alice = await make_user("alice", identity=identity, confirm_phone=False)
    bob = await make_user("bob")

    shown = await identity_of(alice)
    assert (shown["status"], shown["provider_result"], shown["phone_confirmed"]) == (
        "provider_verified",
        "match",
        False,
    )
    asked = identity_provider.requests_about(identity["id_number"])
    assert sorted(request.target for request in asked) == ["/identity", "/phone-holder"]
    assert_error(await create_group(alice, bob), 422, "phone_unconfirmed")
    await confirm_phone_of(alice, server.data_dir)
    assert (await identity_of(alice))["phone_confirmed"] is True
    assert (await create_group(alice, bob)).status_code == 201
    # Verified: there is nothing to check again.
    assert_error(await check_again(alice), 409, "identity_not_checkable")


async def test_personal_data_goes_only_in_the_request_body_to_the_configured_url(
    server: Server, make_user: MakeUser, identity_provider: StandInProvider
) -> None:
    identity = fresh_identity(legal_name="司马相如")
    await make_user("private", identity=identity, confirm_phone=False)

    asked = {r.target: r for r in identity_provider.requests_about(identity["id_number"])}
    # The request targets carry no query and nothing of the person.
    assert set(asked) == {"/identity", "/phone-holder"}
    document = {key: identity[key] for key in ("legal_name", "id_type", "id_number")}
    assert asked["/identity"].json() == document
    assert asked["/phone-holder"].json() == {**document, "phone": identity["phone"]}
    secrets = identity_secrets(identity)
    for request in asked.values():
        assert request.method == "POST"
        assert request.headers["authorization"] == f"Bearer {identity_provider.secret}"
        assert request.headers["content-type"] == "application/json"
        assert len(request.headers["x-request-id"]) == 32
        outside_the_body = json.dumps(request.headers).encode() + request.target.encode()
        assert leaks(outside_the_body, secrets) == []
    assert leaks(server.log_file.read_bytes(), secrets) == []


async def test_an_identity_the_provider_does_not_match_is_refused(
    server: Server, identity_provider: StandInProvider
) -> None:
    identity = fresh_identity()
    identity_provider.answer(identity["id_number"], "no_match")

    refused = await post_registration(server, identity)

    assert_error(refused, 422, "identity_not_matched")
    assert "identity.legal_name" in refused.json()["error"]["message"]
    assert leaks(refused.content, identity_secrets(identity)) == []
    # Nothing was registered: once the register matches, the document registers.
    identity_provider.answer(identity["id_number"], "match")
    assert (await post_registration(server, identity)).status_code == 201


@pytest.mark.parametrize(
    ("register", "carrier", "status"),
    [
        ("match", "no_match", "provider_verified"),  # a phone in a relative's name refuses nothing
        ("down", "match", "provider_verified"),  # the carrier's real-name records stand in
        ("down", "no_match", "format_checked"),
        ("down", "down", "format_checked"),
    ],
)
async def test_the_register_decides_and_the_carrier_stands_in_when_it_is_silent(
    make_user: MakeUser,
    identity_provider: StandInProvider,
    register: str,
    carrier: str,
    status: str,
) -> None:
    identity = fresh_identity()
    identity_provider.answer(identity["id_number"], register, carrier)
    user = await make_user("someone", identity=identity)
    assert (await identity_of(user))["status"] == status


async def test_a_provider_that_is_down_leaves_the_identity_format_checked_until_checked_again(
    server: Server, make_user: MakeUser, identity_provider: StandInProvider
) -> None:
    identity = fresh_identity()
    identity_provider.answer(identity["id_number"], "down")
    log_start = server.log_file.stat().st_size

    alice = await make_user("alice", identity=identity)  # registration goes through
    bob = await make_user("bob")

    shown = await identity_of(alice)
    assert (shown["status"], shown["provider_result"]) == ("format_checked", None)
    # Each check was tried again once (verifier_retries = 1), then given up, and said so.
    assert len(identity_provider.requests_about(identity["id_number"])) == 4
    assert "identity provider identity check: answered 503, 2 attempt(s)" in log_since(
        server, log_start
    )
    assert_error(await create_group(alice, bob), 422, "identity_unverified")
    assert_error(await check_again(alice), 503, "verifier_unavailable")

    identity_provider.answer(identity["id_number"], "match")
    checked = await check_again(alice)
    assert checked.status_code == 200, checked.text
    assert (checked.json()["status"], checked.json()["provider_result"]) == (
        "provider_verified",
        "match",
    )
    assert (await create_group(alice, bob)).status_code == 201
    assert_error(await check_again(alice), 409, "identity_not_checkable")


async def test_a_later_no_match_leaves_the_account_to_a_reviewer(
    server: Server,
    make_user: MakeUser,
    make_staff: MakeStaff,
    identity_provider: StandInProvider,
) -> None:
    identity = fresh_identity()
    identity_provider.answer(identity["id_number"], "down")
    alice = await make_user("alice", identity=identity)
    identity_provider.answer(identity["id_number"], "no_match")

    checked = await check_again(alice)

    assert checked.status_code == 200, checked.text
    assert (checked.json()["status"], checked.json()["provider_result"]) == (
        "format_checked",
        "no_match",
    )
    assert_error(await check_again(alice), 409, "identity_not_checkable")
    reviewer = await make_staff("reviewer")
    item = await queued(reviewer, "format_checked", alice)
    assert item is not None
    assert item["provider_result"] == "no_match"


@pytest.mark.parametrize(("answer", "attempts"), [("slow", 2), ("garbage", 1)])
async def test_a_slow_or_garbled_provider_is_no_answer(
    servers: ServerPool,
    make_user: MakeUser,
    identity_provider: StandInProvider,
    answer: str,
    attempts: int,
) -> None:
    impatient = servers.shared(verifier_timeout_seconds=0.3)
    identity = fresh_identity()
    identity_provider.answer(identity["id_number"], answer)

    user = await make_user("someone", on=impatient, identity=identity)

    assert (await identity_of(user))["status"] == "format_checked"
    # A timeout is tried again; a 200 without an answer is not.
    assert len(identity_provider.requests_about(identity["id_number"])) == 2 * attempts


async def test_a_wrong_secret_is_refused_by_the_provider_and_said_in_the_log(
    servers: ServerPool, make_user: MakeUser, identity_provider: StandInProvider
) -> None:
    wrong_secret = servers.root / "wrong-verifier-secret"
    wrong_secret.write_text("not the provider's secret\n", encoding="utf-8")
    misconfigured = servers.start(verifier_secret_file=str(wrong_secret))
    try:
        identity = fresh_identity()
        user = await make_user("someone", on=misconfigured, identity=identity)
        assert (await identity_of(user))["status"] == "format_checked"
        # A 401 is not tried again: the request itself is wrong.
        asked = identity_provider.requests_about(identity["id_number"])
        assert [r.headers["authorization"] for r in asked] == [
            "Bearer not the provider's secret"
        ] * 2
        assert "check answered 401 (a wrong verifier_url or secret?)" in misconfigured.log()
    finally:
        misconfigured.stop()


async def test_under_review_mode_the_provider_informs_the_reviewer_but_does_not_decide(
    review_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    pending = await make_user("pending", on=review_server)
    reviewer = await make_staff("reviewer", on=review_server)

    shown = await identity_of(pending)
    assert (shown["status"], shown["provider_result"]) == ("pending_review", "match")
    item = await queued(reviewer, "pending_review", pending)
    assert item is not None
    assert (item["provider_result"], item["phone_confirmed"]) == ("match", True)
    assert_error(await check_again(pending), 409, "identity_not_checkable")
    assert (await approve(reviewer, pending))["status"] == "staff_verified"


async def test_staff_have_no_identity_to_check(make_staff: MakeStaff) -> None:
    reviewer = await make_staff("reviewer")
    assert_error(await check_again(reviewer), 404, "identity_not_found")


async def test_the_policy_shows_what_each_capability_needs(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        requirements = (await http.get("/api/v1/policy")).json()["identity"]["requirements"]
    verified = {"accepted": ["provider_verified", "staff_verified"], "phone_confirmed": True}
    assert requirements == {
        "create_group": verified,
        "send_group": verified,
        "apply_public_account": verified,
        "publish_post": verified,
    }
