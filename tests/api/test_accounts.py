"""Registration, login, the caller's profile, logout and session expiry, over real HTTP."""

from __future__ import annotations

import asyncio
from datetime import datetime

import httpx

from tests.conftest import PASSWORD, MakeUser, Server, ServerPool, User, unique_handle
from tests.support import IDENTITY, assert_error


async def register(server: Server, handle: str, **extra: object) -> httpx.Response:
    body = {"handle": handle, "password": PASSWORD, "display_name": "Someone", **extra}
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        return await http.post("/api/v1/accounts", json=body)


async def log_in(server: Server, handle: str, password: str = PASSWORD) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        return await http.post("/api/v1/sessions", json={"handle": handle, "password": password})


async def test_registration_returns_the_new_profile(server: Server) -> None:
    handle = unique_handle("dora")
    answer = await register(server, handle.upper(), display_name="  Dora the Explorer ")

    assert answer.status_code == 201
    profile = answer.json()
    assert set(profile) == {
        "id",
        "handle",
        "display_name",
        "status",
        "identity_on_file",
        "created_at",
    }
    assert isinstance(profile["id"], int)
    assert profile["handle"] == handle
    assert profile["display_name"] == "Dora the Explorer"
    assert profile["status"] == "active"
    assert profile["identity_on_file"] is False
    assert profile["created_at"].endswith("Z")
    datetime.fromisoformat(profile["created_at"])


async def test_registration_with_an_identity_puts_it_on_file(server: Server) -> None:
    answer = await register(
        server, unique_handle("erin"), identity=IDENTITY, agreement_version="v1"
    )
    assert answer.status_code == 201
    assert answer.json()["identity_on_file"] is True


async def test_a_taken_handle_is_refused_whatever_its_case(server: Server) -> None:
    handle = unique_handle("frank")
    assert (await register(server, handle)).status_code == 201

    for taken in (handle, handle.upper(), f"  {handle.title()} "):
        assert_error(await register(server, taken), 409, "handle_taken")


async def test_concurrent_registrations_of_one_handle_make_one_account(server: Server) -> None:
    handle = unique_handle("gina")
    answers = await asyncio.gather(*(register(server, handle) for _ in range(5)))
    assert sorted(answer.status_code for answer in answers) == [201, 409, 409, 409, 409]


async def test_log_in_with_any_case_of_the_handle(alice: User, server: Server) -> None:
    answer = await log_in(server, alice.handle.upper())
    assert answer.status_code == 201
    assert set(answer.json()) == {"token", "expires_at"}
    token = answer.json()["token"]
    assert token != alice.token
    me = await alice.raw("GET", "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["id"] == alice.id


async def test_a_wrong_password_and_an_unknown_handle_fail_alike(
    alice: User, server: Server
) -> None:
    wrong_password = await log_in(server, alice.handle, "not the password")
    unknown_handle = await log_in(server, unique_handle("nobody"))
    malformed_handle = await log_in(server, "!")

    for answer in (wrong_password, unknown_handle, malformed_handle):
        assert_error(answer, 401, "login_failed")
    assert wrong_password.json() == unknown_handle.json() == malformed_handle.json()


async def test_me_is_the_profile_given_at_registration(make_user: MakeUser) -> None:
    helen = await make_user("helen", identity=IDENTITY)
    me = await helen.me()
    assert me["id"] == helen.id
    assert me["handle"] == helen.handle
    assert me["display_name"] == "Helen"
    assert me["identity_on_file"] is True


async def test_a_logged_out_token_is_revoked(alice: User) -> None:
    answer = await alice.raw("DELETE", "/api/v1/sessions/current")
    assert answer.status_code == 204

    revoked = await alice.raw("GET", "/api/v1/me")
    assert_error(revoked, 401, "token_revoked")
    assert revoked.headers["www-authenticate"] == "Bearer"
    assert_error(await alice.raw("DELETE", "/api/v1/sessions/current"), 401, "token_revoked")


async def test_logging_out_ends_only_that_session(alice: User, server: Server) -> None:
    other_device = (await log_in(server, alice.handle)).json()["token"]
    await alice.log_out()

    answer = await alice.raw(
        "GET", "/api/v1/me", headers={"Authorization": f"Bearer {other_device}"}
    )
    assert answer.status_code == 200
    assert answer.json()["id"] == alice.id


async def test_a_session_expires_after_its_lifetime(
    servers: ServerPool, make_user: MakeUser
) -> None:
    short_lived = servers.shared(session_ttl_hours=0.0003)  # about one second
    ivan = await make_user("ivan", on=short_lived)
    answer = await log_in(short_lived, ivan.handle)
    token = answer.json()["token"]
    expires_at = datetime.fromisoformat(answer.json()["expires_at"])
    headers = {"Authorization": f"Bearer {token}"}

    assert (await ivan.raw("GET", "/api/v1/me", headers=headers)).status_code == 200
    await asyncio.sleep(max(0.0, expires_at.timestamp() - datetime.now().timestamp()) + 0.3)

    assert_error(await ivan.raw("GET", "/api/v1/me", headers=headers), 401, "token_expired")
