"""Account security: changing the password ends every other session, the caller lists the
devices they are signed in on and ends any of them, and everyone has a default avatar."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import PASSWORD, MakeUser, Server, User
from tests.support import applied, assert_error
from townhall.client import LiveSocket

pytestmark = pytest.mark.usefixtures("no_server_errors")

NEW_PASSWORD = "a new and longer password"
NO_SUCH_ID = 999_999_999
CLOSE_UNAUTHENTICATED = 4401


async def another_device(user: User, *, device_name: str | None = None, **headers: str) -> User:
    """The same account signed in again, as from another device."""
    device = User(user.base_url, user_id=user.id, handle=user.handle, password=user.password)
    body: dict[str, Any] = {"handle": user.handle, "password": user.password}
    if device_name is not None:
        body["device_name"] = device_name
    answer = await device.http.post("/api/v1/sessions", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    device.token = answer.json()["token"]
    return device


async def change_password(
    user: User, current: str = PASSWORD, new: str = NEW_PASSWORD
) -> httpx.Response:
    return await user.raw(
        "POST", "/api/v1/me/password", json={"current_password": current, "new_password": new}
    )


async def sessions_of(user: User) -> list[dict[str, Any]]:
    page = await user.request("GET", "/api/v1/me/sessions")
    assert page["next_cursor"] is None
    sessions: list[dict[str, Any]] = page["sessions"]
    return sessions


async def log_in(server: Server, handle: str, password: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        return await http.post("/api/v1/sessions", json={"handle": handle, "password": password})


@asynccontextmanager
async def ended_socket(device: User) -> AsyncIterator[LiveSocket]:
    """A live socket of `device`'s; on leaving, it must have been told it was signed out and
    closed as unauthenticated."""
    async with device.websocket() as live:
        yield live
        assert (await asyncio.wait_for(live.receive_until("signed_out"), 5)) == {
            "type": "signed_out"
        }
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(live.receive(), 5)
        assert live.connection.close_code == CLOSE_UNAUTHENTICATED


# Changing the password --------------------------------------------------------------------------


async def test_changing_the_password_ends_every_other_session_and_keeps_this_one(
    server: Server, alice: User
) -> None:
    phone, tablet = await another_device(alice), await another_device(alice)
    async with ended_socket(phone), ended_socket(tablet):
        answer = await change_password(alice)
        assert answer.status_code == 204, answer.text

    for device in (phone, tablet):
        assert_error(await device.raw("GET", "/api/v1/me"), 401, "token_revoked")
    assert (await alice.raw("GET", "/api/v1/me")).status_code == 200
    assert [session["current"] for session in await sessions_of(alice)] == [True]
    assert_error(await log_in(server, alice.handle, PASSWORD), 401, "login_failed")
    assert (await log_in(server, alice.handle, NEW_PASSWORD)).status_code == 201


async def test_a_wrong_current_password_is_refused_and_counted_as_a_failed_login(
    server: Server, alice: User
) -> None:
    phone = await another_device(alice)
    for _ in range(5):  # login_failures_per_account_and_address: 5 a minute
        assert_error(
            await change_password(alice, current="not the password"), 403, "password_wrong"
        )
    # The window is full: even the right password waits, and so does a login from here.
    assert_error(await change_password(alice), 429, "too_many_login_attempts")
    assert_error(await log_in(server, alice.handle, PASSWORD), 429, "too_many_login_attempts")
    # Nothing changed: both sessions work, and the password is the old one.
    for device in (alice, phone):
        assert (await device.raw("GET", "/api/v1/me")).status_code == 200


async def test_of_two_changes_at_once_one_holds_and_the_other_is_told(
    server: Server, alice: User
) -> None:
    phone = await another_device(alice)
    answers = await asyncio.gather(
        change_password(alice, new="the laptop's new password"),
        change_password(phone, new="the phone's new password"),
    )
    codes = sorted(answer.status_code for answer in answers)
    assert codes[0] == 204 and codes[1] in (401, 403, 409), [a.text for a in answers]
    held = (
        "the laptop's new password" if answers[0].status_code == 204 else "the phone's new password"
    )
    lost = ({"the laptop's new password", "the phone's new password"} - {held}).pop()
    assert (await log_in(server, alice.handle, held)).status_code == 201
    assert_error(await log_in(server, alice.handle, lost), 401, "login_failed")


async def test_the_new_password_follows_the_password_rules(alice: User) -> None:
    assert_error(await change_password(alice, new="short"), 400, "password_invalid")
    assert_error(await change_password(alice, new="x" * 257), 400, "password_invalid")


async def test_a_sanctioned_or_closed_account_still_secures_itself(
    make_user: MakeUser, admin: User
) -> None:
    """Changing the password and ending sessions are security actions: no sanction withholds
    them, as none withholds logging out."""
    for kind, fields in (("suspend_updates", {"days": 7}), ("close", {})):
        user = await make_user(kind[:5])
        other = await another_device(user)
        await applied(admin, "user", user.id, kind, **fields)
        assert (await change_password(user)).status_code == 204
        assert_error(await other.raw("GET", "/api/v1/me"), 401, "token_revoked")
        user.password = NEW_PASSWORD
        spare = await another_device(user)
        spare_id = next(s["id"] for s in await sessions_of(user) if not s["current"])
        assert (await user.raw("DELETE", f"/api/v1/me/sessions/{spare_id}")).status_code == 204
        assert_error(await spare.raw("GET", "/api/v1/me"), 401, "token_revoked")


# Sessions and devices ---------------------------------------------------------------------------

SESSION_FIELDS = {"id", "created_at", "last_seen_at", "expires_at", "device", "current"}


async def test_the_sessions_are_listed_with_their_devices_and_the_current_one_marked(
    alice: User,
) -> None:
    phone = await another_device(alice, device_name="  Alice's\tphone\u200b ")
    browser = await another_device(alice, **{"User-Agent": "Mozilla/5.0 " + "x" * 300})
    answer = await alice.raw("GET", "/api/v1/me/sessions")
    assert answer.status_code == 200
    listed = answer.json()["sessions"]

    assert all(set(session) == SESSION_FIELDS for session in listed)
    assert [session["current"] for session in listed] == [False, False, True]  # newest first
    by_device = {session["device"]: session for session in listed}
    assert "Alice's phone" in by_device  # tidied: spaces collapsed, invisible marks gone
    assert any(len(d) == 160 and d.startswith("Mozilla/5.0 x") for d in by_device if d)
    for session in listed:
        assert session["created_at"] <= session["last_seen_at"] < session["expires_at"]
    # The phone sees the same sessions, itself the current one.
    assert [s["id"] for s in await sessions_of(phone)] == [s["id"] for s in listed]
    assert next(s for s in await sessions_of(phone) if s["current"])["device"] == "Alice's phone"
    # No token, and no hash of one, leaves the server.
    for token in (alice.token, phone.token, browser.token):
        assert token is not None
        assert token not in answer.text
        assert hashlib.sha256(token.encode()).hexdigest() not in answer.text


async def test_the_sessions_page_by_cursor(alice: User) -> None:
    for _ in range(2):
        await another_device(alice)
    first = await alice.request("GET", "/api/v1/me/sessions", params={"limit": 2})
    second = await alice.request(
        "GET", "/api/v1/me/sessions", params={"limit": 2, "cursor": first["next_cursor"]}
    )
    ids = [s["id"] for s in first["sessions"] + second["sessions"]]
    assert len(ids) == 3 and ids == sorted(ids, reverse=True)
    assert second["next_cursor"] is None


async def test_ending_a_session_closes_its_sockets_and_stops_its_token(alice: User) -> None:
    phone = await another_device(alice, device_name="phone")
    phone_id = next(s["id"] for s in await sessions_of(alice) if s["device"] == "phone")
    async with ended_socket(phone):
        answer = await alice.raw("DELETE", f"/api/v1/me/sessions/{phone_id}")
        assert answer.status_code == 204

    assert_error(await phone.raw("GET", "/api/v1/me"), 401, "token_revoked")
    assert phone_id not in [s["id"] for s in await sessions_of(alice)]
    ended_again = await alice.raw("DELETE", f"/api/v1/me/sessions/{phone_id}")
    assert_error(ended_again, 404, "session_not_found")
    assert (await alice.raw("GET", "/api/v1/me")).status_code == 200


async def test_ending_the_current_session_is_logging_out(alice: User) -> None:
    (current,) = [s["id"] for s in await sessions_of(alice) if s["current"]]
    assert (await alice.raw("DELETE", f"/api/v1/me/sessions/{current}")).status_code == 204
    assert_error(await alice.raw("GET", "/api/v1/me"), 401, "token_revoked")


async def test_another_users_session_is_as_missing_as_none(alice: User, bob: User) -> None:
    (bobs,) = [s["id"] for s in await sessions_of(bob)]
    for session_id in (bobs, NO_SUCH_ID):
        answer = await alice.raw("DELETE", f"/api/v1/me/sessions/{session_id}")
        assert_error(answer, 404, "session_not_found")
    assert (await bob.raw("GET", "/api/v1/me")).status_code == 200


# The avatar -----------------------------------------------------------------------------------


async def test_everyone_has_a_default_avatar_an_image_tag_can_show(
    server: Server, alice: User, bob: User
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:  # <img> sends no token
        answers = [
            await anonymous.get(f"/api/v1/users/{user_id}/avatar")
            for user_id in (alice.id, alice.id, bob.id)
        ]
    for answer in answers:
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "image/svg+xml"
        assert answer.headers["cache-control"] == "public, max-age=86400"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.text.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
        assert "<script" not in answer.text
    assert answers[0].content == answers[1].content  # the same for ever
    assert answers[0].content != answers[2].content  # and each user's own
