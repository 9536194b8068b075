"""Filings for the authority: accepted public accounts by category, with the operating entity and
never the operator's private identity."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import MakeStaff, MakeUser, User, fresh_identity
from tests.support import (
    account_name,
    assert_error,
    every_item,
    identity_secrets,
    leaks,
    pages,
    public_account,
)

FILINGS = "/api/v1/audit/filings"


async def filings(staff: User, **params: str) -> dict[int, dict[str, Any]]:
    records = await every_item(staff, FILINGS, "filings", **params)
    return {record["public_account_id"]: record for record in records}


async def test_accepted_accounts_are_filed_by_category_without_identity_data(
    make_user: MakeUser, reviewer: User, make_staff: MakeStaff
) -> None:
    identities = [fresh_identity() for _ in range(2)]
    newsroom = await make_user("newsroom", identity=identities[0])
    person = await make_user("person", identity=identities[1])
    news = await public_account(
        newsroom,
        reviewer,
        category="news_organisation",
        name=account_name("新闻早知道"),
        entitlement="originate",
        entity_name="北京山海报业有限公司",
        news_licence="10120170042",
    )
    suspended = await public_account(newsroom, reviewer, category="enterprise")
    answer = await reviewer.raw(
        "POST",
        "/api/v1/admin/sanctions",
        json={
            "subject_type": "public_account",
            "subject_id": suspended["id"],
            "kind": "suspend_updates",
            "reason": "spreads rumours",
            "days": 30,
        },
    )
    assert answer.status_code == 201, answer.text
    own = await public_account(person, reviewer, entitlement="repost")
    rejected = await public_account(person, category="media")
    answer = await reviewer.raw(
        "POST",
        f"/api/v1/admin/public-accounts/{rejected['id']}/decision",
        json={"decision": "reject", "reason": "no papers"},
    )
    assert answer.status_code == 200, answer.text
    pending = await public_account(person, category="enterprise")

    auditor, admin = await make_staff("auditor"), await make_staff("admin")
    filed = await filings(auditor)
    assert await filings(admin) == filed
    assert {news["id"], suspended["id"], own["id"]} <= set(filed)
    assert not {rejected["id"], pending["id"]} & set(filed)
    record = filed[news["id"]]
    assert record == {
        "public_account_id": news["id"],
        "name": news["name"],
        "category": "news_organisation",
        "account_type": "subscription",
        "status": "approved",
        "news_entitlement": "originate",
        "entity_kind": "organisation",
        "entity_name": "北京山海报业有限公司",
        "registration_number_type": "cn_uscc",
        "registration_number": news["operator"]["registration_number"],
        "news_licence": "10120170042",
        "operator_id": newsroom.id,
        "applied_at": news["applied_at"],
        "approved_at": news["approved_at"],
    }
    assert filed[suspended["id"]]["status"] == "suspended"
    assert filed[own["id"]]["entity_kind"] == "individual"
    assert filed[own["id"]]["entity_name"] is None
    assert filed[own["id"]]["news_entitlement"] == "repost"

    # By category.
    news_only = await filings(auditor, category="news_organisation")
    assert news["id"] in news_only
    assert {record["category"] for record in news_only.values()} == {"news_organisation"}
    individuals = await filings(admin, category="individual")
    assert own["id"] in individuals and news["id"] not in individuals
    assert await filings(auditor, category="no_such_category") == {}

    # Every page, whatever the filter, names no one.
    for params in ({}, {"category": "news_organisation"}, {"category": "individual"}):
        async for page in pages(auditor, FILINGS, **params):
            text = json.dumps(page, ensure_ascii=False).encode()
            for identity in identities:
                assert leaks(text, identity_secrets(identity)) == []


async def test_only_the_auditor_and_admins_read_the_filings(alice: User, reviewer: User) -> None:
    await public_account(alice, reviewer)
    for intruder in (alice, reviewer):
        answer = await intruder.raw("GET", "/api/v1/audit/filings")
        assert_error(answer, 403, "role_required")
