"""Appeals: the subject of a sanction, or the author of removed content, asks for another look;
a reviewer other than the ones who decided judges it; a reversal lifts the sanction, voids its
strike and gives back what was removed, and an upheld appeal changes nothing."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import BASE_PACK_TEXT, MakeStaff, MakeUser, Server, ServerPool, User
from tests.databases import plain_url, postgresql_only
from tests.support import (
    DATABASE_URLS,
    FLAGGED,
    assert_error,
    case_of,
    decided_case,
    full_history,
    full_sync,
    group_of,
    lift,
    messages_of,
    notices_of,
    public_account,
    query_db,
    report,
    review_pack,
    send,
    sent,
    subscribed_account,
    tagged,
)

pytestmark = pytest.mark.usefixtures("no_server_errors")

WAIT = 10  # seconds: generous, only reached when something is wrong
SANCTIONS = "/api/v1/admin/sanctions"
CASES = "/api/v1/admin/review/cases"


# Helpers ------------------------------------------------------------------------------------------


async def removed_message(
    author: User, conversation_id: int, reviewer: User
) -> tuple[dict[str, Any], int]:
    """A flagged message of the author's, removed by the reviewer; the message and its case."""
    message = await sent(author, conversation_id, tagged(FLAGGED))
    case = await case_of(reviewer, "message", message["id"])
    await decided_case(reviewer, case["id"], "remove", "gambling ad")
    return message, case["id"]


async def applied(staff: User, subject_type: str, subject_id: int, kind: str, **fields: Any) -> Any:
    return await staff.request(
        "POST",
        SANCTIONS,
        json={
            "subject_type": subject_type,
            "subject_id": subject_id,
            "kind": kind,
            "reason": "gambling ads",
            **fields,
        },
    )


async def appeal(user: User, **target: int | str) -> httpx.Response:
    body = {"statement": "it was a joke among friends", **target}
    return await user.raw("POST", "/api/v1/appeals", json=body)


async def appealed(user: User, **target: int) -> dict[str, Any]:
    answer = await appeal(user, **target)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def decide(
    staff: User, appeal_id: int, verdict: str, reason: str | None = "a second look"
) -> httpx.Response:
    return await staff.raw(
        "POST",
        f"/api/v1/admin/appeals/{appeal_id}/decision",
        json={"verdict": verdict, "reason": reason},
    )


async def decided(staff: User, appeal_id: int, verdict: str) -> dict[str, Any]:
    answer = await decide(staff, appeal_id, verdict)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def points(staff: User, subject_type: str, subject_id: int) -> float:
    shown = await staff.request(
        "GET",
        f"{SANCTIONS}/standing",
        params={"subject_type": subject_type, "subject_id": subject_id},
    )
    return shown["points"]


def audit_actions(server: Server) -> list[tuple[Any, ...]]:
    """The audit rows of actions that change something (staff reads are recorded as well)."""
    return query_db(
        server.data_dir,
        "SELECT seq, actor_id, action, subject_type, subject_id FROM audit_log "
        "WHERE action NOT LIKE '%.read' ORDER BY seq",
    )


def sanction_ends(server: Server, *sanction_ids: int) -> list[tuple[Any, ...]]:
    """Each sanction's record of its end: when, its state, by whom and why."""
    sql = "SELECT ended_at, state, ended_by, end_reason FROM sanctions WHERE id = ?"
    return [query_db(server.data_dir, sql, sanction_id)[0] for sanction_id in sanction_ids]


@contextlib.contextmanager
def held(server: Server, sql: str, *params: object) -> Iterator[Callable[[], None]]:
    """Another process's write to the server's PostgreSQL database, under way: the rows it
    changed stay locked until the commit it yields is called."""
    import psycopg

    with psycopg.connect(plain_url(DATABASE_URLS[server.data_dir])) as conn:
        conn.execute(sql.replace("?", "%s").encode(), params)
        yield conn.commit


