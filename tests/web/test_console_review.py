"""The staff console's review desks in a real browser, as the defects an outside tester found
left them: the reviewer who applied a sanction is told another decides its appeal (no buttons),
a case names its content's author and leads to their standing, the sanctions desk finds a user by
handle and offers only the kinds the server takes, refuses days over the longest a sanction
lasts, and words the refusal of a second sanction for one case."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import MakeStaff, MakeUser, Server
from tests.support import applied, decided_case
from tests.web.conftest import console_signed_in, console_ui
from tests.web.test_console import LANGUAGES, flagged_case, open_desk
from townhall.domain.enforcement import KINDS_BY_SUBJECT

pytestmark = pytest.mark.usefixtures("no_server_errors")
KINDS_TS = Path(__file__).parents[2] / "web" / "src" / "console" / "kinds.ts"


def test_the_console_offers_each_subject_exactly_the_kinds_the_server_takes() -> None:
    text = KINDS_TS.read_text(encoding="utf-8")
    table = text[text.index("KINDS_BY_SUBJECT") :]
    offered = {
        subject: re.findall(r'"(\w+)"', kinds)
        for subject, kinds in re.findall(r"(\w+): \[([^\]]*)\]", table[: table.index("};")])
    }
    assert offered == {subject: list(kinds) for subject, kinds in KINDS_BY_SUBJECT.items()}


@LANGUAGES
async def test_whoever_applied_a_sanction_sees_no_verdict_buttons_on_its_appeal(
    browser: Browser, server: Server, make_user: MakeUser, make_staff: MakeStaff, english: bool
) -> None:
    ivy = await make_user("ivy")
    first = await make_staff("reviewer", new=True)
    warning = await applied(first, "user", ivy.id, "limit_publication", days=3)
    appeal = await ivy.request(
        "POST", "/api/v1/appeals", json={"sanction_id": warning["id"], "statement": "not me"}
    )
    page = await console_signed_in(browser, server, first, english=english)
    await open_desk(page, "appeals", english)
    row = page.locator(f"li[data-appeal='{appeal['id']}']")
    await expect(row).to_contain_text(console_ui(english, "appeals.not_yours"))
    await expect(row.get_by_role("button")).to_have_count(0)

    second = await make_staff("reviewer", new=True)
    other = await console_signed_in(browser, server, second, english=english)
    await open_desk(other, "appeals", english)
    row = other.locator(f"li[data-appeal='{appeal['id']}']")
    await expect(
        row.get_by_role("button", name=console_ui(english, "appeals.uphold"))
    ).to_be_visible()
    await expect(row).not_to_contain_text(console_ui(english, "appeals.not_yours"))


@LANGUAGES
async def test_a_case_names_its_author_and_leads_to_their_standing(
    browser: Browser, server: Server, make_user: MakeUser, make_staff: MakeStaff, english: bool
) -> None:
    kim, lou = await make_user("kim"), await make_user("lou")
    reviewer = await make_staff("reviewer", new=True)
    _, _, case = await flagged_case(kim, lou, reviewer)
    await reviewer.request("PUT", f"/api/v1/admin/review/cases/{case['id']}/claim")
    page = await console_signed_in(browser, server, reviewer, english=english)
    await page.locator(f"tr[data-case='{case['id']}']").click()
    author = page.get_by_test_id("case-author")
    await expect(author).to_contain_text(f"@{kim.handle}")
    await author.get_by_role("button", name=console_ui(english, "cases.author_standing")).click()
    standing = page.get_by_test_id("standing")
    await expect(standing.locator("h3")).to_contain_text(f"@{kim.handle}")
    # A user is offered only what the server gives a user; the case the desk came from is cited.
    offered = await standing.locator("select[name=kind] option").evaluate_all(
        "options => options.map(o => o.value)"
    )
    assert "suspend_posting" not in offered
    assert set(offered) <= set(KINDS_BY_SUBJECT["user"])
    await expect(standing.locator("input[name=case_id]")).to_have_value(str(case["id"]))


@LANGUAGES
async def test_the_sanctions_desk_finds_a_user_by_handle_and_words_its_refusals(
    browser: Browser, server: Server, make_user: MakeUser, make_staff: MakeStaff, english: bool
) -> None:
    max_, ned = await make_user("max"), await make_user("ned")
    reviewer = await make_staff("reviewer", new=True)
    _, _, case = await flagged_case(max_, ned, reviewer)
    await decided_case(reviewer, case["id"], "remove", "gambling advertisement")
    await applied(reviewer, "user", max_.id, "warning", case_id=case["id"])

    page = await console_signed_in(browser, server, reviewer, english=english)
    await open_desk(page, "sanctions", english)
    await page.locator("input[name=subject_id]").fill(f"@{max_.handle}")
    await page.get_by_role("button", name=console_ui(english, "sanctions.look")).click()
    standing = page.get_by_test_id("standing")
    await expect(standing.locator("h3")).to_contain_text(f"@{max_.handle}")
    await expect(standing).not_to_contain_text("—")  # no days recommended: none shown
    # A warning is on record, not in force: the history says so too.
    await expect(standing.locator("li[data-sanction]").first).to_contain_text(
        console_ui(english, "sanction_state.on_record")
    )

    form = standing.locator("form.apply")
    await form.locator("select[name=kind]").select_option("limit_publication")
    await form.locator("input[name=days]").fill("4000")
    await expect(form.get_by_role("alert")).to_have_text(
        console_ui(english, "sanctions.days_max", max="3650")
    )
    await form.locator("input[name=days]").fill("3")
    await form.locator("input[name=case_id]").fill(str(case["id"]))
    await form.locator("textarea[name=reason]").fill("a second sanction for the same case")
    await form.locator("button[type=submit]").click()
    await expect(form.get_by_role("status")).to_have_text(
        console_ui(english, "error.case_already_sanctioned")
    )
