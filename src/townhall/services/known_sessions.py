"""Sessions recently checked against the database, so most requests cost no query to
authenticate. This process forgets a session the moment it ends one; a session ended elsewhere
(another node, a CLI command) is forgotten here within KNOWN_SESSION_SECONDS."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from townhall.services.caches import Invalidations, LocalCache, Topic
from townhall.services.principal import Principal

KNOWN_SESSION_SECONDS = 30.0
KNOWN_SESSIONS_MAX = 100_000


@dataclass(frozen=True, slots=True)
class CheckedSession:
    principal: Principal
    expires_at_ms: int  # the session's own end


def _recheck_at(_token_hash: str, checked: CheckedSession, now: float) -> float:
    return min(now + KNOWN_SESSION_SECONDS, checked.expires_at_ms / 1000)


class KnownSessions:
    def __init__(self, invalidations: Invalidations, *, clock: Callable[[], float]) -> None:
        self._invalidations = invalidations
        self._cache: LocalCache[str, CheckedSession] = LocalCache(
            KNOWN_SESSIONS_MAX, expires=_recheck_at, clock=clock
        )
        invalidations.listen(Topic.SESSION, self._cache.forget)
        invalidations.listen(Topic.SESSIONS_OF_ACCOUNT, self._forget_account)
        invalidations.empty_after_gaps(self._cache)

    async def principal(
        self, token_hash: str, check: Callable[[], Awaitable[CheckedSession]]
    ) -> Principal:
        """The session's principal, known or `check`ed against the database."""
        return (await self._cache.get(token_hash, check)).principal

    def forget(self, token_hash: str) -> None:
        self._invalidations.forget(Topic.SESSION, token_hash)

    def forget_account(self, account_id: int) -> None:
        self._invalidations.forget(Topic.SESSIONS_OF_ACCOUNT, account_id)

    def _forget_account(self, account_id: int) -> None:
        self._cache.forget_where(lambda _token, known: known.principal.account_id == account_id)
