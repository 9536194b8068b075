"""Registration attempts are limited per address: refused ones count, so a document number
cannot be probed by trying to register it again and again."""

from __future__ import annotations

import httpx

from tests.api.test_accounts import register
from tests.conftest import AGREEMENT_VERSION, PASSWORD, ServerPool, fresh_identity, unique_handle
from tests.support import assert_error


async def test_attempts_past_the_hourly_limit_are_throttled(servers: ServerPool) -> None:
    limited = servers.shared(limits__registrations_per_ip_per_hour=3)
    taken = fresh_identity()
    first = await register(limited, unique_handle("first"), identity=taken)
    assert first.status_code == 201
    # Probing whether a document is registered: each answer is a refusal, each one counts.
    for _ in range(2):
        probe = await register(limited, unique_handle("probe"), identity=taken)
        assert_error(probe, 409, "identity_limit")
    throttled = await register(limited, unique_handle("late"), identity=fresh_identity())
    assert_error(throttled, 429, "too_many_registrations")
    assert "try again in" in throttled.json()["error"]["message"]


async def test_a_forwarded_address_is_believed_only_from_a_trusted_proxy(
    servers: ServerPool,
) -> None:
    direct = servers.shared(limits__registrations_per_ip_per_hour=2)
    proxied = servers.shared(
        limits__registrations_per_ip_per_hour=2, trusted_proxies='["127.0.0.1", "::1"]'
    )
    for server, third in ((direct, 429), (proxied, 201)):
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            answers = [
                await http.post(
                    "/api/v1/accounts",
                    json=registration(unique_handle("fwd")),
                    headers={"X-Forwarded-For": f"203.0.113.{n}"},
                )
                for n in range(3)
            ]
        assert [a.status_code for a in answers] == [201, 201, third]


def registration(handle: str) -> dict[str, object]:
    return {
        "handle": handle,
        "password": PASSWORD,
        "display_name": "Someone",
        "identity": fresh_identity(),
        "agreement_version": AGREEMENT_VERSION,
    }
