"""Registration, login, the caller's profile, logout and session expiry, over real HTTP."""

from __future__ import annotations

import asyncio
from datetime import datetime

import httpx

from tests.conftest import (
    AGREEMENT_VERSION,
    PASSWORD,
    MakeUser,
    Server,
    ServerPool,
    User,
    fresh_identity,
    unique_handle,
)
from tests.support import assert_error


async def register(server: Server, handle: str, **extra: object) -> httpx.Response:
    """POST /accounts with a complete, valid body (a fresh identity) unless `extra` changes it."""
    body = {
        "handle": handle,
        "password": PASSWORD,
        "display_name": "Someone",
        "identity": fresh_identity(),
        "agreement_version": AGREEMENT_VERSION,
        **extra,
    }
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        return await http.post("/api/v1/accounts", json=body)


async def log_in(
    server: Server, handle: str, password: str = PASSWORD, headers: dict[str, str] | None = None
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        body = {"handle": handle, "password": password}
        return await http.post("/api/v1/sessions", json=body, headers=headers)


async def test_registration_returns_the_new_profile(server: Server) -> None:
    handle = unique_handle("dora")
    identity = fresh_identity()
    answer = await register(
        server, handle.upper(), display_name="  Dora the Explorer ", identity=identity
    )

    assert answer.status_code == 201
    profile = answer.json()
    assert set(profile) == {
        "id",
        "handle",
        "display_name",
        "bio",
        "status",
        "role",
        "identity",
        "agreement",
        "created_at",
    }
    assert isinstance(profile["id"], int)
    assert profile["handle"] == handle
    assert profile["display_name"] == "Dora the Explorer"
    assert profile["status"] == "active"
    assert profile["role"] == "user"
    assert profile["identity"] == {
        "id_type": "cn_ric",
        "id_number": identity["id_number"][:6] + "*" * 8 + identity["id_number"][-4:],
        "legal_name": identity["legal_name"][0] + "*" * (len(identity["legal_name"]) - 1),
        "phone": f"+86 {identity['phone'][3:6]}****{identity['phone'][-4:]}",
        # The test servers' stand-in provider matches every identity.
        "status": "provider_verified",
        "phone_confirmed": False,
        "provider_result": "match",
    }
    assert profile["agreement"] == {
        "accepted_version": AGREEMENT_VERSION,
        "current_version": AGREEMENT_VERSION,
        "must_accept": False,
    }
    assert profile["created_at"].endswith("Z")
    datetime.fromisoformat(profile["created_at"])


async def test_registration_needs_an_identity_and_the_current_agreement(server: Server) -> None:
    body = {"handle": unique_handle("erin"), "password": PASSWORD, "display_name": "Erin"}
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        no_identity = await http.post(
            "/api/v1/accounts", json={**body, "agreement_version": AGREEMENT_VERSION}
        )
        no_agreement = await http.post(
            "/api/v1/accounts", json={**body, "identity": fresh_identity()}
        )
        old_agreement = await http.post(
            "/api/v1/accounts",
            json={**body, "identity": fresh_identity(), "agreement_version": "2013.1"},
        )
        null_agreement = await http.post(
            "/api/v1/accounts",
            json={**body, "identity": fresh_identity(), "agreement_version": None},
        )
    assert_error(no_identity, 400, "invalid_request")
    assert "identity" in no_identity.json()["error"]["message"]
    assert_error(no_agreement, 422, "agreement_required")
    assert_error(old_agreement, 422, "agreement_outdated")
    assert_error(null_agreement, 422, "agreement_required")
    # The refusals told the user which version to accept, and made no account.
    assert AGREEMENT_VERSION in old_agreement.json()["error"]["message"]
    assert (await register(server, body["handle"])).status_code == 201


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
    servers: ServerPool, make_user: MakeUser
) -> None:
    # Every malformed handle is counted as one in the failed-login window of its address: the
    # route walks of other tests log in with one from 127.0.0.1, so these logins come from an
    # address of this test's own, through a proxy the server believes.
    proxied = servers.shared(trusted_proxies='["127.0.0.1", "::1"]')
    alice = await make_user("alice", on=proxied)
    from_here = {"X-Forwarded-For": "192.0.2.141"}
    wrong_password = await log_in(proxied, alice.handle, "not the password", headers=from_here)
    unknown_handle = await log_in(proxied, unique_handle("nobody"), headers=from_here)
    malformed_handle = await log_in(proxied, "!", headers=from_here)

    for answer in (wrong_password, unknown_handle, malformed_handle):
        assert_error(answer, 401, "login_failed")
    assert wrong_password.json() == unknown_handle.json() == malformed_handle.json()


async def test_me_is_the_profile_given_at_registration(make_user: MakeUser) -> None:
    identity = fresh_identity(legal_name="欧阳娜娜")
    helen = await make_user("helen", identity=identity)
    me = await helen.me()
    assert me["id"] == helen.id
    assert me["handle"] == helen.handle
    assert me["display_name"] == "Helen"
    assert me["identity"]["legal_name"] == "欧阳**"  # a compound surname stays whole
    assert me["identity"]["id_number"].endswith(identity["id_number"][-4:])
    assert me["identity"]["status"] == "provider_verified"
    assert me["identity"]["phone_confirmed"] is True
    assert me["agreement"]["must_accept"] is False


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
