"""What the staff console asks of the API beyond the desks' own routes: the caller's permissions
on /me (the console shows what they allow), the audit log filtered by action, actor and subject,
a case's findings with their places in its text, and a tried text's normalized form."""

from __future__ import annotations

import pytest

from tests.conftest import MakeStaff, MakeUser, User
from tests.support import FLAGGED, assert_error, case_of, sent, tagged
from townhall.domain.permissions import ROLES, permissions_of

pytestmark = pytest.mark.usefixtures("no_server_errors")
LOG = "/api/v1/audit/log"


@pytest.mark.parametrize("role", ROLES)
async def test_me_names_exactly_the_permissions_of_the_callers_role(
    make_staff: MakeStaff, make_user: MakeUser, role: str
) -> None:
    person = await make_user("plain") if role == "user" else await make_staff(role)
    me = await person.request("GET", "/api/v1/me")
    assert me["permissions"] == [permission.value for permission in permissions_of(role)]
    spec = await person.request("GET", "/openapi.json")
    # The lists: the GET routes that need no id and no other parameter.
    listed = {
        path: operations["get"]["x-permission"]
        for path, operations in spec["paths"].items()
        if "x-permission" in operations.get("get", {})
        and not any(p["required"] for p in operations["get"].get("parameters", ()))
    }
    for path, permission in listed.items():
        answer = await person.raw("GET", path, params={"limit": 1})
        # A permission /me names lets the caller in (the answer may still be a 400 or a 404);
        # one it does not name is refused.
        refused = answer.status_code == 403
        assert refused == (permission not in me["permissions"]), (path, answer.text)


async def test_the_audit_log_is_filtered_by_action_actor_and_subject(
    make_staff: MakeStaff, make_user: MakeUser, alice: User, bob: User
) -> None:
    admin, auditor = await make_staff("admin"), await make_staff("auditor")
    first = await make_staff("reviewer", new=True)
    second = await make_staff("reviewer", new=True)
    for reviewer, person in ((first, alice), (second, bob), (first, bob)):
        reference = f"request:TEST-{person.id}"
        body = {"reason": "a court order to name them", "reference": reference}
        await reviewer.request("POST", f"/api/v1/admin/identities/{person.id}/reveal", json=body)

    async def rows(**only: object) -> list[dict[str, object]]:
        page = await auditor.request("GET", LOG, params={**only, "limit": 500})
        return page["rows"]

    reveals = await rows(action="identity.reveal")
    assert {row["action"] for row in reveals} == {"identity.reveal"}
    assert len(reveals) >= 3
    by_first = await rows(action="identity.reveal", actor_id=first.id)
    assert [(row["actor_id"], row["subject_id"]) for row in by_first] == [
        (first.id, alice.id),
        (first.id, bob.id),
    ]
    about_bob = await rows(action="identity.reveal", subject_type="user", subject_id=bob.id)
    assert [row["actor_id"] for row in about_bob] == [second.id, first.id]
    # Paged with the filter, a row at a time, the same rows come back in order.
    paged, cursor = [], None
    while True:
        params = {"action": "identity.reveal", "actor_id": first.id, "limit": 1}
        page = await admin.request(
            "GET", LOG, params={**params, **({"cursor": cursor} if cursor else {})}
        )
        paged += page["rows"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [row["seq"] for row in paged] == [row["seq"] for row in by_first]
    assert await rows(action="no.such.action") == []
    assert_error(await auditor.raw("GET", LOG, params={"actor_id": 0}), 400, "invalid_request")


async def test_a_case_names_where_the_check_found_its_words(
    make_staff: MakeStaff, alice: User, bob: User
) -> None:
    reviewer = await make_staff("reviewer")
    chat = await alice.open_direct(bob.id)
    text = "先说点别的\uff0c" + tagged(FLAGGED)  # a full-width comma first
    message = await sent(alice, chat["id"], text)
    case = await case_of(reviewer, "message", message["id"])
    detail = await reviewer.request("GET", f"/api/v1/admin/review/cases/{case['id']}")
    assert detail["reasons"], detail
    for reason in detail["reasons"]:
        assert text[reason["start"] : reason["end"]] == reason["excerpt"]
    assert {reason["category"] for reason in detail["reasons"]} == {"gambling"}

    disguised = "\uff22\uff41\uff49 百 家 樂"  # full-width "Bai", spaced, traditional
    tried = await reviewer.request(
        "POST", "/api/v1/admin/lexicon/check", json={"text": disguised, "surface": "group"}
    )
    assert tried["normalized"] == "bai百家乐"
    assert [reason["excerpt"] for reason in tried["reasons"]] == ["百 家 樂"]
    (found,) = tried["reasons"]
    assert disguised[found["start"] : found["end"]] == "百 家 樂"


async def test_the_desks_name_accounts_by_id_or_handle_staff_too(
    alice: User, bob: User, reviewer: User
) -> None:
    named = await reviewer.request(
        "GET", "/api/v1/admin/users", params={"id": [bob.id, alice.id, reviewer.id, 999999]}
    )
    assert [(u["id"], u["handle"], u["role"]) for u in named["users"]] == sorted(
        [
            (alice.id, alice.handle, "user"),
            (bob.id, bob.handle, "user"),
            (reviewer.id, reviewer.handle, "reviewer"),
        ]
    )
    by_handle = await reviewer.request(
        "GET", "/api/v1/admin/users", params={"handle": alice.handle.upper()}
    )
    assert [u["id"] for u in by_handle["users"]] == [alice.id]
    assert (await reviewer.request("GET", "/api/v1/admin/users"))["users"] == []
    assert_error(
        await alice.raw("GET", "/api/v1/admin/users", params={"id": bob.id}), 403, "role_required"
    )
