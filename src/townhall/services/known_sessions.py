"""Sessions recently checked against the database, so most requests cost no query to
authenticate. This process forgets a session the moment it ends one; a session ended elsewhere
(another node, a CLI command) is forgotten here within KNOWN_SESSION_SECONDS."""

from __future__ import annotations

from dataclasses import dataclass

from townhall.services.principal import Principal

KNOWN_SESSION_SECONDS = 30.0
KNOWN_SESSIONS_MAX = 100_000


@dataclass(frozen=True, slots=True)
class _Known:
    principal: Principal
    recheck_at: float  # seconds
    expires_at_ms: int  # the session's own end


class KnownSessions:
    def __init__(self) -> None:
        self._known: dict[str, _Known] = {}
        self.endings = 0  # bumped by every forget: a check begun before one must not be kept

    def find(self, token_hash: str, now: float) -> Principal | None:
        known = self._known.get(token_hash)
        if known is None:
            return None
        if now >= known.recheck_at or now * 1000 >= known.expires_at_ms:
            del self._known[token_hash]
            return None
        return known.principal

    def remember(
        self, principal: Principal, expires_at_ms: int, now: float, *, endings_before: int
    ) -> None:
        if endings_before != self.endings:  # a session may have ended while it was being read
            return
        if len(self._known) >= KNOWN_SESSIONS_MAX:
            del self._known[next(iter(self._known))]  # the oldest entry
        self._known[principal.token_hash] = _Known(
            principal, now + KNOWN_SESSION_SECONDS, expires_at_ms
        )

    def forget(self, token_hash: str) -> None:
        self.endings += 1
        self._known.pop(token_hash, None)

    def forget_account(self, account_id: int) -> None:
        self.endings += 1
        ended = [t for t, known in self._known.items() if known.principal.account_id == account_id]
        for token_hash in ended:
            del self._known[token_hash]
