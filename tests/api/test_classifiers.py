"""Classifiers score what was delivered, in their own worker process, and flag it for review:
an English insult the lexicon does not know still reaches a reviewer's queue."""

from __future__ import annotations

import asyncio
import time
import uuid

import psutil
import pytest

from tests.conftest import MakeStaff, MakeUser, ServerPool
from tests.support import group_of, review_case

pytestmark = pytest.mark.http_layer  # the PostgreSQL run leaves it out (Makefile)

WAIT = 30  # seconds: the worker loads its models after the server is up


async def test_an_insult_the_lexicon_misses_is_flagged_by_the_english_classifier(
    servers: ServerPool, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    server = servers.shared(classifiers=True)
    alice = await make_user("alice", on=server)
    bob = await make_user("bob", on=server)
    reviewer = await make_staff("reviewer", on=server)
    group = (await group_of(alice, "茶话会", bob))["id"]
    kind = await alice.send(group, f"have a lovely evening {uuid.uuid4().hex[:6]}")
    deadline = time.monotonic() + WAIT
    while True:  # until the worker is up: every send before then goes unscored
        insult = await alice.send(group, f"you are a fucking idiot {uuid.uuid4().hex[:6]}")
        case = await review_case(reviewer, "message", insult["id"])
        for _ in range(20):
            if case is not None:
                break
            await asyncio.sleep(0.1)
            case = await review_case(reviewer, "message", insult["id"])
        if case is not None or time.monotonic() > deadline:
            break

    assert case is not None, "the classifier never flagged the insult"
    assert "moderation" not in insult  # delivered: a classifier only flags
    assert (case["sources"], case["categories"], case["severity"]) == (
        ["flag"],
        ["defamation"],
        "low",
    )
    statements = await reviewer.request(
        "GET", "/api/v1/admin/moderation/statements", params={"limit": 500}
    )
    (statement,) = [
        s
        for s in statements["statements"]
        if (s["subject_type"], s["subject_id"]) == ("message", insult["id"])
    ]
    (reason,) = statement["reasons"]
    assert (reason["how"], reason["term"].split()[0]) == ("classifier", "profanity_en")
    assert await review_case(reviewer, "message", kind["id"]) is None


def workers_of(server_pid: int, deadline: float) -> list[psutil.Process]:
    """The server's classifier worker, once it has been spawned."""
    while time.monotonic() < deadline:
        spawned = [
            child
            for child in psutil.Process(server_pid).children()
            if "spawn_main" in " ".join(child.cmdline())
        ]
        if spawned:
            return spawned
        time.sleep(0.1)
    return []


@pytest.mark.parametrize("how", ["terminate", "kill"])
def test_the_classifier_worker_ends_with_its_server(servers: ServerPool, how: str) -> None:
    server = servers.start(classifiers=True)
    (worker,) = workers_of(server.process.pid, time.monotonic() + WAIT)
    getattr(server.process, how)()  # a clean stop, or SIGKILL: no chance to stop the worker
    server.process.wait(10)
    _, alive = psutil.wait_procs([worker], timeout=10)
    assert alive == [], f"the worker outlived its server ({how})"
