"""The staff console (/console) in a real browser, as reviewers, administrators and the auditor
work it: a flagged message reviewed to removal (its author's app shows the tombstone), an identity
revealed only with a reason and the look found in the audit log, twenty cases decided at once, a
group closed, an appeal reversed by a second reviewer, the auditor's verified log without private
content, and each role shown exactly the desks the API lets it use."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import MakeStaff, MakeUser, Server, ServerPool, User, fresh_identity
from tests.support import (
    FLAGGED,
    applied,
    case_of,
    decided_case,
    group_of,
    post_matching_a_new_term,
    public_account,
    send,
    sent,
    tagged,
    write_db,
)
from tests.test_export_records import passport_identity
from tests.web.conftest import check_screen, console_signed_in, console_ui, signed_in, ui

pytestmark = pytest.mark.usefixtures("no_server_errors")
LANGUAGES = pytest.mark.parametrize("english", [True, False], ids=["en", "zh-CN"])
# Each desk, the route that lists what it shows (web/src/console/access.ts).
DESKS = {
    "cases": "/api/v1/admin/review/cases",
    "identities": "/api/v1/admin/identities",
    "applications": "/api/v1/admin/public-accounts",
    "sanctions": "/api/v1/admin/sanctions",
    "appeals": "/api/v1/admin/appeals",
    "lexicon": "/api/v1/admin/lexicon",
    "detection": "/api/v1/admin/moderation/hash-bank",
    "audit": "/api/v1/audit/log",
    "dashboard": "/api/v1/audit/stats",
    "records": "/api/v1/audit/filings",
}


def lang(english: bool) -> str:
    return "en" if english else "zh-CN"


async def open_desk(page: Page, desk: str, english: bool) -> None:
    await page.get_by_role("link", name=console_ui(english, f"nav.{desk}"), exact=True).click()
    await expect(page.get_by_role("heading", level=2)).to_have_text(
        console_ui(english, f"nav.{desk}")
    )


async def flagged_case(
    author: User, addressee: User, staff: User
) -> tuple[int, str, dict[str, Any]]:
    """A direct chat with a message the check flags: the chat's id, the text and its review
    case."""
    chat = await author.open_direct(addressee.id)
    text = tagged(FLAGGED)
    message = await sent(author, chat["id"], text)
    return chat["id"], text, await case_of(staff, "message", message["id"])


async def decide_in_console(page: Page, english: bool, verdict: str, reason: str) -> None:
    """The open case (or the bulk form) decided: the verdict chosen, the reason written."""
    form = page.locator("form.decision").last
    await form.get_by_label(console_ui(english, f"verdict.{verdict}"), exact=True).check()
    await form.locator("textarea").fill(reason)
    await form.locator("button[type=submit]").click()


@LANGUAGES
async def test_a_reviewer_removes_a_flagged_message_and_its_author_sees_the_tombstone(
    browser: Browser, server: Server, make_user: MakeUser, reviewer: User, english: bool
) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    _, text, case = await flagged_case(alice, bob, reviewer)
    author = await signed_in(browser, server, alice, english=english)
    await author.locator(".conversation").first.click()
    await expect(author.locator(".message").last).to_contain_text(text)

    desk = await console_signed_in(browser, server, reviewer, english=english)
    row = desk.locator(f"tr[data-case='{case['id']}']")
    await row.click()
    detail = desk.locator("article.detail")
    # The words the check matched are marked where it found them, with the rule that fired.
    await expect(detail.locator("mark")).to_have_text("百家乐")
    await expect(detail.locator("table.reasons")).to_contain_text("百家乐")
    await expect(detail.locator(".normalized code")).not_to_be_empty()
    await desk.keyboard.press("c")  # claim, from the keyboard
    await expect(detail.get_by_role("status")).to_have_text(console_ui(english, "cases.claimed"))
    await check_screen(desk, f"console-case-{lang(english)}")
    await desk.keyboard.press("r")  # remove: the reason box takes the focus
    await expect(detail.locator("textarea")).to_be_focused()
    await decide_in_console(desk, english, "remove", "gambling advertisement")
    await expect(detail.get_by_role("status")).to_have_text(console_ui(english, "cases.decided"))

    await expect(author.locator(".message").last).to_contain_text(ui(english, "chat.removed"))
    decided = await reviewer.request("GET", f"/api/v1/admin/review/cases/{case['id']}")
    assert (decided["state"], decided["decided_by"]) == ("removed", reviewer.id)


@LANGUAGES
async def test_an_identity_is_revealed_only_with_a_reason_and_the_look_is_in_the_audit_log(
    browser: Browser,
    server: Server,
    make_user: MakeUser,
    make_staff: MakeStaff,
    english: bool,
) -> None:
    carol = await make_user("carol", identity=fresh_identity())
    reviewer = await make_staff("reviewer", new=True)
    desk = await console_signed_in(browser, server, reviewer, english=english)
    await open_desk(desk, "identities", english)
    await desk.get_by_label(console_ui(english, "identities.status")).select_option(
        "provider_verified"
    )
    row = desk.locator(f"li[data-user='{carol.id}']")
    await row.get_by_role("button", name=console_ui(english, "reveal.open")).click()
    dialog = desk.get_by_role("dialog")
    await expect(dialog.get_by_role("note")).to_have_text(console_ui(english, "reveal.recorded"))
    reveal = dialog.get_by_role("button", name=console_ui(english, "reveal.submit"))
    await dialog.locator("input[name=reference]").fill("request:JGWA-2026-7")
    await expect(reveal).to_be_disabled()  # no reason, no look
    await dialog.locator("textarea[name=reason]").fill("the police asked, ref JGWA-2026-7")
    await reveal.click()
    await expect(dialog.get_by_test_id("revealed-identity")).to_be_visible()
    await expect(dialog.get_by_role("status")).to_contain_text("#")
    await check_screen(desk, f"console-reveal-{lang(english)}")

    admin = await make_staff("admin")
    log = await console_signed_in(browser, server, admin, english=english)
    await open_desk(log, "audit", english)
    await log.locator("input[name=action]").fill("identity.reveal")
    await log.locator("input[name=subject_id]").fill(str(carol.id))
    await log.get_by_role("button", name=console_ui(english, "audit.filter.apply")).click()
    looked = log.locator("tr[data-action='identity.reveal']")
    await expect(looked).to_have_count(1)
    await expect(looked).to_contain_text(f"#{reviewer.id}")
    await expect(looked).to_contain_text("the police asked")


async def test_twenty_cases_are_decided_at_once_after_a_preview(
    browser: Browser, server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    dan, erin = await make_user("dan"), await make_user("erin")
    chat = await dan.open_direct(erin.id)
    messages = [await sent(dan, chat["id"], tagged(FLAGGED)) for _ in range(20)]
    reviewer = await make_staff("reviewer", new=True)
    cases = [await case_of(reviewer, "message", m["id"]) for m in messages]
    desk = await console_signed_in(browser, server, reviewer, english=True)
    await desk.get_by_label(console_ui(True, "cases.source")).select_option("flag")
    queue = desk.locator(".queue table")
    await expect(queue).to_have_attribute("data-filters", "pending/flag/false")
    for case in cases:
        row = desk.locator(f"tr[data-case='{case['id']}']")
        while not await row.count():  # the queue is paged: show more until the case is there
            await desk.get_by_role("button", name=console_ui(True, "more")).click()
            await expect(queue).to_have_attribute("aria-busy", "false")
        await row.get_by_role("checkbox").check()
    bulk = desk.locator("section.bulk")
    await expect(bulk.get_by_role("heading")).to_have_text(
        console_ui(True, "bulk.title", count="20")
    )
    await decide_in_console(desk, True, "remove", "a flood of gambling ads")
    await expect(bulk.get_by_test_id("bulk-preview")).to_have_text(
        console_ui(True, "bulk.effect.remove", count="20")
    )
    await expect(bulk.locator(".preview li")).to_have_count(20)
    await check_screen(desk, "console-bulk-en")
    await bulk.get_by_role("button", name=console_ui(True, "bulk.confirm", count="20")).click()
    done = desk.get_by_test_id("bulk-done")
    await expect(done).to_have_text(console_ui(True, "bulk.done", count="20"))
    await expect(bulk).to_have_count(0)  # nothing chosen any more
    for case in cases:
        decided = await reviewer.request("GET", f"/api/v1/admin/review/cases/{case['id']}")
        assert (decided["state"], decided["reason"]) == ("removed", "a flood of gambling ads")


async def test_an_administrator_closes_a_group(
    browser: Browser, server: Server, make_user: MakeUser, admin: User
) -> None:
    owner, member = await make_user("owner"), await make_user("member")
    group = await group_of(owner, "rumour mill", member)
    desk = await console_signed_in(browser, server, admin, english=False)
    await open_desk(desk, "sanctions", False)
    await desk.get_by_label(console_ui(False, "sanctions.subject_type")).select_option("group")
    await desk.locator("input[name=subject_id]").fill(str(group["id"]))
    await desk.get_by_role("button", name=console_ui(False, "sanctions.look")).click()
    standing = desk.get_by_test_id("standing")
    await standing.locator("select[name=kind]").select_option("close_group")
    await standing.locator("textarea[name=reason]").fill("organised the spread of rumours")
    await check_screen(desk, "console-sanctions-zh-CN")
    await standing.locator("form.apply button[type=submit]").click()
    await expect(standing.locator("form.apply [role=status]")).to_have_text(
        console_ui(False, "sanctions.applied")
    )
    in_force = await admin.request(
        "GET",
        "/api/v1/admin/sanctions",
        params={"subject_type": "group", "subject_id": group["id"]},
    )
    assert [s["kind"] for s in in_force["sanctions"]] == ["close_group"]
    refused = await send(member, group["id"], "still here?")
    assert refused.status_code in (403, 404, 409, 422), refused.text


@LANGUAGES
async def test_an_appeal_is_decided_by_a_second_reviewer_and_restores_the_content(
    browser: Browser,
    server: Server,
    make_user: MakeUser,
    make_staff: MakeStaff,
    english: bool,
) -> None:
    fay, gus = await make_user("fay"), await make_user("gus")
    first = await make_staff("reviewer", new=True)
    chat, text, case = await flagged_case(fay, gus, first)
    await decided_case(first, case["id"], "remove", "gambling advertisement")
    appeal = await fay.request(
        "POST", "/api/v1/appeals", json={"case_id": case["id"], "statement": "it was a joke"}
    )

    mine = await console_signed_in(browser, server, first, english=english)
    await open_desk(mine, "appeals", english)
    row = mine.locator(f"li[data-appeal='{appeal['id']}']")
    await expect(row).to_contain_text(console_ui(english, "appeals.not_yours"))
    await expect(row.get_by_role("button")).to_have_count(0)

    second = await make_staff("reviewer", new=True)
    desk = await console_signed_in(browser, server, second, english=english)
    await open_desk(desk, "appeals", english)
    row = desk.locator(f"li[data-appeal='{appeal['id']}']")
    await expect(row).to_contain_text("it was a joke")  # the appeal beside the decision
    await expect(row).to_contain_text("gambling advertisement")
    await check_screen(desk, f"console-appeals-{lang(english)}")
    await row.locator("input[name=reason]").fill("a joke among friends, no advertisement")
    await row.get_by_role("button", name=console_ui(english, "appeals.reverse")).click()
    outcome = desk.get_by_test_id("outcome")
    await expect(outcome).to_have_text(console_ui(english, "appeals.reversed"))

    restored = await gus.request("GET", f"/api/v1/conversations/{chat}/messages")
    assert text in [m.get("text") for m in restored["messages"]]


async def test_the_auditor_sees_the_verified_log_and_no_private_content(
    browser: Browser, server: Server, make_user: MakeUser, make_staff: MakeStaff, admin: User
) -> None:
    identity = fresh_identity()
    hal = await make_user("hal", identity=identity)
    ivy = await make_user("ivy")
    _, secret, case = await flagged_case(hal, ivy, admin)
    await decided_case(admin, case["id"], "remove", "gambling advertisement")
    assert (await asyncio.to_thread(server.cli, "audit", "checkpoint")).returncode == 0

    auditor = await make_staff("auditor")
    page = await console_signed_in(browser, server, auditor, english=True)
    desks = [console_ui(True, f"nav.{desk}") for desk in ("audit", "dashboard", "records")]
    await expect(page.locator(".desk nav a")).to_have_text(desks)
    status = page.get_by_test_id("checkpoint-status")
    await expect(status).to_have_class("verified")
    first_proof = page.get_by_role("button", name=console_ui(True, "proof.check")).first
    await first_proof.click()
    await expect(page.locator("table.log").get_by_role("status").first).to_have_text(
        console_ui(True, "proof.included")
    )
    await check_screen(page, "console-audit-en")
    private = [identity["legal_name"], identity["id_number"], identity["phone"], secret]
    assert [item for item in private if item in await page.content()] == []

    await open_desk(page, "dashboard", True)
    charts = page.locator("figure.chart")
    await expect(charts).to_have_count(9)
    await expect(charts.locator("canvas")).to_have_count(9)  # each drawn by ECharts
    assert [item for item in private if item in await page.content()] == []

    await open_desk(page, "records", True)
    await page.locator("select[name=kind]").select_option("cases")
    await expect(page.locator("table.records tbody tr").first).to_be_visible()
    async with page.expect_download() as downloading:
        await page.get_by_role("button", name=console_ui(True, "records.download")).click()
    csv = Path(await (await downloading.value).path()).read_text(encoding="utf-8")
    header, *lines = csv.splitlines()
    assert header.startswith('"id","target_type"')
    assert any(line.startswith(f'"{case["id"]}","message"') for line in lines)
    assert [item for item in private if item in csv + await page.content()] == []
    # This server's pack (cn-2014) files no DSA statements: the page says so.
    await page.get_by_role("button", name=console_ui(True, "records.dsa_download")).click()
    await expect(page.get_by_test_id("dsa-said")).to_contain_text("does not file DSA statements")


@LANGUAGES
async def test_the_dashboards_chart_the_statistics_for_a_day_a_week_and_a_month(
    browser: Browser, server: Server, make_user: MakeUser, admin: User, english: bool
) -> None:
    jay, kim = await make_user("jay"), await make_user("kim")
    _, _, case = await flagged_case(jay, kim, admin)
    await decided_case(admin, case["id"], "remove", "gambling advertisement")
    await applied(admin, "user", jay.id, "warning", reason="posted gambling ads")
    stats = await admin.request("GET", "/api/v1/audit/stats", params={"period": "day"})
    opened = sum(row["cases_opened"] for row in stats["rows"])
    queues = await admin.request("GET", "/api/v1/audit/queues", params={"period": "day"})
    assert opened >= 1 and sum(row["cases"]["entered"] for row in queues["rows"]) >= 1

    page = await console_signed_in(browser, server, admin, english=english)
    await open_desk(page, "dashboard", english)
    for period in ("day", "week", "month"):
        await page.locator("select[name=period]").select_option(period)
        await expect(page.locator("figure.chart canvas")).to_have_count(9)
    await page.locator("select[name=period]").select_option("day")
    await expect(page.locator("figure.chart canvas")).to_have_count(9)
    captions = page.locator("figure.chart figcaption")
    for index, desk in enumerate(("cases", "identities", "applications", "appeals")):
        queue = console_ui(english, "dashboard.queue", desk=console_ui(english, f"nav.{desk}"))
        await expect(captions.nth(index)).to_have_text(queue)
    await page.wait_for_timeout(500)  # ECharts animates its first drawing
    await check_screen(page, f"console-dashboard-{lang(english)}")


@pytest.mark.parametrize("role", ["reviewer", "admin", "auditor", "user"])
async def test_each_role_sees_exactly_the_desks_the_api_lets_it_use(
    browser: Browser, server: Server, make_staff: MakeStaff, make_user: MakeUser, role: str
) -> None:
    person = await make_user("plain") if role == "user" else await make_staff(role)
    allowed = []
    for desk, route in DESKS.items():
        answer = await person.raw("GET", route, params={"limit": 1})
        assert answer.status_code in (200, 403), (route, answer.text)
        if answer.status_code == 200:
            allowed.append(console_ui(False, f"nav.{desk}"))
    page = await console_signed_in(browser, server, person, english=False)
    if allowed:
        await expect(page.locator(".desk nav a")).to_have_text(allowed)
    else:
        await expect(page.get_by_role("alert")).to_have_text(console_ui(False, "console.not_staff"))
    await check_screen(page, f"console-{role}-zh-CN")


@LANGUAGES
async def test_every_desk_reads_well_in_both_languages(
    browser: Browser, server: Server, make_user: MakeUser, make_staff: MakeStaff, english: bool
) -> None:
    """Each desk with something on it passes the accessibility check, and is saved for the docs
    (docs/console.md)."""
    operator = await make_user("operator")
    await public_account(operator, category="media", name=f"海风传媒{operator.id}")
    reviewer, admin = await make_staff("reviewer"), await make_staff("admin")
    by_role = {
        reviewer: ("identities", "applications", "appeals", "lexicon"),
        admin: ("sanctions", "detection", "audit", "records"),
    }
    for staff, desks in by_role.items():
        page = await console_signed_in(browser, server, staff, english=english)
        for desk in desks:
            await open_desk(page, desk, english)
            await expect(page.locator(".work")).not_to_contain_text(console_ui(english, "loading"))
            if desk == "lexicon":
                await page.locator("textarea[name=try]").fill("今晚 百 家 樂 走起")
                await expect(page.get_by_test_id("check-result").locator("mark")).to_have_count(1)
            await check_screen(page, f"console-{desk}-{lang(english)}")


async def test_a_sanction_runs_until_the_moment_picked(
    browser: Browser, server: Server, make_user: MakeUser, reviewer: User
) -> None:
    lee = await make_user("lee")
    desk = await console_signed_in(browser, server, reviewer, english=True)
    await open_desk(desk, "sanctions", True)
    await desk.locator("input[name=subject_id]").fill(str(lee.id))
    await desk.get_by_role("button", name=console_ui(True, "sanctions.look")).click()
    standing = desk.get_by_test_id("standing")
    await standing.locator("select[name=kind]").select_option("suspend_updates")
    await standing.locator("input[name=ends_at]").fill("2031-05-06T07:08")
    await expect(standing.locator("input[name=days]")).to_be_disabled()
    await standing.locator("textarea[name=reason]").fill("spread a fabricated story")
    await standing.locator("form.apply button[type=submit]").click()
    await expect(standing.locator("form.apply [role=status]")).to_have_text(
        console_ui(True, "sanctions.applied")
    )
    # The page's clock is the browser's: the moment picked is local time there.
    picked = await desk.evaluate("() => new Date('2031-05-06T07:08').toISOString()")
    (sanction,) = (await lee.request("GET", "/api/v1/me"))["sanctions"]
    assert sanction["kind"] == "suspend_updates"
    assert sanction["statement"]["ends_at"].replace("+00:00", "Z")[:16] == picked[:16]


@LANGUAGES
async def test_an_administrator_follows_a_rescan_and_reads_the_bank_and_the_training(
    browser: Browser, server: Server, make_user: MakeUser, make_staff: MakeStaff, english: bool
) -> None:
    operator, admin = await make_user("operator"), await make_staff("admin")
    reviewer = await make_staff("reviewer")
    _, _, removed = await flagged_case(operator, await make_user("friend"), reviewer)
    await decided_case(reviewer, removed["id"], "remove", "gambling advertisement")
    post = await post_matching_a_new_term(operator, reviewer, admin)
    hashed = uuid.uuid4().hex * 2  # an imported list's PDQ hash
    listed = await admin.raw(
        "POST",
        "/api/v1/admin/moderation/image-hashes",
        params={"list": "fraud"},
        content=f"pdq {hashed}\n".encode(),
    )
    assert listed.status_code == 201, listed.text
    report = {
        "training_size": 320,
        "validation_size": 80,
        "threshold": 0.5,
        "categories": {
            "gambling": {
                "training_positives": 96,
                "training_negatives": 224,
                "validation_positives": 24,
                "validation_negatives": 56,
                "precision": 0.96,
                "recall": 0.875,
            }
        },
        "left_out": {"fraud": "too few removals"},
    }
    write_db(
        server.data_dir,
        "INSERT INTO classifier_trainings (classifier, trained_at, report) VALUES (?, ?, ?)",
        "zh_ngram",
        int(time.time() * 1000),
        json.dumps(report),
    )

    page = await console_signed_in(browser, server, admin, english=english)
    await open_desk(page, "detection", english)
    bank = page.get_by_role("region", name=console_ui(english, "detection.bank"))
    await expect(bank.locator(f"tr[data-case='{removed['id']}']")).to_have_count(1)
    images = page.get_by_role("region", name=console_ui(english, "detection.image_bank"))
    await expect(images.locator(f"code[title='{hashed}']")).to_have_count(1)
    await expect(images).to_contain_text(
        console_ui(english, "detection.source.import", list="fraud")
    )
    training = page.get_by_test_id("training").first
    await expect(training).to_contain_text("96%")
    await expect(training).to_contain_text("87.5%")
    await expect(training).to_contain_text("too few removals")

    await page.get_by_role("button", name=console_ui(english, "detection.begin")).click()
    # The rescan this click began, by the number the page says: not one an earlier test began.
    begun = page.get_by_role("status").filter(has_text="#")
    await expect(begun).to_have_count(1)
    number = re.search(r"#(\d+)", await begun.inner_text())
    assert number is not None
    newest = page.locator(f"[data-testid=rescan][data-rescan='{number[1]}']")
    await expect(newest).to_have_attribute("data-state", "done", timeout=20_000)
    await expect(newest).to_contain_text(console_ui(english, "detection.state.done"))
    assert (await case_of(reviewer, "post", post["id"]))["categories"] == ["fraud"]
    await check_screen(page, f"console-detection-{lang(english)}")

    # A reviewer reads it all, and begins nothing.
    desk = await console_signed_in(browser, server, reviewer, english=english)
    await open_desk(desk, "detection", english)
    await expect(desk.get_by_test_id("rescan").first).to_have_attribute("data-state", "done")
    await expect(
        desk.get_by_role("button", name=console_ui(english, "detection.begin"))
    ).to_have_count(0)


async def test_the_auditor_downloads_the_dsa_statements_under_a_pack_that_files_them(
    browser: Browser, servers: ServerPool, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    own = servers.start(policy_pack="eu-dsa")
    try:
        alice = await make_user("alice", on=own, identity=passport_identity())
        bob = await make_user("bob", on=own, identity=passport_identity())
        chat = (await alice.open_direct(bob.id))["id"]
        blocked = await send(alice, chat, "i will kill you")  # eu-dsa: blocked, a statement
        assert blocked.status_code == 422, blocked.text
        auditor = await make_staff("auditor", on=own)
        page = await console_signed_in(browser, own, auditor, english=True)
        await open_desk(page, "records", True)
        async with page.expect_download() as downloading:
            await page.get_by_role("button", name=console_ui(True, "records.dsa_download")).click()
        saved = Path(await (await downloading.value).path()).read_text(encoding="utf-8")
        (statement,) = json.loads(saved)["statements"]
        assert statement["automated_decision"] == "AUTOMATED_DECISION_FULLY"
        assert "kill" not in saved and alice.handle not in saved
        await expect(page.get_by_test_id("dsa-said")).to_have_text(
            console_ui(True, "records.dsa_done", count="1")
        )
    finally:
        own.stop()
