"""How often one account may search: messages, public accounts and posts count together."""

from __future__ import annotations

from townhall.domain.errors import ErrorCode, Throttled
from townhall.domain.limits import Limits
from townhall.domain.search import SearchTerms, search_terms
from townhall.services.principal import Principal
from townhall.services.rate_limits import Limit, RateLimits


class SearchRate:
    """`searches_per_user`: a search looks through thousands of index entries, and no account
    may have the server do that for it without pause."""

    def __init__(self, rate_limits: RateLimits, limits: Limits) -> None:
        self._rate_limits = rate_limits
        self._limit = Limit.parse("searches_per_user", limits.searches_per_user)

    async def admit(self, actor: Principal, query: str) -> SearchTerms:
        """The query's terms (400 if it has none or is too long), the search counted; 429
        `too_many_searches` past the limit."""
        terms = search_terms(query)
        wait = await self._rate_limits.hit(self._limit, str(actor.account_id))
        if wait is not None:
            raise Throttled(
                f"too many searches; try again in {wait} s",
                code=ErrorCode.TOO_MANY_SEARCHES,
                retry_after=wait,
            )
        return terms