async def blocked_on_a_row(server: Server) -> None:
    """Until one of the server's statements waits for a row another transaction holds."""
    waiting = (
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + WAIT
    while query_db(server.data_dir, waiting) == [(0,)]:
        assert time.monotonic() < deadline, "the server never reached the held row"
        await asyncio.sleep(0.02)


# Reversals ----------------------------------------------------------------------------------------


async def test_a_reversed_sanction_ends_as_if_never_applied_and_its_strike_is_void(
    server: Server,
    alice: User,
    bob: User,
    reviewer: User,
    second_reviewer: User,
    admin: User,
) -> None:
    chat = (await alice.open_direct(bob.id))["id"]
    group = (await group_of(alice, "茶话会", bob))["id"]
    _, case_id = await removed_message(alice, chat, reviewer)
    limit = await applied(admin, "user", alice.id, "limit_publication", case_id=case_id, days=7)
    assert_error(await send(alice, group), 403, "publication_limited")
    assert await points(reviewer, "user", alice.id) == pytest.approx(2)
    _, cursor = await full_sync(alice)

    filed = await appealed(alice, sanction_id=limit["id"])
    assert (filed["sanction_id"], filed["appellant_id"], filed["state"]) == (
        limit["id"],
        alice.id,
        "pending",
    )
    assert (await alice.request("GET", "/api/v1/appeals"))["appeals"] == [filed]
    assert "original_deciders" not in filed
    queue = await second_reviewer.request("GET", "/api/v1/admin/appeals", params={"limit": 500})
    (queued,) = [a for a in queue["appeals"] if a["id"] == filed["id"]]
    # Reviewers are told whose decision the appeal questions; the appellant is not.
    assert queued["original_deciders"] == sorted({admin.id, reviewer.id})
    assert {k: v for k, v in queued.items() if k != "original_deciders"} == filed

    # Neither the admin who applied it nor the reviewer who decided its case may judge it.
    before = audit_actions(server)
    for decider in (admin, reviewer):
        assert_error(await decide(decider, filed["id"], "reverse"), 403, "same_reviewer")
    assert audit_actions(server) == before

    reversal = await decided(second_reviewer, filed["id"], "reverse")
    assert (reversal["state"], reversal["decided_by"]) == ("reversed", second_reviewer.id)
    assert reversal["original_deciders"] == sorted({admin.id, reviewer.id})
    (row,) = audit_actions(server)[len(before) :]
    assert row[1:] == (second_reviewer.id, "appeal.decide", "appeal", filed["id"])
    shown = await reviewer.request("GET", f"{SANCTIONS}/{limit['id']}")
    assert shown["state"] == "reversed"
    assert await points(reviewer, "user", alice.id) == 0
    me = await alice.me()
    assert me["sanctions"] == []
    assert me["credit"]["score"] == 100
    await sent(alice, group, "我回来了")
    case = await reviewer.request("GET", f"{CASES}/{case_id}")
    assert (case["state"], case["decided_by"]) == ("approved", second_reviewer.id)

    events, _ = await full_sync(alice, cursor)
    (told,) = notices_of(events, "appeal_decided")
    assert (told["appeal"]["id"], told["appeal"]["state"]) == (filed["id"], "reversed")
    (ended,) = notices_of(events, "sanction_ended")
    assert (ended["sanction"]["id"], ended["sanction"]["state"]) == (limit["id"], "reversed")
    assert_error(await decide(second_reviewer, filed["id"], "uphold"), 409, "appeal_decided")
    assert_error(await appeal(alice, sanction_id=limit["id"]), 409, "sanction_not_active")


async def test_a_sanction_that_ended_is_still_appealed_and_a_reversal_keeps_how_it_ended(
    server: Server,
    alice: User,
    bob: User,
    reviewer: User,
    second_reviewer: User,
    admin: User,
) -> None:
    """Lifting a sanction ends it, not its strike: its subject may still appeal within the
    window, before or after the end. A reversal then voids the strike only; when, by whom and
    why the sanction ended stay on record, and the appeal holds the reversal."""
    chat = (await alice.open_direct(bob.id))["id"]
    _, first_case = await removed_message(alice, chat, reviewer)
    _, second_case = await removed_message(alice, chat, reviewer)
    limit = await applied(admin, "user", alice.id, "limit_publication", case_id=first_case)
    warning = await applied(admin, "user", alice.id, "warning", case_id=second_case)
    pending = await appealed(alice, sanction_id=limit["id"])
    for sanction in (limit, warning):
        ended = await lift(admin, sanction["id"], "a first offence")
        assert ended.status_code == 200, ended.text
    late = await appealed(alice, sanction_id=warning["id"])
    assert await points(reviewer, "user", alice.id) == pytest.approx(4)
    lifted = sanction_ends(server, limit["id"], warning["id"])
    assert [row[1:] for row in lifted] == [("lifted", admin.id, "a first offence")] * 2
    before = audit_actions(server)
    _, cursor = await full_sync(alice)

    assert (await decided(second_reviewer, pending["id"], "reverse"))["state"] == "reversed"
    assert (await decided(second_reviewer, late["id"], "uphold"))["state"] == "upheld"
    reversed_limit, kept_warning = sanction_ends(server, limit["id"], warning["id"])
    assert reversed_limit == (lifted[0][0], "reversed", admin.id, "a first offence")
    assert kept_warning == lifted[1]
    shown = await reviewer.request("GET", f"{SANCTIONS}/{limit['id']}")
    assert (shown["state"], shown["end_reason"]) == ("reversed", "a first offence")
    assert await points(reviewer, "user", alice.id) == pytest.approx(2)
    decisions = audit_actions(server)[len(before) :]
    assert [row[2:] for row in decisions] == [
        ("appeal.decide", "appeal", pending["id"]),
        ("appeal.decide", "appeal", late["id"]),
    ]
    # Told of each decision, and not told again that a sanction ended.
    events, _ = await full_sync(alice, cursor)
    told = notices_of(events, "appeal_decided")
    assert [(n["appeal"]["id"], n["appeal"]["state"]) for n in told] == [
        (pending["id"], "reversed"),
        (late["id"], "upheld"),
    ]
    assert notices_of(events, "sanction_ended") == []


@postgresql_only
async def test_a_sanction_lifted_on_another_process_meanwhile_keeps_its_end(
    server: Server, alice: User, reviewer: User, second_reviewer: User
) -> None:
    """A reversal that finds the sanction lifted by another process since it read it is
    refused and writes nothing; decided again, it voids the strike and keeps that end."""
    limit = await applied(reviewer, "user", alice.id, "limit_publication")
    filed = await appealed(alice, sanction_id=limit["id"])
    before = audit_actions(server)
    lifting = (
        "UPDATE sanctions SET state = 'lifted', ended_at = 1, ended_by = ?, "
        "end_reason = 'lifted elsewhere' WHERE id = ?"
    )
    with held(server, lifting, reviewer.id, limit["id"]) as commit:
        deciding = asyncio.create_task(decide(second_reviewer, filed["id"], "reverse"))
        await blocked_on_a_row(server)
        commit()
    assert_error(await deciding, 409, "sanction_not_active")
    assert audit_actions(server) == before
    (still,) = (await alice.request("GET", "/api/v1/appeals"))["appeals"]
    assert still["state"] == "pending"
    assert sanction_ends(server, limit["id"]) == [(1, "lifted", reviewer.id, "lifted elsewhere")]

    await decided(second_reviewer, filed["id"], "reverse")
    assert sanction_ends(server, limit["id"]) == [(1, "reversed", reviewer.id, "lifted elsewhere")]


async def test_a_reversed_removal_gives_the_message_back_to_everyone_and_unbans_its_text(
    alice: User, bob: User, carol: User, reviewer: User, second_reviewer: User
) -> None:
    chat = (await alice.open_direct(bob.id))["id"]
    other = (await carol.open_direct(bob.id))["id"]
    message, case_id = await removed_message(alice, chat, reviewer)
    text = message["text"]
    assert_error(await send(carol, other, text), 422, "content_blocked")
    (shown,) = await full_history(bob, chat)
    assert (shown["text"], shown["moderation"]) == ("", "removed")
    assert_error(await appeal(bob, case_id=case_id), 404, "case_not_found")
    filed = await appealed(alice, case_id=case_id)
    assert (filed["case_id"], filed["sanction_id"]) == (case_id, None)
    _, cursor = await full_sync(bob)

    queue = await second_reviewer.request("GET", "/api/v1/admin/appeals", params={"limit": 500})
    (queued,) = [a for a in queue["appeals"] if a["id"] == filed["id"]]
    assert queued["original_deciders"] == [reviewer.id]
    assert_error(await decide(reviewer, filed["id"], "reverse"), 403, "same_reviewer")
    async with bob.websocket(since=cursor) as socket:
        await decided(second_reviewer, filed["id"], "reverse")
        frame = await asyncio.wait_for(socket.receive_until("message"), WAIT)
    assert (frame["message"]["id"], frame["message"]["text"]) == (message["id"], text)
    assert "moderation" not in frame["message"]
    restored = messages_of((await full_sync(bob, cursor))[0])
    assert [(m["id"], m["text"]) for m in restored] == [(message["id"], text)]
    for member in (alice, bob):
        (shown,) = await full_history(member, chat)
        assert (shown["id"], shown["text"]) == (message["id"], text)
        assert "moderation" not in shown
    # The bank no longer refuses the text.
    assert (await send(carol, other, text)).status_code == 201
    assert (await reviewer.request("GET", f"{CASES}/{case_id}"))["state"] == "approved"


async def test_a_reversed_removal_makes_a_post_readable_again(
    make_user: MakeUser, bob: User, carol: User, reviewer: User, second_reviewer: User
) -> None:
    operator, account = await subscribed_account(make_user, reviewer, bob)
    title = tagged("独家消息")
    post = await operator.publish(account["id"], title, "某地发生大事。")
    filed_report = await report(carol, "post", post["id"], "defamation")
    assert filed_report.status_code == 201, filed_report.text
    case = await case_of(reviewer, "post", post["id"])
    await decided_case(reviewer, case["id"], "remove", "a fabricated story")
    assert_error(await bob.raw("GET", f"/api/v1/posts/{post['id']}"), 404, "post_removed")
    latest = (await bob.timeline())["latest"]
    warning = await applied(
        reviewer, "public_account", account["id"], "warning", case_id=case["id"]
    )
    assert await points(reviewer, "public_account", account["id"]) == pytest.approx(1)

    # The removal gave a sanction: the sanction is what is appealed, and it covers both.
    assert_error(await appeal(operator, case_id=case["id"]), 409, "appeal_the_sanction")
    assert_error(await appeal(bob, sanction_id=warning["id"]), 404, "sanction_not_found")
    filed = await appealed(operator, sanction_id=warning["id"])
    await decided(second_reviewer, filed["id"], "reverse")

    assert (await bob.read_post(post["id"]))["title"] == title
    # Published again: new to bob's next poll, as it was to his live socket.
    (shown,) = (await bob.timeline(since=latest))["posts"]
    assert shown["id"] == post["id"]
    assert "moderation" not in shown
    assert await points(reviewer, "public_account", account["id"]) == 0
    sanction = await reviewer.request("GET", f"{SANCTIONS}/{warning['id']}")
    assert sanction["state"] == "reversed"


async def test_a_reversed_removal_of_a_held_message_delivers_it_at_last(
    servers: ServerPool, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    # This pack holds a medium match in a direct chat until a reviewer decides.
    host = servers.shared(policy_pack=review_pack(servers.root, BASE_PACK_TEXT))
    reviewer = await make_staff("reviewer", on=host)
    other_reviewer = await make_staff("reviewer", on=host, new=True)
    alice, bob = [await make_user(name, on=host) for name in ("alice", "bob")]
    chat = (await alice.open_direct(bob.id))["id"]
    held = await sent(alice, chat, tagged(FLAGGED))
    assert held["moderation"] == "held"
    case = await case_of(reviewer, "message", held["id"])
    await decided_case(reviewer, case["id"], "remove", "gambling ad")
    assert await full_history(bob, chat) == []
    _, cursor = await full_sync(bob)

    filed = await appealed(alice, case_id=case["id"])
    await decided(other_reviewer, filed["id"], "reverse")
    restored = messages_of((await full_sync(bob, cursor))[0])
    assert [(m["id"], m["text"]) for m in restored] == [(held["id"], held["text"])]
    for member in (alice, bob):
        (shown,) = await full_history(member, chat)
        assert (shown["id"], shown["text"]) == (held["id"], held["text"])
        assert "moderation" not in shown


async def test_a_reversed_removal_of_a_held_post_publishes_it(
    make_user: MakeUser, bob: User, reviewer: User, second_reviewer: User
) -> None:
    operator, account = await subscribed_account(make_user, reviewer, bob)
    title = tagged("百家乐攻略")  # a medium match: a post is held until reviewed
    held = await operator.publish(account["id"], title, "正文")
    assert held["moderation"] == "held"
    case = await case_of(reviewer, "post", held["id"])
    await decided_case(reviewer, case["id"], "remove", "gambling ad")
    assert_error(await bob.raw("GET", f"/api/v1/posts/{held['id']}"), 404, "post_not_found")

    filed = await appealed(operator, case_id=case["id"])
    await decided(second_reviewer, filed["id"], "reverse")
    assert (await bob.read_post(held["id"]))["title"] == title
    assert [p["id"] for p in (await bob.timeline())["posts"]] == [held["id"]]


# Upheld appeals and who may appeal ---------------------------------------------------------------


async def test_an_upheld_appeal_leaves_everything_as_it_was(
    server: Server, alice: User, bob: User, reviewer: User, second_reviewer: User
) -> None:
    chat = (await alice.open_direct(bob.id))["id"]
    group = (await group_of(alice, "茶话会", bob))["id"]
    message, case_id = await removed_message(alice, chat, reviewer)
    limit = await applied(reviewer, "user", alice.id, "limit_publication", case_id=case_id)
    filed = await appealed(alice, sanction_id=limit["id"])
    assert_error(await appeal(alice, sanction_id=limit["id"]), 409, "appeal_exists")
    assert_error(await appeal(alice, case_id=case_id), 409, "appeal_the_sanction")

    before = audit_actions(server)
    upheld = await decided(second_reviewer, filed["id"], "uphold")
    (row,) = audit_actions(server)[len(before) :]
    assert row[2] == "appeal.decide"
    assert (upheld["state"], upheld["decided_by"], upheld["reason"]) == (
        "upheld",
        second_reviewer.id,
        "a second look",
    )
    shown = await reviewer.request("GET", f"{SANCTIONS}/{limit['id']}")
    assert shown["state"] == "active"
    assert_error(await send(alice, group), 403, "publication_limited")
    assert await points(reviewer, "user", alice.id) == pytest.approx(2)
    (kept,) = await full_history(bob, chat)
    assert (kept["id"], kept["text"], kept["moderation"]) == (message["id"], "", "removed")
    assert_error(await send(bob, chat, message["text"]), 422, "content_blocked")
    assert (await reviewer.request("GET", f"{CASES}/{case_id}"))["state"] == "removed"
    # The appellant is told of the decision, not of who may not decide it.
    told = notices_of((await full_sync(alice))[0], "appeal_decided")[-1]["appeal"]
    assert {**told, "original_deciders": [reviewer.id]} == upheld

    # Decided once: no second verdict, and no second appeal.
    assert_error(await decide(second_reviewer, filed["id"], "reverse"), 409, "appeal_decided")
    assert len(audit_actions(server)) == len(before) + 1
    assert_error(await appeal(alice, sanction_id=limit["id"]), 409, "appeal_exists")


@postgresql_only
async def test_an_appeal_decided_on_another_process_meanwhile_is_refused_and_writes_nothing(
    server: Server, alice: User, reviewer: User, second_reviewer: User
) -> None:
    limit = await applied(reviewer, "user", alice.id, "limit_publication")
    filed = await appealed(alice, sanction_id=limit["id"])
    before = audit_actions(server)
    upholding = (
        "UPDATE appeals SET state = 'upheld', decided_by = ?, decided_at = 1, "
        "reason = 'decided elsewhere' WHERE id = ?"
    )
    with held(server, upholding, second_reviewer.id, filed["id"]) as commit:
        deciding = asyncio.create_task(decide(second_reviewer, filed["id"], "reverse"))
        await blocked_on_a_row(server)
        commit()
    assert_error(await deciding, 409, "appeal_decided")
    assert audit_actions(server) == before
    shown = await reviewer.request("GET", f"{SANCTIONS}/{limit['id']}")
    assert (shown["state"], shown["end_reason"]) == ("active", None)


async def test_only_the_subject_may_appeal_and_bad_requests_are_refused(
    make_user: MakeUser, alice: User, bob: User, carol: User, reviewer: User, admin: User
) -> None:
    warning = await applied(reviewer, "user", alice.id, "warning")
    assert_error(await appeal(bob, sanction_id=warning["id"]), 404, "sanction_not_found")
    assert_error(await appeal(bob, sanction_id=10**9), 404, "sanction_not_found")
    assert_error(await appeal(bob, case_id=10**9), 404, "case_not_found")
    assert_error(await appeal(alice), 400, "appeal_target_invalid")
    both = await appeal(alice, sanction_id=warning["id"], case_id=1)
    assert_error(both, 400, "appeal_target_invalid")
    for statement in ("   ", "\u200b\u200b", "it was\u202e a joke", "a\u0000b"):
        refused = await appeal(alice, sanction_id=warning["id"], statement=statement)
        assert_error(refused, 400, "statement_invalid")
    assert (await bob.request("GET", "/api/v1/appeals"))["appeals"] == []

    # A group's sanction is appealed by its owner, not by its members.
    group = (await group_of(alice, "茶话会", bob))["id"]
    posting = await applied(reviewer, "group", group, "suspend_posting", days=1)
    assert_error(await appeal(bob, sanction_id=posting["id"]), 404, "sanction_not_found")
    assert (await appeal(alice, sanction_id=posting["id"])).status_code == 201
    # A public account's by its operator.
    operator = await make_user("operator")
    account = await public_account(operator, reviewer)
    account_warning = await applied(reviewer, "public_account", account["id"], "warning")
    assert_error(await appeal(carol, sanction_id=account_warning["id"]), 404, "sanction_not_found")
    assert (await appeal(operator, sanction_id=account_warning["id"])).status_code == 201

    filed = await appealed(alice, sanction_id=warning["id"])
    assert_error(await decide(alice, filed["id"], "reverse"), 403, "role_required")
    assert_error(await decide(admin, filed["id"], "pardon"), 400, "verdict_invalid")
    assert_error(await decide(admin, filed["id"], "reverse", None), 422, "reason_required")
    assert_error(await decide(admin, 10**9, "reverse"), 404, "appeal_not_found")
    still = await admin.request("GET", f"{SANCTIONS}/{warning['id']}")
    assert still["state"] == "active"
    assert_error(await alice.raw("GET", "/api/v1/admin/appeals"), 403, "role_required")
    bad_state = await admin.raw("GET", "/api/v1/admin/appeals", params={"limit": 0})
    assert_error(bad_state, 400)


async def test_only_an_administrator_reverses_a_closure_on_appeal(
    alice: User, reviewer: User, admin: User, make_staff: MakeStaff
) -> None:
    """Lifting a closure takes an administrator; reversing it on appeal does too."""
    closure = await applied(admin, "user", alice.id, "close")
    pending = await appealed(alice, sanction_id=closure["id"])
    assert_error(await decide(reviewer, pending["id"], "reverse"), 403, "role_required")
    other_admin = await make_staff("admin", new=True)
    assert (await decided(other_admin, pending["id"], "reverse"))["state"] == "reversed"
    assert (await alice.me())["sanctions"] == []


async def test_an_appeal_is_a_reason_to_look_at_its_appellants_identity_only(
    alice: User, bob: User, reviewer: User
) -> None:
    warning = await applied(reviewer, "user", alice.id, "warning")
    filed = await appealed(alice, sanction_id=warning["id"])
    look = {"reason": "checking the appellant's claim", "reference": f"appeal:{filed['id']}"}
    of_bob = await reviewer.raw("POST", f"/api/v1/admin/identities/{bob.id}/reveal", json=look)
    assert_error(of_bob, 422, "reference_unrelated")
    of_alice = await reviewer.raw("POST", f"/api/v1/admin/identities/{alice.id}/reveal", json=look)
    assert of_alice.status_code == 200, of_alice.text
