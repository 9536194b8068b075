"""The content check on the services as the server builds them: a lexicon entry left behind by
a pack change is not in force, and the check keeps working."""

from __future__ import annotations

from tests.services.conftest import World
from townhall.domain.lexicon import Term
from townhall.domain.moderation import Decision


async def test_entries_the_pack_no_longer_knows_are_left_out(world: World) -> None:
    check = world.services.moderation
    stored = [
        Term("代开发票", "fraud", "high"),
        Term("老虎机", "gambling", "extreme"),  # a severity the pack no longer has
        Term("水军", "astroturfing", "high"),  # a category the pack no longer has
    ]
    await check.add_terms(stored, actor=None)

    assert check.check("direct", "代开发票").decision == Decision.BLOCK
    assert check.check("direct", "老虎机 水军").decision == Decision.ALLOW
    assert [term.text for term in check.export()] == ["代开发票"]
