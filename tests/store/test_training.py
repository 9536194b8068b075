"""Reviewers' decisions read as training examples: a hold for possible unlicensed news teaches
the content classifiers nothing, since it judged who published the text, not the text."""

from __future__ import annotations

import orjson

from townhall.domain.classifiers import Example
from townhall.domain.news_check import UNLICENSED_NEWS
from townhall.store import review as review_store
from townhall.store.database import Database
from townhall.store.training import decided_examples


async def decided(database: Database, post_id: int, text: str, state: str, categories: str) -> None:
    async with database.writing() as conn:
        await review_store.insert_case(
            conn,
            target_type="post",
            target_id=post_id,
            content=orjson.dumps({"text": text}).decode(),
            sources="hold",
            categories=categories,
            priority=1,
            state=state,
            opened_at=0,
            due_at=0,
        )


async def test_removals_for_unlicensed_news_alone_are_no_example(database: Database) -> None:
    await decided(database, 1, "新华社北京5月3日电", "removed", UNLICENSED_NEWS)
    await decided(database, 2, "据新华社报道, 百家乐开业", "removed", f"gambling,{UNLICENSED_NEWS}")
    await decided(database, 3, "据新华社报道, 博览会开幕", "approved", UNLICENSED_NEWS)

    assert await decided_examples_of(database) == [
        Example("据新华社报道, 百家乐开业", frozenset({"gambling"})),
        Example("据新华社报道, 博览会开幕", frozenset()),
    ]


async def decided_examples_of(database: Database) -> list[Example]:
    async with database.reading() as conn:
        return await decided_examples(conn)
