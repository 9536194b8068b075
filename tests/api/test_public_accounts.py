"""Public accounts: who may apply and with what papers, caps, names, staff review and the news
entitlement, the notice to the applicant, the account page, and subscriptions."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import MakeStaff, MakeUser, Server, ServerPool, User, fresh_identity
from tests.support import (
    account_name,
    assert_error,
    every_item,
    full_sync,
    identity_secrets,
    leaks,
    public_account,
    valid_uscc,
)

WAIT = 10  # seconds: generous, only reached when something is wrong


async def apply(
    user: User, name: str, category: str = "individual", **fields: Any
) -> httpx.Response:
    body = {"name": name, "category": category, "account_type": "subscription", **fields}
    return await user.raw("POST", "/api/v1/public-accounts", json=body)


async def decide(reviewer: User, account_id: int, decision: str, **fields: Any) -> httpx.Response:
    return await reviewer.raw(
        "POST",
        f"/api/v1/admin/public-accounts/{account_id}/decision",
        json={"decision": decision, **fields},
    )


async def page(user: User, account_id: int) -> httpx.Response:
    return await user.raw("GET", f"/api/v1/public-accounts/{account_id}")


async def sanction(
    staff: User, account_id: int, kind: str, reason: str | None, **fields: Any
) -> httpx.Response:
    """Apply a sanction to a public account (e.g. `suspend_updates` with `days`)."""
    body = {"subject_type": "public_account", "subject_id": account_id, "kind": kind}
    return await staff.raw(
        "POST", "/api/v1/admin/sanctions", json={**body, "reason": reason, **fields}
    )


async def queued_ids(reviewer: User, status: str = "pending_review") -> set[int]:
    """Every id in one review queue, read page by page."""
    queue = await every_item(
        reviewer, "/api/v1/admin/public-accounts", "public_accounts", status=status, limit=200
    )
    return {item["id"] for item in queue}


# Applying ---------------------------------------------------------------------------------------


async def test_a_verified_user_applies_and_the_application_waits_for_review(
    alice: User, bob: User, reviewer: User
) -> None:
    name = account_name("山野茶馆")
    answer = await apply(alice, name, description="  Tea and hills.  ")
    assert answer.status_code == 201, answer.text
    applied = answer.json()
    assert applied["name"] == name
    assert applied["status"] == "pending_review"
    assert applied["news_entitlement"] == "none"
    assert applied["description"] == "Tea and hills."
    assert applied["operator"]["kind"] == "individual"
    assert applied["operator"]["entity_name"] is None
    assert applied["operator_id"] == alice.id

    mine = (await alice.request("GET", "/api/v1/me/public-accounts"))["public_accounts"]
    assert [account["id"] for account in mine] == [applied["id"]]
    assert (await page(alice, applied["id"])).json()["status"] == "pending_review"
    assert (await page(reviewer, applied["id"])).json()["status"] == "pending_review"
    # Nobody else learns an application exists.
    for method, path in [
        ("GET", f"/api/v1/public-accounts/{applied['id']}"),
        ("GET", f"/api/v1/public-accounts/{applied['id']}/posts"),
        ("PUT", f"/api/v1/public-accounts/{applied['id']}/subscription"),
        ("DELETE", f"/api/v1/public-accounts/{applied['id']}/subscription"),
    ]:
        assert_error(await bob.raw(method, path), 404, "public_account_not_found")
    assert (await bob.request("GET", "/api/v1/me/public-accounts"))["public_accounts"] == []
    assert_error(await page(bob, 10**9), 404, "public_account_not_found")
    assert applied["id"] in await queued_ids(reviewer)


async def test_a_user_whose_identity_is_not_verified_cannot_apply(
    review_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    pending = await make_user("pending", on=review_server)
    name = account_name()
    assert_error(await apply(pending, name), 422, "identity_unverified")

    reviewer = await make_staff("reviewer", on=review_server)
    approved = await reviewer.raw(
        "POST", f"/api/v1/admin/identities/{pending.id}/decision", json={"decision": "approve"}
    )
    assert approved.status_code == 200, approved.text
    assert (await apply(pending, name)).status_code == 201


async def test_categories_and_account_types_come_from_the_pack(alice: User) -> None:
    refused = await apply(alice, account_name(), category="blogger")
    assert_error(refused, 400, "category_invalid")
    assert "news_organisation" in refused.json()["error"]["message"]
    wrong_type = await alice.raw(
        "POST",
        "/api/v1/public-accounts",
        json={"name": account_name(), "category": "individual", "account_type": "broadcast"},
    )
    assert_error(wrong_type, 400, "account_type_invalid")
    assert "subscription" in wrong_type.json()["error"]["message"]
    service = await alice.apply_public_account(account_name(), "individual", "service")
    assert (service["category"], service["account_type"]) == ("individual", "service")
    assert service["category_label"] == "个人 Individual"


async def test_an_organisation_files_its_registered_name_and_a_valid_credit_code(
    alice: User,
) -> None:
    code = valid_uscc()
    wrong_digit = code[:-1] + ("0" if code[-1] != "0" else "1")
    name = {"entity_name": "山海文化传播有限公司"}
    for fields, status, error in [
        (uscc(code), 422, "entity_name_required"),
        ({"entity_name": "   ", **uscc(code)}, 422, "entity_name_required"),
        (name, 422, "registration_number_required"),
        ({**name, "registration_number_type": "cn_uscc"}, 422, "registration_number_required"),
        ({**name, "registration_number": code}, 422, "registration_number_type_not_accepted"),
        ({**name, **uscc(wrong_digit)}, 422, "registration_number_invalid"),
        ({**name, **uscc(code[:-2])}, 422, "registration_number_invalid"),
        # An EU VAT number is not a register the cn-2014 pack accepts.
        (
            {**name, "registration_number_type": "eu_vat", "registration_number": "FR40303265045"},
            422,
            "registration_number_type_not_accepted",
        ),
    ]:
        assert_error(await apply(alice, account_name(), "enterprise", **fields), status, error)
    spaced = f"{code[:6]} {code[6:12]}-{code[12:]}"
    answer = await apply(alice, account_name(), "enterprise", **name, **uscc(spaced))
    assert answer.status_code == 201, answer.text
    assert answer.json()["operator"] == {
        "kind": "organisation",
        "entity_name": "山海文化传播有限公司",
        "registration_number_type": "cn_uscc",
        "registration_number": code,
    }
    # An individual's account is filed under the person: organisation papers are not kept.
    individual = await apply(
        alice, account_name(), "individual", entity_name="某公司", **uscc(code)
    )
    assert individual.json()["operator"]["entity_name"] is None
    assert individual.json()["operator"]["registration_number"] is None
    assert individual.json()["operator"]["registration_number_type"] is None


def uscc(number: str) -> dict[str, str]:
    return {"registration_number_type": "cn_uscc", "registration_number": number}


@pytest.fixture
def eu_server(servers: ServerPool) -> Server:
    """The EU pack with no identity-verification provider: a checked document is enough."""
    return servers.shared(policy_pack="eu-dsa", verifier="none")


async def eu_operator(make_user: MakeUser, server: Server) -> User:
    """A user of the EU pack (passports only) whose identity is only format-checked and whose
    phone is not confirmed: the EU pack asks no more of an applicant."""
    passport = fresh_identity(
        id_type="passport", id_number=f"P{uuid.uuid4().hex[:12].upper()}", legal_name="JEAN DUPONT"
    )
    operator = await make_user("operator", on=server, identity=passport, confirm_phone=False)
    assert (await operator.me())["identity"]["status"] == "format_checked"
    return operator


@pytest.mark.parametrize(
    ("number_type", "number", "stored"),
    [
        ("eu_vat", "FR 40 303 265 045", "FR40303265045"),
        ("eu_vat", "nl004495445b01", "NL004495445B01"),
        ("fr_siren", "552 008 443", "552008443"),
        (
            "de_handelsregisternummer",
            "HRB 12345 Berlin (Charlottenburg)",
            "Berlin (Charlottenburg) HRB 12345",
        ),
    ],
)
async def test_an_eu_company_applies_under_the_eu_pack_with_its_registration_number(
    eu_server: Server, make_user: MakeUser, number_type: str, number: str, stored: str
) -> None:
    operator = await eu_operator(make_user, eu_server)
    papers = {"entity_name": "Maison Dupont SAS", "registration_number_type": number_type}

    answer = await apply(operator, account_name("Dupont"), "enterprise", **papers,
                         registration_number=number)  # fmt: skip

    assert answer.status_code == 201, answer.text
    assert answer.json()["operator"] == {
        "kind": "organisation",
        "entity_name": "Maison Dupont SAS",
        "registration_number_type": number_type,
        "registration_number": stored,
    }


@pytest.mark.parametrize(
    ("number_type", "number", "code"),
    [
        ("eu_vat", "FR40303265046", "registration_number_invalid"),  # a wrong check digit
        ("eu_vat", "40303265045", "registration_number_invalid"),  # no country prefix
        ("eu_vat", "XX123456789", "registration_number_invalid"),
        ("fr_siren", "552008442", "registration_number_invalid"),
        ("cn_uscc", "91110000600037341L", "registration_number_type_not_accepted"),
        ("company_number", "12345678", "registration_number_type_not_accepted"),
    ],
)
async def test_an_invalid_or_foreign_registration_number_is_refused_under_the_eu_pack(
    eu_server: Server, make_user: MakeUser, number_type: str, number: str, code: str
) -> None:
    operator = await eu_operator(make_user, eu_server)
    refused = await apply(
        operator,
        account_name("Dupont"),
        "enterprise",
        entity_name="Maison Dupont SAS",
        registration_number_type=number_type,
        registration_number=number,
    )
    assert_error(refused, 422, code)
    assert number not in refused.json()["error"]["message"]


async def test_one_identity_holds_one_individual_and_two_organisation_accounts(
    alice: User, reviewer: User
) -> None:
    first = await public_account(alice)
    assert_error(await apply(alice, account_name()), 409, "public_account_limit")
    enterprises = [await public_account(alice, category="enterprise") for _ in range(2)]
    third = await apply(
        alice, account_name(), "media", entity_name="山海传媒有限公司", **uscc(valid_uscc())
    )
    assert_error(third, 409, "public_account_limit")
    # The cap counts approved accounts as well as pending applications.
    assert (await decide(reviewer, enterprises[0]["id"], "approve")).status_code == 200
    assert_error(await apply(alice, account_name()), 409, "public_account_limit")

    # A rejected application gives its slot back.
    rejection = await decide(reviewer, enterprises[1]["id"], "reject", reason="not a real business")
    assert rejection.status_code == 200, rejection.text
    assert (await public_account(alice, category="media"))["status"] == "pending_review"
    assert (
        await decide(reviewer, first["id"], "reject", reason="the name misleads")
    ).status_code == 200
    assert (await public_account(alice))["status"] == "pending_review"
    assert_error(await apply(alice, account_name()), 409, "public_account_limit")


# Names ------------------------------------------------------------------------------------------


async def test_names_are_unique_after_normalization(alice: User, bob: User, reviewer: User) -> None:
    taken = account_name("读书会")  # e.g. 读书会17
    number = taken.removeprefix("读书会")
    full_width = number.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})
    for same in [
        taken,
        f"讀書會{number}",
        f"读 书 会 {number}",
        f"读书会{full_width}",
        f" {taken} ",
    ]:
        before = await apply(alice if same == taken else bob, same)
        if same == taken:
            assert before.status_code == 201, before.text
            first_id = before.json()["id"]
        else:
            assert_error(before, 409, "name_taken")
    # A rejected application gives its name back.
    rejected = await decide(reviewer, first_id, "reject", reason="we asked for papers")
    assert rejected.status_code == 200, rejected.text
    again = await apply(bob, f"讀書會{number}")
    assert again.status_code == 201, again.text


async def test_names_that_evade_the_naming_rules_are_refused(alice: User) -> None:
    number = account_name("")  # a suffix that keeps every name here new
    evasions = {
        f"新华社{number}": "name_restricted",
        f"新 华 社{number}": "name_restricted",  # inserted spaces
        f"新.华.社{number}": "name_restricted",  # inserted punctuation
        f"新華社{number}": "name_restricted",  # traditional characters
        f"新聞早知道{number}": "name_restricted",
        f"ＮＥＷＳ茶馆{number}": "name_restricted",  # full-width letters
        f"ＣＣＴＶ迷{number}": "name_restricted",
        f"xinhuashe{number}": "name_restricted",  # pinyin
        f"Xin Hua She {number}": "name_restricted",
        f"renmin ribao{number}": "name_restricted",
        f"海淀人民政府{number}": "name_restricted",  # a state organ
        f"海淀公安{number}": "name_restricted",
        f"茶馆 www.tea{number}.com": "name_url",
        f"茶馆 tea{number}.cn": "name_url",
        f"茶馆 微信 tea{number}": "name_contact_details",
        f"茶馆 1380013{number}": "name_contact_details",  # a phone number
        f"茶馆{number}@tea": "name_contact_details",  # an e-mail address
    }
    refused = {}
    for name in evasions:
        answer = await apply(alice, name)
        assert answer.status_code in (400, 422), answer.text
        assert_error(answer, answer.status_code)
        refused[name] = answer.json()["error"]["code"]
    assert refused == evasions
    assert (await alice.request("GET", "/api/v1/me/public-accounts"))["public_accounts"] == []


async def test_reserved_terms_are_left_to_the_categories_they_belong_to(
    make_user: MakeUser,
) -> None:
    government = await make_user("government")
    newsroom = await make_user("newsroom")
    shop = await make_user("shop")
    papers = {"entity_name": "海淀区人民政府办公室", **uscc(valid_uscc())}

    county = await apply(government, account_name("海淀区人民政府"), "government", **papers)
    assert county.status_code == 201, county.text
    daily = await apply(newsroom, account_name("新闻早知道"), "news_organisation", **papers)
    assert daily.status_code == 201, daily.text
    # Each group of terms belongs to its own kind of account only.
    for user, name, category in [
        (newsroom, "海淀区人民政府", "news_organisation"),
        (government, "政务新闻", "government"),
        (government, "xinwen lianbo", "government"),
        (shop, "新闻小店", "enterprise"),
        (shop, "人民政府小店", "enterprise"),
    ]:
        assert_error(
            await apply(user, account_name(name), category, **papers), 422, "name_restricted"
        )


# Review -----------------------------------------------------------------------------------------


async def test_reviewers_and_administrators_work_the_review_queue(
    alice: User, bob: User, reviewer: User, make_staff: MakeStaff
) -> None:
    """A desk like the case queue: reviewers and the administrators beside them; a user or the
    auditor is refused."""
    applied = await public_account(alice)
    auditor = await make_staff("auditor")
    admin = await make_staff("admin")
    for outsider, write_code in ((bob, "role_required"), (auditor, "read_only_role")):
        listing = await outsider.raw("GET", "/api/v1/admin/public-accounts")
        assert_error(listing, 403, "role_required")
        approval = await decide(outsider, applied["id"], "approve")
        assert_error(approval, 403, write_code)
    assert_error(
        await sanction(bob, applied["id"], "suspend_updates", "spreads rumours", days=7),
        403,
        "role_required",
    )
    assert_error(
        await bob.raw("POST", "/api/v1/admin/sanctions/1/lift", json={"reason": "appeal won"}),
        403,
        "role_required",
    )
    assert (await page(alice, applied["id"])).json()["status"] == "pending_review"
    # The auditor reads filings, not applications.
    assert_error(await page(auditor, applied["id"]), 404, "public_account_not_found")

    (item,) = await queue_from(reviewer, applied["id"])
    assert item["operator_handle"] == alice.handle
    assert item["status"] == "pending_review"
    approved = await decide(reviewer, applied["id"], "approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert applied["id"] in await queued_ids(reviewer, "approved")
    (decided,) = await queue_from(reviewer, applied["id"], "approved")
    assert decided["reviewed_by"] == reviewer.id
    assert applied["id"] not in await queued_ids(reviewer)

    # An administrator sees the same queue and decides from it.
    second = await public_account(bob)
    (item,) = await queue_from(admin, second["id"])
    assert item["operator_handle"] == bob.handle
    rejected = await decide(admin, second["id"], "reject", reason="the papers are not his")
    assert rejected.status_code == 200, rejected.text
    (decided,) = await queue_from(admin, second["id"], "rejected")
    assert decided["reviewed_by"] == admin.id
    assert (await page(bob, second["id"])).json()["status"] == "rejected"


async def queue_from(
    reviewer: User, account_id: int, status: str = "pending_review"
) -> list[dict[str, Any]]:
    """The queue page that starts at `account_id`."""
    answer = await reviewer.raw(
        "GET",
        "/api/v1/admin/public-accounts",
        params={"status": status, "cursor": str(account_id - 1), "limit": 1},
    )
    assert answer.status_code == 200, answer.text
    return [item for item in answer.json()["public_accounts"] if item["id"] == account_id]


@pytest.mark.parametrize(
    ("category", "licensed", "allowed"),
    [
        ("news_organisation", True, {"none", "repost", "originate"}),
        ("news_website", True, {"none", "repost", "originate"}),
        ("news_organisation", False, {"none"}),
        ("media", True, {"none", "repost"}),
        ("government", True, {"none", "repost"}),
        ("individual", True, {"none", "repost"}),
        ("enterprise", False, {"none"}),
    ],
)
async def test_the_news_entitlement_follows_category_and_licence(
    make_user: MakeUser, reviewer: User, category: str, licensed: bool, allowed: set[str]
) -> None:
    operator = await make_user("operator")
    name = account_name("新闻早知道" if category.startswith("news") else "读书会")
    papers = {"news_licence": "10120170001"} if licensed else {}
    applied = await public_account(operator, category=category, name=name, **papers)
    assert applied["news_licence"] == papers.get("news_licence")
    # The most generous entitlement first: each refusal leaves the application pending.
    for entitlement in ("originate", "repost", "none"):
        answer = await decide(reviewer, applied["id"], "approve", news_entitlement=entitlement)
        if entitlement in allowed:
            assert answer.status_code == 200, answer.text
            assert answer.json()["news_entitlement"] == entitlement
            break
        assert_error(answer, 422, "entitlement_not_allowed")
        assert (await page(operator, applied["id"])).json()["status"] == "pending_review"


async def test_a_rejection_needs_a_reason_and_an_application_is_decided_once(
    alice: User, bob: User, reviewer: User
) -> None:
    applied = await public_account(alice)
    assert_error(await decide(reviewer, applied["id"], "reject"), 422, "reason_required")
    assert_error(
        await decide(reviewer, applied["id"], "reject", reason="  "), 422, "reason_required"
    )
    rejected = await decide(reviewer, applied["id"], "reject", reason="the papers are forged")
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["status_reason"] == "the papers are forged"
    for decision in ("approve", "reject"):
        again = await decide(reviewer, applied["id"], decision, reason="a second thought")
        assert_error(again, 409, "public_account_state")
    assert_error(await decide(reviewer, 10**9, "approve"), 404, "public_account_not_found")
    # A rejected application stays private to its applicant.
    assert (await page(alice, applied["id"])).json()["status"] == "rejected"
    assert_error(await page(bob, applied["id"]), 404, "public_account_not_found")

    approved = await public_account(bob, reviewer)
    assert_error(
        await decide(reviewer, approved["id"], "reject", reason="too late"),
        409,
        "public_account_state",
    )


async def test_the_applicant_is_told_each_decision(alice: User, reviewer: User) -> None:
    first = await public_account(alice, category="enterprise")
    second = await public_account(alice, category="enterprise")
    _, cursor = await full_sync(alice)
    async with alice.websocket(since=cursor) as socket:
        assert (await decide(reviewer, first["id"], "approve")).status_code == 200
        live = await asyncio.wait_for(socket.receive_until("notice"), WAIT)
    assert live["notice"]["public_account_id"] == first["id"]
    assert live["notice"]["status"] == "approved"
    assert (
        await decide(reviewer, second["id"], "reject", reason="no licence shown")
    ).status_code == 200
    suspended = await sanction(reviewer, first["id"], "suspend_updates", "spreads rumours", days=7)
    assert suspended.status_code == 201, suspended.text

    events, _ = await full_sync(alice)
    notices = [event["notice"] for event in events if event["type"] == "notice"]
    assert [n["kind"] for n in notices] == [
        "public_account_status",
        "public_account_status",
        "sanction_applied",
    ]
    assert [(n["public_account_id"], n["name"], n["status"], n["reason"]) for n in notices[:2]] == [
        (first["id"], first["name"], "approved", None),
        (second["id"], second["name"], "rejected", "no licence shown"),
    ]
    told = notices[2]["sanction"]
    assert told["id"] == suspended.json()["id"]
    assert (told["subject"], told["kind"], told["state"]) == (
        {"type": "public_account", "id": first["id"]},
        "suspend_updates",
        "active",
    )
    assert told["statement"]["facts"] == "spreads rumours"
    assert told["statement"]["ends_at"] is not None
    assert (await page(alice, first["id"])).json()["status"] == "suspended"


# The account page -------------------------------------------------------------------------------


async def test_the_account_page_shows_the_entity_and_never_the_person(
    make_user: MakeUser, bob: User, reviewer: User
) -> None:
    identity = fresh_identity()
    operator = await make_user("operator", identity=identity)
    code = valid_uscc()
    newsroom = await public_account(
        operator,
        reviewer,
        category="news_organisation",
        name=account_name("新闻早知道"),
        entitlement="originate",
        entity_name="北京山海报业有限公司",
        registration_number=code,
    )
    person = await public_account(operator, reviewer)

    seen = await page(bob, newsroom["id"])
    assert seen.status_code == 200, seen.text
    shown = seen.json()
    assert shown["category"] == "news_organisation"
    assert shown["category_label"] == "新闻单位 News organisation"
    assert shown["news_entitlement"] == "originate"
    assert shown["operator"] == {
        "kind": "organisation",
        "entity_name": "北京山海报业有限公司",
        "registration_number_type": "cn_uscc",
        "registration_number": code,
    }
    assert shown["subscriber_count"] == 0
    assert shown["subscribed"] is False
    assert shown["approved_at"]
    # Who operates it, and the review's inner workings, are for the operator and staff.
    for private in ("operator_id", "news_licence", "status_reason", "reviewed_by"):
        assert private not in shown
    individual = (await page(bob, person["id"])).json()
    assert individual["operator"] == {
        "kind": "individual",
        "entity_name": None,
        "registration_number_type": None,
        "registration_number": None,
    }

    secrets = identity_secrets(identity)
    for seen_by in (bob, operator, reviewer):
        for account_id in (newsroom["id"], person["id"]):
            assert leaks((await page(seen_by, account_id)).content, secrets) == []
    mine = await operator.raw("GET", "/api/v1/me/public-accounts")
    assert leaks(mine.content, secrets) == []
    for status in ("approved", "pending_review"):
        listing = await reviewer.raw(
            "GET", "/api/v1/admin/public-accounts", params={"status": status, "limit": 200}
        )
        assert leaks(listing.content, secrets) == []


# Subscriptions ----------------------------------------------------------------------------------


async def subscription(user: User, method: str, account_id: int) -> dict[str, Any]:
    answer = await user.raw(method, f"/api/v1/public-accounts/{account_id}/subscription")
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_subscribing_and_unsubscribing_are_idempotent_and_counted(
    alice: User, bob: User, carol: User, reviewer: User
) -> None:
    account = await public_account(alice, reviewer)
    assert await subscription(bob, "PUT", account["id"]) == {
        "subscribed": True,
        "subscriber_count": 1,
    }
    assert await subscription(bob, "PUT", account["id"]) == {
        "subscribed": True,
        "subscriber_count": 1,
    }
    assert await subscription(carol, "PUT", account["id"]) == {
        "subscribed": True,
        "subscriber_count": 2,
    }
    shown = (await page(bob, account["id"])).json()
    assert (shown["subscribed"], shown["subscriber_count"]) == (True, 2)
    assert (await page(alice, account["id"])).json()["subscribed"] is False

    assert await subscription(bob, "DELETE", account["id"]) == {
        "subscribed": False,
        "subscriber_count": 1,
    }
    assert await subscription(bob, "DELETE", account["id"]) == {
        "subscribed": False,
        "subscriber_count": 1,
    }
    shown = (await page(bob, account["id"])).json()
    assert (shown["subscribed"], shown["subscriber_count"]) == (False, 1)
    assert_error(
        await bob.raw("PUT", f"/api/v1/public-accounts/{10**9}/subscription"),
        404,
        "public_account_not_found",
    )


async def test_a_suspended_account_stays_readable_but_takes_no_new_subscribers(
    alice: User, bob: User, carol: User, reviewer: User
) -> None:
    account = await public_account(alice, reviewer)
    await subscription(bob, "PUT", account["id"])
    assert_error(
        await sanction(reviewer, account["id"], "suspend_updates", None, days=7),
        422,
        "reason_required",
    )
    suspended = await sanction(
        reviewer, account["id"], "suspend_updates", "spreads rumours", days=7
    )
    assert suspended.status_code == 201, suspended.text
    # A second suspension overlaps the first; the account stays suspended.
    again = await sanction(reviewer, account["id"], "suspend_updates", "again!", days=7)
    assert again.status_code == 201, again.text

    shown = (await page(carol, account["id"])).json()
    assert (shown["status"], shown["subscriber_count"]) == ("suspended", 1)
    refused = await carol.raw("PUT", f"/api/v1/public-accounts/{account['id']}/subscription")
    assert_error(refused, 422, "public_account_not_approved")
    assert await subscription(bob, "DELETE", account["id"]) == {
        "subscribed": False,
        "subscriber_count": 0,
    }

    for sanction_id in (suspended.json()["id"], again.json()["id"]):
        lifted = await reviewer.raw(
            "POST",
            f"/api/v1/admin/sanctions/{sanction_id}/lift",
            json={"reason": "the appeal was upheld"},
        )
        assert lifted.status_code == 200, lifted.text
        assert lifted.json()["state"] == "lifted"
        # Suspended while either suspension stands.
        status = (await page(carol, account["id"])).json()["status"]
        assert status == ("approved" if sanction_id == again.json()["id"] else "suspended")
    assert await subscription(carol, "PUT", account["id"]) == {
        "subscribed": True,
        "subscriber_count": 1,
    }


async def test_a_deregistered_operators_accounts_close_and_the_cap_still_holds(
    make_user: MakeUser, reviewer: User
) -> None:
    identity = fresh_identity()
    operator = await make_user("leaver", identity=identity)
    reader = await make_user("reader")
    account = await public_account(operator, reviewer)
    post = await operator.publish(account["id"], "告别", "正文")
    await reader.subscribe(account["id"])
    assert len((await reader.timeline())["posts"]) == 1

    assert (await operator.raw("DELETE", "/api/v1/me")).status_code == 204
    assert_error(await page(reader, account["id"]), 404, "public_account_not_found")
    assert_error(await reader.raw("GET", f"/api/v1/posts/{post['id']}"), 404, "post_not_found")
    assert (await reader.timeline())["posts"] == []
    assert account["id"] in await queued_ids(reviewer, "closed")
    # Registering again with the same document does not give the individual slot back.
    returning = await make_user("returner", identity=identity)
    again = await returning.raw(
        "POST",
        "/api/v1/public-accounts",
        json={"name": account_name(), "category": "individual", "account_type": "subscription"},
    )
    assert_error(again, 409, "public_account_limit")


async def test_the_directory_lists_what_anyone_may_read_with_the_callers_subscriptions(
    make_user: MakeUser, reviewer: User
) -> None:
    reader = await make_user("reader")
    operators = [await make_user("operator") for _ in range(4)]
    news = await public_account(
        operators[0], reviewer, category="news_organisation", entitlement="originate"
    )
    plain = await public_account(operators[1], reviewer)
    pending = await public_account(operators[2])
    rejected = await public_account(operators[3])
    assert (await decide(reviewer, rejected["id"], "reject", reason="papers unclear")).is_success
    await reader.subscribe(plain["id"])

    listed = {
        account["id"]: account
        for account in await every_item(
            reader, "/api/v1/public-accounts", "public_accounts", limit=50
        )
    }
    assert {news["id"], plain["id"]} <= set(listed)
    assert pending["id"] not in listed and rejected["id"] not in listed
    assert listed[plain["id"]]["subscribed"] is True
    assert listed[news["id"]]["subscribed"] is False
    assert listed[news["id"]]["news_entitlement"] == "originate"
    assert listed[news["id"]] == await reader.request(
        "GET", f"/api/v1/public-accounts/{news['id']}"
    )
    ids = list(listed)
    assert ids == sorted(ids)  # oldest first, each once across pages
