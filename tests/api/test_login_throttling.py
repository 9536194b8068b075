"""Failed logins are counted per handle and address, and per address: guessing from one place is
refused, more and more slowly, while the account's holder logs in from elsewhere as usual; the
security log records each failure and refusal, never the password."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.conftest import PASSWORD, MakeUser, ServerPool, User
from tests.support import assert_error

ATTACKER, HOLDER = "203.0.113.66", "198.51.100.7"


async def log_in_from(server_url: str, address: str, handle: str, password: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server_url) as http:
        return await http.post(
            "/api/v1/sessions",
            json={"handle": handle, "password": password},
            headers={"X-Forwarded-For": address},
        )


async def within_one_minute_window(seconds_needed: float = 20) -> None:
    """Wait for the next minute when this one has less than `seconds_needed` left. The limiter
    (`limits`' sliding-window counter) counts per clock minute and weighs the last minute's
    count down as the new one goes on: a burst that straddles a minute's end on a slow machine
    is counted as less than it was."""
    left = 60 - time.time() % 60
    if left < seconds_needed:
        await asyncio.sleep(left + 0.1)


async def test_guessing_is_throttled_without_locking_the_holder_out(
    servers: ServerPool, make_user: MakeUser
) -> None:
    server = servers.shared(
        trusted_proxies='["127.0.0.1", "::1"]',
        limits__login_failures_per_account_and_address="5/minute;20/hour",
    )
    victim: User = await make_user("victim", on=server)
    await within_one_minute_window()
    guesses = [
        await log_in_from(server.base_url, ATTACKER, victim.handle, f"guess {n}") for n in range(25)
    ]
    assert [g.status_code for g in guesses[:5]] == [401] * 5
    for refused in guesses[5:]:
        assert_error(refused, 429, "too_many_login_attempts")
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # The right password from the guessing address is refused unchecked too: no oracle.
    right_from_there = await log_in_from(server.base_url, ATTACKER, victim.handle, PASSWORD)
    assert_error(right_from_there, 429, "too_many_login_attempts")
    # The holder, elsewhere, is not locked out.
    holder = await log_in_from(server.base_url, HOLDER, victim.handle, PASSWORD)
    assert holder.status_code == 201
    log = server.log()
    assert f"login failed: account={victim.id} address={ATTACKER}" in log
    assert f"login throttled: address={ATTACKER}" in log
    assert f"login: account={victim.id} address={HOLDER}" in log
    assert "guess 1" not in log and PASSWORD not in log


async def test_a_successful_login_clears_the_count(
    servers: ServerPool, make_user: MakeUser
) -> None:
    server = servers.shared(
        trusted_proxies='["127.0.0.1", "::1"]',
        limits__login_failures_per_account_and_address="5/minute;20/hour",
    )
    typist: User = await make_user("typist", on=server)
    for _ in range(2):
        for n in range(4):
            typo = await log_in_from(server.base_url, HOLDER, typist.handle, f"typo {n}")
            assert typo.status_code == 401
        right = await log_in_from(server.base_url, HOLDER, typist.handle, PASSWORD)
        assert right.status_code == 201


async def test_one_address_trying_many_accounts_is_throttled(
    servers: ServerPool, make_user: MakeUser
) -> None:
    server = servers.shared(
        trusted_proxies='["127.0.0.1", "::1"]', limits__login_failures_per_address="3/hour"
    )
    sprayer = "192.0.2.99"
    answers = [
        await log_in_from(server.base_url, sprayer, f"nobody{n}", "Winter2026!") for n in range(4)
    ]
    assert [a.status_code for a in answers[:3]] == [401] * 3
    assert_error(answers[3], 429, "too_many_login_attempts")
    someone: User = await make_user("someone", on=server)
    elsewhere = await log_in_from(server.base_url, HOLDER, someone.handle, PASSWORD)
    assert elsewhere.status_code == 201
