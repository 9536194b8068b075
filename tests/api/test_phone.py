"""The phone check: a one-time code sent through the SMS outbox, its attempts and rate limits,
and an outbox that never holds the full number."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import MakeStaff, MakeUser, Server, ServerPool, User, fresh_identity
from tests.support import (
    assert_error,
    identity_secrets,
    leaks,
    masked_phone,
    sms_codes,
    sms_outbox,
)
from townhall.packs import load_pack

PHONE = load_pack("cn-2014").phone


@pytest.fixture
async def alice(make_user: MakeUser) -> User:
    """A user whose phone is not confirmed yet (make_user confirms it unless told not to)."""
    return await make_user("alice", confirm_phone=False)


@pytest.fixture
async def bob(make_user: MakeUser) -> User:
    return await make_user("bob", confirm_phone=False)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**PHONE.code_length:0{PHONE.code_length}d}"


async def ask_code(user: User, data_dir: Path) -> str:
    sent_before = len(sms_codes(data_dir, user.id))
    answer = await user.raw("POST", "/api/v1/me/phone/code")
    assert answer.status_code == 202, answer.text
    codes = sms_codes(data_dir, user.id)
    assert len(codes) == sent_before + 1
    return codes[-1]


async def verify(user: User, code: object) -> httpx.Response:
    return await user.raw("POST", "/api/v1/me/phone/verify", json={"code": code})


async def test_the_code_from_the_outbox_verifies_the_phone(
    server: Server, make_user: MakeUser
) -> None:
    identity = fresh_identity()
    user = await make_user("phone", identity=identity, confirm_phone=False)
    assert (await user.me())["identity"]["phone_confirmed"] is False

    before = datetime.now(UTC).timestamp()
    answer = await user.raw("POST", "/api/v1/me/phone/code")
    assert answer.status_code == 202
    assert set(answer.json()) == {"expires_at"}
    expires_at = datetime.fromisoformat(answer.json()["expires_at"]).timestamp()
    assert before + PHONE.code_ttl_seconds - 5 <= expires_at <= before + PHONE.code_ttl_seconds + 5

    (line,) = [line for line in sms_outbox(server.data_dir) if line["account_id"] == user.id]
    assert line["to"] == masked_phone(identity["phone"]) == (await user.me())["identity"]["phone"]
    (code,) = sms_codes(server.data_dir, user.id)
    assert len(code) == PHONE.code_length
    assert f"valid {PHONE.code_ttl_seconds // 60} min" in line["text"]

    assert_error(await verify(user, wrong(code)), 422, "code_invalid")
    assert (await user.me())["identity"]["phone_confirmed"] is False
    verified = await verify(user, f" {code} ")
    assert verified.status_code == 200
    assert verified.json() == {"phone_confirmed": True}
    assert (await user.me())["identity"]["phone_confirmed"] is True

    # The code is used up, and a verified phone needs no more codes.
    assert_error(await verify(user, code), 422, "code_expired")
    assert_error(await user.raw("POST", "/api/v1/me/phone/code"), 409, "phone_already_verified")
    outbox = (server.data_dir / "sms-outbox.jsonl").read_bytes()
    assert leaks(outbox, identity_secrets(identity)) == []


async def test_without_a_code_there_is_nothing_to_verify(alice: User) -> None:
    assert_error(await verify(alice, "123456"), 422, "code_expired")
    for body in ({}, {"code": 123456}, {"code": None}, {"code": "1" * 33}, {"code": "1", "x": 1}):
        answer = await alice.raw("POST", "/api/v1/me/phone/verify", json=body)
        assert_error(answer, 400, "invalid_request")


async def test_a_code_opens_only_its_own_account(server: Server, alice: User, bob: User) -> None:
    alices = await ask_code(alice, server.data_dir)
    assert_error(await verify(bob, alices), 422, "code_expired")  # bob has none
    bobs = await ask_code(bob, server.data_dir)
    if bobs != alices:
        assert_error(await verify(bob, alices), 422, "code_invalid")
    assert (await verify(alice, alices)).status_code == 200
    assert (await bob.me())["identity"]["phone_confirmed"] is False


async def test_only_the_newest_code_counts(server: Server, alice: User) -> None:
    first = await ask_code(alice, server.data_dir)
    second = await ask_code(alice, server.data_dir)
    if first != second:
        assert_error(await verify(alice, first), 422, "code_invalid")
    assert (await verify(alice, second)).status_code == 200


async def test_too_many_wrong_codes_lock_the_code_until_a_new_one(
    server: Server, alice: User
) -> None:
    code = await ask_code(alice, server.data_dir)
    for _ in range(PHONE.max_attempts_per_code):
        assert_error(await verify(alice, wrong(code)), 422, "code_invalid")
    # Even the right code is refused now: guessing is over for this code.
    assert_error(await verify(alice, code), 429, "too_many_attempts")
    assert (await alice.me())["identity"]["phone_confirmed"] is False

    fresh = await ask_code(alice, server.data_dir)
    assert (await verify(alice, fresh)).status_code == 200


async def test_concurrent_guesses_get_no_more_attempts(server: Server, alice: User) -> None:
    code = await ask_code(alice, server.data_dir)
    guesses = [
        f"{n:0{PHONE.code_length}d}" for n in range(30) if f"{n:0{PHONE.code_length}d}" != code
    ]
    answers = await asyncio.gather(*(verify(alice, guess) for guess in guesses[:20]))
    codes = sorted(answer.json()["error"]["code"] for answer in answers)
    assert codes.count("code_invalid") == PHONE.max_attempts_per_code
    assert codes.count("too_many_attempts") == 20 - PHONE.max_attempts_per_code
    assert_error(await verify(alice, code), 429, "too_many_attempts")


async def test_too_many_codes_in_an_hour_are_refused(server: Server, alice: User) -> None:
    for _ in range(PHONE.max_codes_per_hour):
        await ask_code(alice, server.data_dir)
    refused = await alice.raw("POST", "/api/v1/me/phone/code")
    assert_error(refused, 429, "too_many_codes")
    # Nothing was sent for the refused request; the last code sent still works.
    codes = sms_codes(server.data_dir, alice.id)
    assert len(codes) == PHONE.max_codes_per_hour
    assert (await verify(alice, codes[-1])).status_code == 200


async def test_concurrent_code_requests_stay_within_the_hourly_cap(
    server: Server, alice: User
) -> None:
    answers = await asyncio.gather(
        *(alice.raw("POST", "/api/v1/me/phone/code") for _ in range(PHONE.max_codes_per_hour + 3))
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [202] * PHONE.max_codes_per_hour + [429] * 3
    assert len(sms_codes(server.data_dir, alice.id)) == PHONE.max_codes_per_hour


async def test_an_expired_code_is_refused(servers: ServerPool, make_user: MakeUser) -> None:
    quick = servers.shared(policy_pack=servers.pack(code_ttl_seconds=1))
    user = await make_user("slow", on=quick, confirm_phone=False)
    code = await ask_code(user, quick.data_dir)
    await asyncio.sleep(1.3)
    assert_error(await verify(user, code), 422, "code_expired")
    assert (await verify(user, await ask_code(user, quick.data_dir))).status_code == 200


async def test_staff_have_no_phone_to_check(make_staff: MakeStaff) -> None:
    reviewer = await make_staff("reviewer")
    assert_error(await reviewer.raw("POST", "/api/v1/me/phone/code"), 404, "identity_not_found")
