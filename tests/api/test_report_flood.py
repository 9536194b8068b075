"""Report flooding (issue 14): one account cannot open hundreds of review cases in seconds, many
reports of one target make no more work than a few, and reports found unfounded count in the
authority's figures on their own line, not as reports."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import MakeStaff, MakeUser, Server, ServerPool, User
from tests.support import assert_error, case_of, decided_case, full_sync, notices_of, report

AUDIT = "/api/v1/audit"
CASES = "/api/v1/admin/review/cases"
FLOOD = 300


@pytest.fixture
def own_server(servers: ServerPool) -> Iterator[Server]:
    """A server of the test's own with the default report limits: the authority's figures
    count every case and report on the server."""
    server = servers.start()
    yield server
    server.stop()


async def figures(auditor: User) -> dict[str, int]:
    """Today's cases opened and reports, summed over the categories."""
    rows = (await auditor.request("GET", f"{AUDIT}/stats", params={"period": "day"}))["rows"]
    names = ("cases_opened", "approved", "removed", "pending", "reports", "reports_unfounded")
    return {name: sum(row[name] for row in rows) for name in names}


async def test_one_account_cannot_open_hundreds_of_cases_in_seconds(
    own_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    flooder = await make_user("flooder", on=own_server)
    author = await make_user("author", on=own_server)
    other = await make_user("other", on=own_server)
    auditor = await make_staff("auditor", on=own_server)
    chat = (await author.open_direct(flooder.id))["id"]
    messages = [(await author.send(chat, f"message {n}"))["id"] for n in range(FLOOD)]

    started = time.monotonic()
    answers = [await report(flooder, "message", message, "fraud") for message in messages]
    elapsed = time.monotonic() - started
    filed = [a for a in answers if a.status_code == 201]
    refused = [a for a in answers if a.status_code != 201]
    # The default burst: 10 a minute (limits.reports_per_reporter). In one process's memory the
    # window is limits' sliding window counter, which weighs the previous minute's count by the
    # share of it still in the window: a burst across the turn of a minute may pass one more.
    assert len(filed) in (10, 11), (len(filed), elapsed)
    for answer in refused:
        assert_error(answer, 429, "too_many_reports")
        assert 1 <= answer.json()["error"]["retry_after"] <= 60
    assert await figures(auditor) == {
        "cases_opened": len(filed),
        "approved": 0,
        "removed": 0,
        "pending": len(filed),
        "reports": len(filed),
        "reports_unfounded": 0,
    }
    # The limit is the flooder's own: someone else reports freely.
    assert (await report(other, "user", author.id, "fraud")).status_code == 201


async def test_reports_of_one_target_past_its_cap_are_kept_but_make_no_new_work(
    servers: ServerPool, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    server = servers.shared(limits__reports_per_target="3/hour")
    reviewer = await make_staff("reviewer", on=server)
    target = await make_user("target", on=server)
    reporters = [await make_user(f"reporter{n}", on=server) for n in range(6)]
    cursors = {r.id: (await full_sync(r))[1] for r in reporters}

    priorities = []
    for reporter in reporters:
        answer = await report(reporter, "user", target.id, "fraud")
        assert answer.status_code == 201, answer.text
        priorities.append((await case_of(reviewer, "user", target.id))["priority"])
    case = await case_of(reviewer, "user", target.id)
    # One case; the reports past the cap weigh in neither its count nor its priority...
    assert case["report_count"] == 3
    assert priorities[3:] == [priorities[2]] * 3
    # ...but they are on file, and every reporter hears the outcome.
    detail = await reviewer.request("GET", f"{CASES}/{case['id']}")
    assert len(detail["reports"]) == 6
    await decided_case(reviewer, case["id"], "uphold")
    for reporter in reporters:
        events, _ = await full_sync(reporter, cursors[reporter.id])
        outcomes = notices_of(events, "report_outcome")
        assert [n["outcome"] for n in outcomes] == ["action_taken"]


async def test_unfounded_reports_count_on_their_own_line_in_the_figures(
    own_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    reviewer = await make_staff("reviewer", on=own_server)
    auditor = await make_staff("auditor", on=own_server)
    reporter = await make_user("reporter", on=own_server)
    targets = [await make_user(f"target{n}", on=own_server) for n in range(3)]
    for target in targets:
        assert (await report(reporter, "user", target.id, "fraud")).status_code == 201
    cases: list[dict[str, Any]] = [await case_of(reviewer, "user", t.id) for t in targets]
    await decided_case(reviewer, cases[0]["id"], "approve")  # unfounded
    await decided_case(reviewer, cases[1]["id"], "uphold")  # founded; the third is pending

    assert await figures(auditor) == {
        "cases_opened": 3,
        "approved": 1,
        "removed": 0,
        "pending": 1,
        "reports": 2,
        "reports_unfounded": 1,
    }
    (row,) = (await auditor.request("GET", f"{AUDIT}/stats", params={"period": "day"}))["rows"]
    assert (row["category"], row["reports"], row["reports_unfounded"]) == ("fraud", 2, 1)
