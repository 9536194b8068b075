"""Registration attempts are limited per address: refused ones count, so a document number
cannot be probed by trying to register it again and again."""

from __future__ import annotations

from tests.api.test_accounts import register
from tests.conftest import ServerPool, fresh_identity, unique_handle
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
