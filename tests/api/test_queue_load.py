"""The load of each review desk's queue per period (`GET /api/v1/audit/queues`): what entered the
queues of content cases, identities, public-account applications and appeals, how much of it
was decided, how much still waits and how much ran late; counts only, for the auditor and
administrators."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import MakeStaff, MakeUser, Server, ServerPool, User
from tests.support import (
    FLAGGED,
    applied,
    assert_error,
    case_of,
    decided_case,
    public_account,
    sent,
    tagged,
    write_db,
)
from townhall.packs import load_pack

pytestmark = pytest.mark.usefixtures("no_server_errors")

QUEUES = "/api/v1/audit/queues"
TZ = ZoneInfo(load_pack("cn-2014").timezone)
# May 2024 in the pack's zone: two ISO weeks, each entry moved to one of three days.
MAY = {"since": "2024-05-01", "until": "2024-05-31"}
MONDAY, WEDNESDAY, NEXT_TUESDAY = "2024-05-06T10:00", "2024-05-08T10:00", "2024-05-14T10:00"


def local_ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=TZ).timestamp() * 1000)


def load(entered: int, decided: int, waiting: int, overdue: int | None = None) -> dict[str, Any]:
    return {"entered": entered, "decided": decided, "waiting": waiting, "overdue": overdue}


IDLE = load(0, 0, 0)


@pytest.fixture
def desk_server(servers: ServerPool) -> Iterator[Server]:
    """A server of this test's own, whose figures count this test's entries alone, with a pack
    that sends every new identity to a reviewer."""
    own = servers.start(policy_pack=servers.pack(verification_mode="review"))
    yield own
    own.stop()


# Moving entries back in time, behind the server's back ------------------------------------------


def case_moved(server: Server, case_id: int, opened: str, due: str, decided: str | None) -> None:
    write_db(
        server.data_dir,
        "UPDATE review_cases SET opened_at = ?, due_at = ?, decided_at = ? WHERE id = ?",
        local_ms(opened),
        local_ms(due),
        None if decided is None else local_ms(decided),
        case_id,
    )


def identity_moved(server: Server, user: User, registered: str) -> None:
    statement = "UPDATE identities SET created_at = ? WHERE account_id = ?"
    write_db(server.data_dir, statement, local_ms(registered), user.id)


def application_moved(server: Server, public_account_id: int, applied_at: str) -> None:
    statement = "UPDATE public_accounts SET created_at = ? WHERE id = ?"
    write_db(server.data_dir, statement, local_ms(applied_at), public_account_id)


def appeal_moved(server: Server, appeal_id: int, lodged: str) -> None:
    statement = "UPDATE appeals SET created_at = ? WHERE id = ?"
    write_db(server.data_dir, statement, local_ms(lodged), appeal_id)


# The desks' work ----------------------------------------------------------------------------------


async def identity_decided(reviewer: User, user: User, decision: str, reason: str = "") -> None:
    body = {"decision": decision, **({"reason": reason} if reason else {})}
    answer = await reviewer.raw("POST", f"/api/v1/admin/identities/{user.id}/decision", json=body)
    assert answer.status_code == 200, answer.text


async def appeal_lodged(user: User, **target: int) -> int:
    body = {"statement": "it was a joke among friends", **target}
    answer = await user.raw("POST", "/api/v1/appeals", json=body)
    assert answer.status_code == 201, answer.text
    appeal_id: int = answer.json()["id"]
    return appeal_id


async def figures(staff: User, period: str, **window: str) -> list[dict[str, Any]]:
    answer = await staff.request("GET", QUEUES, params={"period": period, **window})
    assert (answer["period"], answer["timezone"]) == (period, str(TZ))
    rows: list[dict[str, Any]] = answer["rows"]
    return rows


async def test_each_desks_queue_is_counted_in_the_period_its_entries_entered(
    desk_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    server = desk_server
    reviewer = await make_staff("reviewer", on=server)
    second = await make_staff("reviewer", on=server, new=True)
    auditor = await make_staff("auditor", on=server)
    names = ("alice", "bob", "operator", "carol", "erin", "fay")
    alice, bob, operator, carol, erin, fay = [await make_user(n, on=server) for n in names]

    # Identities: three approved, one rejected, two never decided, of which fay's account is gone.
    for user in (alice, bob, operator):
        await identity_decided(reviewer, user, "approve")
    await identity_decided(reviewer, carol, "reject", "the photo is not of the holder")
    assert (await fay.raw("DELETE", "/api/v1/me")).status_code == 204

    # Content: four flagged messages; one removed in time, one approved late, two waiting.
    chat = (await alice.open_direct(bob.id))["id"]
    messages = [await sent(alice, chat, tagged(FLAGGED)) for _ in range(4)]
    removed, approved, waiting, fresh = [
        (await case_of(reviewer, "message", message["id"]))["id"] for message in messages
    ]
    await decided_case(reviewer, removed, "remove", "gambling advertisement")
    await decided_case(reviewer, approved, "approve", "a card game among friends")

    # Applications: one approved, one rejected, one waiting.
    accepted = await public_account(operator, reviewer)
    refused = await public_account(bob)
    answer = await reviewer.raw(
        "POST",
        f"/api/v1/admin/public-accounts/{refused['id']}/decision",
        json={"decision": "reject", "reason": "the papers are not the applicant's"},
    )
    assert answer.status_code == 200, answer.text
    pending = await public_account(alice)

    # Appeals: alice's of the removal, upheld by a second reviewer; bob's of a warning, waiting.
    upheld = await appeal_lodged(alice, case_id=removed)
    verdict = {"verdict": "uphold", "reason": "a gambling advertisement all the same"}
    answer = await second.raw("POST", f"/api/v1/admin/appeals/{upheld}/decision", json=verdict)
    assert answer.status_code == 200, answer.text
    warning = await applied(reviewer, "user", bob.id, "warning", reason="sends spam")
    lodged = await appeal_lodged(bob, sanction_id=warning["id"])

    # Each entry moved back to one of three days of May 2024; all else stays today, outside it.
    case_moved(server, removed, MONDAY, due="2024-05-06T11:00", decided="2024-05-06T10:30")
    case_moved(server, approved, MONDAY, due="2024-05-06T11:00", decided="2024-05-06T13:00")
    case_moved(server, waiting, WEDNESDAY, due="2024-05-09T10:00", decided=None)  # long past due
    case_moved(server, fresh, NEXT_TUESDAY, due="2099-01-01T00:00", decided=None)  # not yet due
    for user, registered in [
        (alice, MONDAY), (bob, MONDAY), (carol, WEDNESDAY),
        (operator, NEXT_TUESDAY), (erin, NEXT_TUESDAY), (fay, NEXT_TUESDAY),
    ]:  # fmt: skip
        identity_moved(server, user, registered)
    application_moved(server, accepted["id"], MONDAY)
    application_moved(server, refused["id"], NEXT_TUESDAY)
    application_moved(server, pending["id"], NEXT_TUESDAY)
    appeal_moved(server, upheld, WEDNESDAY)
    appeal_moved(server, lodged, NEXT_TUESDAY)

    first_week = {
        "cases": load(3, 2, 1, overdue=2),
        "identities": load(3, 3, 0),
        "applications": load(1, 1, 0),
        "appeals": load(1, 1, 0),
    }
    second_week = {
        "cases": load(1, 0, 1, overdue=0),
        "identities": load(3, 1, 1),  # fay's account is gone: hers waits no more
        "applications": load(2, 1, 1),
        "appeals": load(1, 0, 1),
    }
    assert await figures(auditor, "week", **MAY) == [
        {"period_start": "2024-05-06", **first_week},
        {"period_start": "2024-05-13", **second_week},
    ]
    assert await figures(auditor, "day", **MAY) == [
        {
            "period_start": "2024-05-06",
            "cases": load(2, 2, 0, overdue=1),
            "identities": load(2, 2, 0),
            "applications": load(1, 1, 0),
            "appeals": IDLE,
        },
        {
            "period_start": "2024-05-08",
            "cases": load(1, 0, 1, overdue=1),
            "identities": load(1, 1, 0),
            "applications": IDLE,
            "appeals": load(1, 1, 0),
        },
        {"period_start": "2024-05-14", **second_week},
    ]
    assert await figures(auditor, "month", **MAY) == [
        {
            "period_start": "2024-05-01",
            "cases": load(4, 2, 2, overdue=2),
            "identities": load(6, 4, 1),
            "applications": load(3, 2, 1),
            "appeals": load(2, 1, 1),
        }
    ]
    later = await figures(auditor, "week", since="2024-05-13", until="2024-05-31")
    assert later == [{"period_start": "2024-05-13", **second_week}]
    assert await figures(auditor, "day", since="2024-06-01", until="2024-06-30") == []


async def test_only_the_auditor_and_administrators_read_the_queues(
    make_user: MakeUser, make_staff: MakeStaff
) -> None:
    user = await make_user("plain")
    for intruder in (user, await make_staff("reviewer")):
        assert_error(await intruder.raw("GET", QUEUES), 403, "role_required")
    for reader in (await make_staff("auditor"), await make_staff("admin")):
        answer = await reader.raw("GET", QUEUES, params={"period": "month"})
        assert answer.status_code == 200, answer.text
    auditor = await make_staff("auditor")
    for params, code in [
        ({"period": "year"}, "period_invalid"),
        ({"since": "yesterday"}, "date_invalid"),
        ({"since": "2024-05-02", "until": "2024-05-01"}, "period_invalid"),
    ]:
        assert_error(await auditor.raw("GET", QUEUES, params=params), 400, code)
