"""Group commit: a batch that fails, whatever the reason, answers each of its callers with the
error, and the writer goes on with the next batch."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import pytest

from townhall.domain.errors import DomainError, ErrorCode, StorageFull
from townhall.store.group_commit import GroupCommit

pytestmark = pytest.mark.database_free  # the PostgreSQL run leaves it out (Makefile)


class Commits:
    """A commit that fails the batches holding a given item in the given way."""

    def __init__(self) -> None:
        self.failures: dict[str, Exception] = {}
        self.short: set[str] = set()  # batches holding these get one result too few
        self.batches: list[list[str]] = []

    async def __call__(self, items: Sequence[str]) -> list[str | BaseException]:
        self.batches.append(list(items))
        for item in items:
            if item in self.failures:
                raise self.failures[item]
        results: list[str | BaseException] = [item.upper() for item in items]
        return results[1:] if self.short & set(items) else results


async def answers(group: GroupCommit[str, str], items: list[str]) -> list[object]:
    """Submit the items at once, so that they go in one batch; each caller's answer."""
    return await asyncio.wait_for(
        asyncio.gather(*(group.submit(item) for item in items), return_exceptions=True), 5
    )


@pytest.fixture
async def commits() -> Commits:
    return Commits()


@pytest.fixture
async def group(commits: Commits) -> GroupCommit[str, str]:
    group: GroupCommit[str, str] = GroupCommit(commits, batch_max=100, name="test-writer")
    group.start()
    return group


def full_disk() -> StorageFull:
    return StorageFull("the disk is full", code=ErrorCode.STORAGE_FULL)


async def test_a_batch_that_raises_answers_every_caller_and_the_writer_goes_on(
    group: GroupCommit[str, str], commits: Commits, caplog: pytest.LogCaptureFixture
) -> None:
    commits.failures["b"] = RuntimeError("the driver broke")
    failed = await answers(group, ["a", "b", "c"])
    assert commits.batches == [["a", "b", "c"]]
    assert [type(answer) for answer in failed] == [RuntimeError] * 3
    assert group.alive
    assert await answers(group, ["d", "e"]) == ["D", "E"]
    assert [r.levelno for r in caplog.records] == [logging.ERROR]  # an unexpected failure, logged
    await group.stop()


async def test_a_refusal_of_the_whole_batch_answers_every_caller_without_a_traceback(
    group: GroupCommit[str, str], commits: Commits, caplog: pytest.LogCaptureFixture
) -> None:
    commits.failures["b"] = full_disk()
    refused = await answers(group, ["a", "b", "c"])
    assert all(isinstance(answer, DomainError) for answer in refused)
    assert {answer.code for answer in refused if isinstance(answer, DomainError)} == {
        "storage_full"
    }
    assert caplog.records == []  # the disk's state is logged once where it is found
    assert await answers(group, ["d"]) == ["D"]
    await group.stop()


async def test_a_batch_answered_with_too_few_results_fails_every_caller_rather_than_hang(
    group: GroupCommit[str, str], commits: Commits
) -> None:
    commits.short.add("a")
    failed = await answers(group, ["a", "b"])
    assert [type(answer) for answer in failed] == [RuntimeError] * 2
    assert group.alive
    assert await answers(group, ["c"]) == ["C"]
    await group.stop()
