"""Whether an account's identity and agreement allow a capability: the pack's
`identity.requirements` (the verification statuses a capability accepts, and whether it needs a
confirmed phone) and, for publishing, the current agreement accepted.

Checked on every group send, so the answer is cached per account and forgotten whenever a
review decision, a provider's answer, a phone confirmation or an acceptance changes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from townhall.domain.enforcement import Capability
from townhall.domain.errors import ErrorCode, PolicyRefusal
from townhall.domain.identity import IdentityRequirement, unmet_requirement
from townhall.domain.policy import PolicyPack
from townhall.services.caches import Invalidations, LocalCache, Topic
from townhall.store import accounts as account_store
from townhall.store import identities as identity_store
from townhall.store.database import Database

STANDING_CACHE_MAX = 100_000
# Publishing to many needs the current agreement; a one-to-one chat does not.
NEEDS_CURRENT_AGREEMENT = frozenset(
    {
        Capability.CREATE_GROUP,
        Capability.SEND_GROUP,
        Capability.PUBLISH_POST,
        Capability.APPLY_PUBLIC_ACCOUNT,
    }
)


@dataclass(frozen=True, slots=True)
class Standing:
    status: str | None  # the identity's verification status; None: no identity (staff)
    phone_confirmed: bool
    accepted_version: str | None


class Standings:
    def __init__(
        self, database: Database, pack: PolicyPack, *, invalidations: Invalidations
    ) -> None:
        self._db = database
        self._pack = pack
        self._invalidations = invalidations
        self._cache: LocalCache[int, Standing] = LocalCache(STANDING_CACHE_MAX)
        invalidations.listen(Topic.STANDING, self._cache.forget)
        invalidations.empty_after_gaps(self._cache)

    def forget(self, account_id: int) -> None:
        self._invalidations.forget(Topic.STANDING, account_id)

    async def of(self, account_id: int) -> Standing:
        return await self._cache.get(account_id, lambda: self._read(account_id))

    async def _read(self, account_id: int) -> Standing:
        async with self._db.reading() as conn:
            identity = await identity_store.get(conn, account_id)
            version = self._pack.agreement.version
            accepted = await account_store.has_accepted(conn, account_id, version)
        return Standing(
            status=identity.status if identity is not None else None,
            phone_confirmed=identity is not None and identity.phone_verified_at is not None,
            accepted_version=version if accepted else None,
        )

    async def require_may(self, account_id: int, capability: str) -> None:
        """Refuse with what is missing: `identity_unverified`, `phone_unconfirmed` or
        `agreement_outdated`."""
        standing = await self.of(account_id)
        requirement = self._pack.identity.requirements.get(capability)
        if requirement is not None:
            missing = unmet_requirement(requirement, standing.status, standing.phone_confirmed)
            if missing is not None:
                raise PolicyRefusal(
                    _what_is_missing(missing, capability, requirement, standing), code=missing
                )
        if (
            capability in NEEDS_CURRENT_AGREEMENT
            and standing.accepted_version != self._pack.agreement.version
        ):
            raise PolicyRefusal(
                f"accept the user agreement version {self._pack.agreement.version} first",
                code=ErrorCode.AGREEMENT_OUTDATED,
            )


def _what_is_missing(
    missing: ErrorCode, capability: str, requirement: IdentityRequirement, standing: Standing
) -> str:
    if missing == ErrorCode.PHONE_UNCONFIRMED:
        return (
            f"{capability} needs the phone confirmed with an SMS code (POST /api/v1/me/phone/code)"
        )
    return (
        f"{capability} needs an identity that is {' or '.join(requirement.accepted)}; "
        f"yours is {standing.status or 'not on file'}"
    )
