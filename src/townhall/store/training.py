"""Reviewers' decisions on messages and posts, read as examples to train a classifier on."""

from __future__ import annotations

import orjson
from sqlalchemy import select

from townhall.domain.classifiers import Example
from townhall.domain.news_check import UNLICENSED_NEWS
from townhall.store.database import DbConnection
from townhall.store.schema import review_cases

TEXT_TARGETS = ("message", "post")
APPROVED = "approved"
REMOVED = "removed"


async def decided_examples(conn: DbConnection) -> list[Example]:
    """Every approved or removed message and post, oldest case first. A removal that names no
    content category teaches no category, so it is left out."""
    result = await conn.execute(
        select(review_cases.c.content, review_cases.c.categories, review_cases.c.state)
        .where(
            review_cases.c.target_type.in_(TEXT_TARGETS),
            review_cases.c.state.in_((APPROVED, REMOVED)),
        )
        .order_by(review_cases.c.id)
    )
    examples = []
    for content, categories, state in result:
        text = orjson.loads(content).get("text")
        removed = state == REMOVED
        removed_for = frozenset(filter(None, categories.split(","))) if removed else frozenset()
        # Unlicensed news is the publisher's fault, not the text's: the content classifiers
        # must not learn to flag news in chats from it.
        removed_for -= {UNLICENSED_NEWS}
        if isinstance(text, str) and text and (removed_for or not removed):
            examples.append(Example(text, removed_for))
    return examples
