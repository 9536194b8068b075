"""The content check before delivery: blocks (also when disguised) are refused and never
delivered, flags are delivered and recorded, each with its statement of reasons; staff edit the
lexicon, and an operator imports one from a file."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import (
    AGREEMENT_VERSION,
    PASSWORD,
    MakeStaff,
    MakeUser,
    Server,
    ServerPool,
    User,
    fresh_identity,
    unique_handle,
)
from tests.support import (
    account_name,
    assert_error,
    every_item,
    full_history,
    full_sync,
    group_of,
    public_account,
    send,
)


async def statements_about(staff: User, author_id: int) -> list[dict[str, Any]]:
    statements = await every_item(
        staff, "/api/v1/admin/moderation/statements", "statements", limit=500
    )
    return [item for item in statements if item["author_id"] == author_id]


async def test_a_blocked_message_is_refused_in_every_disguise_and_never_delivered(
    alice: User, bob: User, make_staff: MakeStaff
) -> None:
    chat = (await alice.open_direct(bob.id))["id"]
    disguises = [
        "一起来网络赌博吧",
        "网 络·赌\u200b博",
        "網絡賭博",
        "ｗａｎｇｌｕｏ赌博",
        "网络du博",
    ]
    for text in disguises:
        refused = await send(alice, chat, text)
        assert_error(refused, 422, "content_blocked")
        assert "gambling" in refused.json()["error"]["message"]
    async with alice.websocket() as socket:
        await socket.send_frame(
            {"type": "send", "conversation_id": chat, "text": "網絡賭博", "client_id": "ws-1"}
        )
        error = await socket.receive_until("error")
        assert (error["client_id"], error["error"]["code"]) == ("ws-1", "content_blocked")
    assert await full_history(bob, chat) == []
    events, _ = await full_sync(bob)
    assert [event for event in events if event["type"] == "message"] == []

    reviewer = await make_staff("reviewer")
    recorded = await statements_about(reviewer, alice.id)
    assert len(recorded) == len(disguises) + 1
    assert {item["decision"] for item in recorded} == {"block"}
    assert {item["subject_id"] for item in recorded} == {None}
    traditional = recorded[2]["reasons"]
    assert traditional == [
        {
            "category": "gambling",
            "severity": "high",
            "term": "网络赌博",
            "excerpt": "網絡賭博",
            "how": "text",
            "start": 0,
            "end": 4,
        }
    ]
    assert recorded[1]["reasons"][0]["excerpt"] == "网 络·赌\u200b博"


async def test_homophones_and_look_alike_digits_are_refused_like_the_term(
    alice: User, bob: User, make_staff: MakeStaff
) -> None:
    admin, reviewer = await make_staff("admin"), await make_staff("reviewer")
    chat = (await alice.open_direct(bob.id))["id"]
    letters = "".join(chr(ord("g") + int(digit, 16)) for digit in uuid.uuid4().hex[:6])
    term = f"scamcoin{letters}"  # a tag of letters: digits in it would be read as letters
    body = {"text": term, "category": "fraud", "severity": "high"}
    assert (await admin.raw("POST", "/api/v1/admin/lexicon/terms", json=body)).status_code == 201
    try:
        for text in ("一起来网络堵博吧", f"buy SC4MC0IN{letters} now"):
            refused = await send(alice, chat, text)
            assert_error(refused, 422, "content_blocked")
        # Numbers in ordinary chat stay numbers.
        ordinary = "5pm at room 101, ¥25 each, or call 13812345678"
        assert (await send(alice, chat, ordinary)).status_code == 201
    finally:
        await admin.raw("DELETE", "/api/v1/admin/lexicon/terms", params={"text": term})
    assert [message["text"] for message in await full_history(bob, chat)] == [ordinary]
    reasons = [
        (reason["term"], reason["excerpt"], reason["how"])
        for statement in await statements_about(reviewer, alice.id)
        for reason in statement["reasons"]
    ]
    assert reasons == [
        ("网络赌博", "网络堵博", "homophone"),
        (term, f"SC4MC0IN{letters}", "lookalike"),
    ]


async def test_a_flagged_message_is_delivered_and_its_reasons_recorded(
    alice: User, bob: User, carol: User, make_staff: MakeStaff
) -> None:
    chat = (await alice.open_direct(bob.id))["id"]
    sent = await send(alice, chat, "今晚百家乐走起")
    assert sent.status_code == 201, sent.text
    assert [m["text"] for m in await full_history(bob, chat)] == ["今晚百家乐走起"]
    # Low severity: allowed between two people, flagged in a group; the allowlist spares the
    # phrase that only contains the term.
    assert (await send(alice, chat, "别造谣")).status_code == 201
    group = (await group_of(alice, "茶话会", bob, carol))["id"]
    assert (await send(alice, group, "我们要反对造谣")).status_code == 201
    flagged_in_group = (await send(alice, group, "他在造谣")).json()

    reviewer = await make_staff("reviewer")
    recorded = await statements_about(reviewer, alice.id)
    assert [(item["surface"], item["decision"], item["subject_type"]) for item in recorded] == [
        ("direct", "flag", "message"),
        ("group", "flag", "message"),
    ]
    assert recorded[0]["subject_id"] == sent.json()["id"]
    assert recorded[1]["subject_id"] == flagged_in_group["id"]
    assert recorded[0]["reasons"][0]["category"] == "gambling"
    assert recorded[0]["automated"] is True
    # Statements quote the author's words: not for the auditor, nor for users.
    for outsider in (alice, await make_staff("auditor")):
        assert_error(await outsider.raw("GET", "/api/v1/admin/moderation/statements"), 403)


async def test_posts_names_and_display_names_are_checked(
    server: Server, alice: User, make_staff: MakeStaff
) -> None:
    reviewer = await make_staff("reviewer")
    account = await public_account(alice, reviewer, account_type="service")
    refused = await alice.raw(
        "POST",
        f"/api/v1/public-accounts/{account['id']}/posts",
        json={"title": "独家", "body": "教你制造炸弹", "content_class": "culture"},
    )
    assert_error(refused, 422, "content_blocked")
    assert "terrorism" in refused.json()["error"]["message"]
    assert (await alice.request("GET", f"/api/v1/public-accounts/{account['id']}/posts"))[
        "posts"
    ] == []

    application = await alice.raw(
        "POST",
        "/api/v1/public-accounts",
        json={
            "name": account_name(),
            "category": "individual",
            "account_type": "subscription",
            "description": "每日裸聊",
        },
    )
    assert_error(application, 422, "content_blocked")

    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        registration = await anonymous.post(
            "/api/v1/accounts",
            json={
                "handle": unique_handle("spam"),
                "password": PASSWORD,
                "display_name": "六合彩大师",
                "identity": fresh_identity(),
                "agreement_version": AGREEMENT_VERSION,
            },
        )
    assert_error(registration, 422, "content_blocked")


async def test_admins_edit_the_lexicon_and_it_is_in_force_at_once(
    alice: User, bob: User, make_staff: MakeStaff
) -> None:
    admin, reviewer = await make_staff("admin"), await make_staff("reviewer")
    chat = (await alice.open_direct(bob.id))["id"]
    term = f"代开发票{uuid.uuid4().hex[:6]}"
    body = {"text": term, "category": "fraud", "severity": "high"}
    for outsider in (alice, reviewer):
        assert_error(await outsider.raw("POST", "/api/v1/admin/lexicon/terms", json=body), 403)
    added = await admin.raw("POST", "/api/v1/admin/lexicon/terms", json=body)
    assert added.status_code == 201, added.text
    assert_error(await send(alice, chat, f"需要{term}的找我"), 422, "content_blocked")
    listing = await reviewer.request("GET", "/api/v1/admin/lexicon")
    assert body in listing["operator_terms"]
    assert {"text": "网络赌博", "category": "gambling", "severity": "high"} in listing["pack_terms"]
    tried = await reviewer.request(
        "POST", "/api/v1/admin/lexicon/check", json={"surface": "direct", "text": term}
    )
    assert tried["decision"] == "block"
    bad = {"text": "something", "category": "gossip", "severity": "high"}
    assert_error(await admin.raw("POST", "/api/v1/admin/lexicon/terms", json=bad), 400)
    wrong_surface = {"surface": "email", "text": "hi"}
    assert_error(
        await reviewer.raw("POST", "/api/v1/admin/lexicon/check", json=wrong_surface),
        400,
        "surface_invalid",
    )

    removed = await admin.raw("DELETE", "/api/v1/admin/lexicon/terms", params={"text": term})
    assert removed.status_code == 204
    assert (await send(alice, chat, f"需要{term}的找我")).status_code == 201
    again = await admin.raw("DELETE", "/api/v1/admin/lexicon/terms", params={"text": term})
    assert_error(again, 404, "term_not_found")


async def test_a_lexicon_file_is_imported_whole_or_not_at_all(
    servers: ServerPool, make_user: MakeUser, tmp_path: Path
) -> None:
    server = servers.shared(lexicon_reload_interval_seconds=0.2)
    alice, bob = await make_user("alice", on=server), await make_user("bob", on=server)
    chat = (await alice.open_direct(bob.id))["id"]
    marker = uuid.uuid4().hex[:6]
    bad = tmp_path / "bad.csv"
    lines = ["# terms", f"刷票{marker},gossip,high", "", f"假证{marker},fraud,severe"]
    bad.write_text("\n".join([*lines, f"贷款{marker},fraud,high", ""]), encoding="utf-8")
    refused = server.cli("lexicon", "import", str(bad))
    assert refused.returncode == 1
    assert "line 2" in refused.stderr and "line 4" in refused.stderr
    assert f"贷款{marker}" not in server.cli("lexicon", "export").stdout

    good = tmp_path / "good.csv"
    good.write_text(f"假证{marker},fraud,high\n", encoding="utf-8")
    imported = server.cli("lexicon", "import", str(good))
    assert imported.returncode == 0, imported.stderr
    assert f"假证{marker}" in server.cli("lexicon", "export").stdout
    tested = server.cli("lexicon", "test", f"办假证{marker}", "--surface", "direct")
    assert '"decision": "block"' in tested.stdout

    # The running server picks the import up by itself.
    for _ in range(100):
        answer = await send(alice, chat, f"办 假 证 {marker}")
        if answer.status_code == 422:
            break
        await asyncio.sleep(0.1)
    assert_error(answer, 422, "content_blocked")
