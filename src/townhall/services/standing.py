"""Whether an account may publish: a verified identity and the current agreement accepted.

Checked on every group send, so the answer is cached per account and forgotten whenever a
review decision or an acceptance changes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from townhall.domain.accounts import Verification
from townhall.domain.errors import PolicyRefusal
from townhall.domain.policy import PolicyPack
from townhall.store import accounts as account_store
from townhall.store import identities as identity_store
from townhall.store.database import Database

STANDING_CACHE_MAX = 100_000


@dataclass(frozen=True, slots=True)
class Standing:
    verified: bool
    accepted_version: str | None


class Standings:
    def __init__(self, database: Database, pack: PolicyPack) -> None:
        self._db = database
        self._pack = pack
        self._cache: dict[int, Standing] = {}
        self._changes = 0  # bumped by every forget: a read begun before it must not be cached

    def forget(self, account_id: int) -> None:
        self._changes += 1
        self._cache.pop(account_id, None)

    async def of(self, account_id: int) -> Standing:
        standing = self._cache.get(account_id)
        if standing is None:
            changes_before = self._changes
            async with self._db.reading() as conn:
                identity = await identity_store.get(conn, account_id)
                version = self._pack.agreement.version
                accepted = await account_store.has_accepted(conn, account_id, version)
            standing = Standing(
                verified=identity is not None and identity.status == Verification.VERIFIED,
                accepted_version=version if accepted else None,
            )
            if self._changes == changes_before:
                if len(self._cache) >= STANDING_CACHE_MAX:
                    del self._cache[next(iter(self._cache))]
                self._cache[account_id] = standing
        return standing

    async def require_may_publish(self, account_id: int) -> None:
        """Publishing to many (a group, later a public account) needs both."""
        standing = await self.of(account_id)
        if not standing.verified:
            raise PolicyRefusal("publishing needs a verified identity", code="identity_unverified")
        if standing.accepted_version != self._pack.agreement.version:
            raise PolicyRefusal(
                f"accept the user agreement version {self._pack.agreement.version} first",
                code="agreement_outdated",
            )

    async def require_may_chat_direct(self, account_id: int) -> None:
        if self._pack.identity.unverified_may_chat_direct:
            return
        if not (await self.of(account_id)).verified:
            raise PolicyRefusal("chatting needs a verified identity", code="identity_unverified")
