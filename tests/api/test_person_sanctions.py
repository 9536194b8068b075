"""Sanctions follow the person, not the account: deleting an account and registering again with
the same document, or with another document and the same phone, or as an account a reviewer
found to be the same person, leaves every sanction, strike and the credit where they were; a
closed account's identity cannot come back while the close stands."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import MakeUser, Server, User, fresh_identity, post_registration
from tests.support import (
    FLAGGED,
    applied,
    assert_error,
    case_of,
    decided_case,
    lifted,
    query_db,
    send,
    sent,
    standing,
    tagged,
)

pytestmark = pytest.mark.usefixtures("no_server_errors")

LINKS = "/api/v1/admin/identity-links"


async def strike_case(author: User, chat: int, reviewer: User) -> int:
    """A case that found the author's message a violation (medium: a 2-point strike)."""
    message = await sent(author, chat, tagged(FLAGGED))
    case_id = (await case_of(reviewer, "message", message["id"]))["id"]
    await decided_case(reviewer, case_id, "remove", "gambling ad")
    return int(case_id)


async def register_again(
    make_user: MakeUser, identity: dict[str, str], name: str = "again"
) -> User:
    return await make_user(name, identity=identity)


def in_force(me: dict[str, Any]) -> list[str]:
    return [sanction["kind"] for sanction in me["sanctions"]]


async def test_a_suspended_user_who_deletes_the_account_and_registers_again_stays_suspended(
    make_user: MakeUser, bob: User, reviewer: User
) -> None:
    identity = fresh_identity()
    alice = await make_user("alice", identity=identity)
    chat = (await alice.open_direct(bob.id))["id"]
    case_id = await strike_case(alice, chat, reviewer)
    suspension = await applied(
        reviewer, "user", alice.id, "suspend_updates", days=7, case_id=case_id
    )
    before = await alice.me()
    assert before["credit"]["score"] < 100

    assert (await alice.raw("DELETE", "/api/v1/me")).status_code == 204
    again = await register_again(make_user, identity)

    me = await again.me()
    assert in_force(me) == ["suspend_updates"]
    assert me["sanctions"][0]["id"] == suspension["id"]
    assert me["credit"] == before["credit"]
    chat_again = (await again.open_direct(bob.id))["id"]  # opening a chat is no update
    assert_error(await send(again, chat_again), 403, "updates_suspended")
    points = await standing(reviewer, "user", again.id)
    assert points["points"] == (await standing(reviewer, "user", alice.id))["points"] > 0


async def test_a_closed_identity_cannot_register_again_until_the_close_is_lifted(
    server: Server, make_user: MakeUser, admin: User
) -> None:
    identity = fresh_identity()
    alice = await make_user("alice", identity=identity)
    closure = await applied(admin, "user", alice.id, "close", reason="a fraud ring")
    assert (await alice.raw("DELETE", "/api/v1/me")).status_code == 204

    refused = await post_registration(server, identity)
    assert_error(refused, 403, "identity_closed")
    assert identity["id_number"] not in refused.text
    assert "lifted" in refused.json()["error"]["message"]

    await lifted(admin, closure["id"])
    assert (await post_registration(server, identity)).status_code == 201


async def test_another_document_with_the_same_phone_is_the_same_person(
    server: Server, make_user: MakeUser, bob: User, reviewer: User, admin: User
) -> None:
    card = fresh_identity()
    alice = await make_user("alice", identity=card)
    passport = {
        "legal_name": "Zhang San",
        "id_type": "passport",
        "id_number": f"E{alice.id:08d}",
        "phone": card["phone"],
    }
    await applied(reviewer, "user", alice.id, "limit_publication", days=30)

    # A second account under a passport with the same phone: one person, one limit.
    second = await make_user("alice-passport", identity=passport)
    assert in_force(await second.me()) == ["limit_publication"]
    group = await second.raw(
        "POST",
        "/api/v1/conversations",
        json={"kind": "group", "title": "茶话会", "member_ids": [bob.id]},
    )
    assert_error(group, 403, "publication_limited")
    person = (await standing(reviewer, "user", second.id))["person"]
    assert person == {"user_id": second.id, "accounts": [alice.id, second.id],
                      "linked_by": ["same_phone"]}  # fmt: skip

    # Closed, the person cannot open a third account under either document.
    chat = (await second.open_direct(bob.id))["id"]
    await applied(admin, "user", alice.id, "close")
    third = {**passport, "id_number": f"G{alice.id:08d}"}
    assert_error(await post_registration(server, third), 403, "identity_closed")
    assert_error(await send(second, chat), 403, "account_closed")


async def test_a_reviewer_links_two_accounts_and_sanctions_reach_both_until_unlinked(
    server: Server, alice: User, carol: User, bob: User, reviewer: User, make_staff: Any
) -> None:
    body = {"user_id": alice.id, "other_user_id": carol.id, "reason": "same face in both selfies"}
    auditor = await make_staff("auditor")
    assert_error(await auditor.raw("POST", LINKS, json=body), 403, "read_only_role")
    assert_error(await alice.raw("POST", LINKS, json=body), 403, "role_required")
    assert_error(
        await reviewer.raw("POST", LINKS, json={**body, "reason": ""}), 422, "reason_required"
    )
    assert_error(
        await reviewer.raw("POST", LINKS, json={**body, "other_user_id": alice.id}),
        400,
        "same_user",
    )

    linked = await reviewer.request("POST", LINKS, json=body)
    assert linked == {"user_id": alice.id, "accounts": [alice.id, carol.id],
                      "linked_by": ["reviewer"]}  # fmt: skip
    await applied(reviewer, "user", alice.id, "limit_publication", days=30)
    assert in_force(await carol.me()) == ["limit_publication"]
    refused = await carol.raw(
        "POST",
        "/api/v1/conversations",
        json={"kind": "group", "title": "读书会", "member_ids": [bob.id]},
    )
    assert_error(refused, 403, "publication_limited")
    logged = query_db(
        server.data_dir,
        "SELECT actor_id, subject_id, reason FROM audit_log WHERE action = 'identity.link' "
        "AND subject_id = ?",
        alice.id,
    )
    assert logged == [(reviewer.id, alice.id, "same face in both selfies")]

    unlink = {"user_id": carol.id, "reason": "a different person after all"}
    unlinked = await reviewer.request("POST", f"{LINKS}/unlink", json=unlink)
    assert unlinked["accounts"] == [carol.id]
    assert in_force(await carol.me()) == []
    assert in_force(await alice.me()) == ["limit_publication"]
    again = await reviewer.raw("POST", f"{LINKS}/unlink", json=unlink)
    assert_error(again, 409, "identity_not_linked")
