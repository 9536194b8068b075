"""Posts of public accounts: who may publish, the news gate along re-post chains, the broadcast
quota, the timeline, and the live push to online subscribers."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.conftest import MakeStaff, MakeUser, ServerPool, User, moved
from tests.support import account_name, assert_error, public_account, write_db
from townhall.client import LiveSocket

WAIT = 10  # seconds: generous, only reached when something is wrong
DAY_S = 24 * 3600
MONTH_S = 720 * 3600


async def publish(
    operator: User,
    account_id: int,
    title: str = "春茶上市",
    content_class: str = "culture",
    source_post_id: int | None = None,
) -> httpx.Response:
    return await operator.raw(
        "POST",
        f"/api/v1/public-accounts/{account_id}/posts",
        json={
            "title": title,
            "body": f"{title}。正文。",
            "content_class": content_class,
            "source_post_id": source_post_id,
        },
    )


async def published(operator: User, account_id: int, title: str, **fields: Any) -> dict[str, Any]:
    answer = await publish(operator, account_id, title, **fields)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def suspend(reviewer: User, account_id: int) -> int:
    """Suspend a public account's updates for a week: the `suspend_updates` sanction."""
    answer = await reviewer.raw(
        "POST",
        "/api/v1/admin/sanctions",
        json={
            "subject_type": "public_account",
            "subject_id": account_id,
            "kind": "suspend_updates",
            "reason": "spreads rumours",
            "days": 7,
        },
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


async def lift(reviewer: User, sanction_id: int) -> None:
    answer = await reviewer.raw(
        "POST",
        f"/api/v1/admin/sanctions/{sanction_id}/lift",
        json={"reason": "the appeal was upheld"},
    )
    assert answer.status_code == 200, answer.text


# Who may publish --------------------------------------------------------------------------------


async def test_only_an_approved_account_publishes(alice: User, bob: User, reviewer: User) -> None:
    pending = await public_account(alice, category="enterprise")
    assert_error(await publish(alice, pending["id"]), 422, "public_account_not_approved")
    rejection = await reviewer.raw(
        "POST",
        f"/api/v1/admin/public-accounts/{pending['id']}/decision",
        json={"decision": "reject", "reason": "no papers"},
    )
    assert rejection.status_code == 200, rejection.text
    assert_error(await publish(alice, pending["id"]), 422, "public_account_not_approved")
    # Another user learns nothing about an application, and may not publish on an account.
    assert_error(await publish(bob, pending["id"]), 404, "public_account_not_found")
    approved = await public_account(alice, reviewer, category="enterprise", account_type="service")
    assert_error(await publish(bob, approved["id"]), 403, "not_operator")
    assert_error(await publish(bob, 10**9), 404, "public_account_not_found")

    first = await published(alice, approved["id"], "开张")
    assert (first["public_account_id"], first["account_name"]) == (approved["id"], approved["name"])
    suspension = await suspend(reviewer, approved["id"])
    assert_error(await publish(alice, approved["id"]), 422, "public_account_suspended")
    # Its posts stay readable while it is suspended.
    assert (await bob.read_post(first["id"]))["title"] == "开张"
    await lift(reviewer, suspension)
    await published(alice, approved["id"], "复业")

    titles = await bob.request("GET", f"/api/v1/public-accounts/{approved['id']}/posts")
    assert [post["title"] for post in titles["posts"]] == ["复业", "开张"]


async def test_an_operator_must_stay_verified_and_accept_a_new_agreement(
    servers: ServerPool, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    first = servers.start()
    try:
        reviewer = await make_staff("reviewer", on=first)
        alice = await make_user("alice", on=first)
        bob = await make_user("bob", on=first)
        alices = await public_account(alice, reviewer, account_type="service")
        bobs = await public_account(bob, reviewer, account_type="service")
        await published(alice, alices["id"], "一")
        await published(bob, bobs["id"], "一")
    finally:
        first.stop()
    # No API takes a verification back yet (the enforcement ladder will): the operator's store.
    write_db(
        first.data_dir,
        "UPDATE identities SET status = 'pending_review' WHERE account_id = ?",
        bob.id,
    )
    # The operator publishes agreement 2014.2: the same data, a pack with the new version.
    second = servers.start(data_dir=first.data_dir, policy_pack=servers.pack(version="2014.2"))
    try:
        alice, bob = moved(alice, second), moved(bob, second)
        await bob.request("POST", "/api/v1/agreement/accept", json={"version": "2014.2"})
        assert_error(await publish(bob, bobs["id"], "二"), 422, "identity_unverified")
        assert_error(await publish(alice, alices["id"], "二"), 422, "agreement_outdated")
        await alice.request("POST", "/api/v1/agreement/accept", json={"version": "2014.2"})
        await published(alice, alices["id"], "二")
    finally:
        await alice.aclose()
        await bob.aclose()
        second.stop()


# News -------------------------------------------------------------------------------------------


@pytest.fixture
async def newsroom(make_user: MakeUser, reviewer: User) -> tuple[User, dict[str, Any]]:
    """A news organisation entitled to originate news, with a service account's quota."""
    operator = await make_user("newsroom")
    account = await public_account(
        operator,
        reviewer,
        category="news_organisation",
        account_type="service",
        entitlement="originate",
        name=account_name("新闻早知道"),
    )
    return operator, account


async def reposter(make_user: MakeUser, reviewer: User, name: str) -> tuple[User, dict[str, Any]]:
    """A media account holding a news licence: entitled to re-post news only."""
    operator = await make_user(name)
    account = await public_account(
        operator, reviewer, category="media", account_type="service", entitlement="repost"
    )
    return operator, account


async def test_only_an_originate_account_publishes_news(
    newsroom: tuple[User, dict[str, Any]], make_user: MakeUser, reviewer: User
) -> None:
    editor, news = newsroom
    media, relay = await reposter(make_user, reviewer, "media")
    person = await make_user("person")
    own = await public_account(person, reviewer, account_type="service")

    story = await published(editor, news["id"], "要闻", content_class="news")
    assert (story["content_class"], story["source_post_id"], story["root_post_id"]) == (
        "news",
        None,
        None,
    )
    assert_error(await publish(media, relay["id"], "转述", "news"), 422, "news_not_entitled")
    assert_error(await publish(person, own["id"], "小道消息", "news"), 422, "news_not_entitled")
    # Without a news entitlement, not even a re-post of a proper original.
    refused = await publish(person, own["id"], "转发", "news", source_post_id=story["id"])
    assert_error(refused, 422, "news_not_entitled")
    # Nor by calling the re-post something else: re-posting news is re-publishing news.
    relabelled = await publish(
        person, own["id"], "转发要闻", "commentary", source_post_id=story["id"]
    )
    assert_error(relabelled, 422, "news_not_entitled")
    # Other content is anyone's, re-posted or not.
    tea = await published(person, own["id"], "春茶", content_class="lifestyle")
    await published(
        person, own["id"], "转发春茶", content_class="commentary", source_post_id=tea["id"]
    )
    assert_error(await publish(person, own["id"], "杂谈", "gossip"), 400, "content_class_invalid")


async def test_news_reposts_trace_back_to_an_originate_account_over_many_hops(
    newsroom: tuple[User, dict[str, Any]], make_user: MakeUser, reviewer: User
) -> None:
    editor, news = newsroom
    (media_b, relay_b), (media_c, relay_c) = [
        await reposter(make_user, reviewer, name) for name in ("mediab", "mediac")
    ]
    story = await published(editor, news["id"], "要闻", content_class="news")
    hop1 = await published(
        media_b, relay_b["id"], "转载要闻", content_class="news", source_post_id=story["id"]
    )
    hop2 = await published(
        media_c, relay_c["id"], "再转要闻", content_class="news", source_post_id=hop1["id"]
    )
    assert (hop1["source_post_id"], hop1["root_post_id"]) == (story["id"], story["id"])
    assert (hop2["source_post_id"], hop2["root_post_id"]) == (hop1["id"], story["id"])

    # General content re-labelled as news on the way: the chain's original is not news.
    essay = await published(editor, news["id"], "随笔", content_class="culture")
    assert_error(
        await publish(media_b, relay_b["id"], "要闻?", "news", source_post_id=essay["id"]),
        422,
        "news_not_entitled",
    )
    # An original from an account without the originate entitlement, laundered over two hops.
    person = await make_user("person")
    own = await public_account(person, reviewer, account_type="service")
    rumour = await published(person, own["id"], "听说", content_class="commentary")
    relayed = await published(
        media_b, relay_b["id"], "听说了吗", content_class="commentary", source_post_id=rumour["id"]
    )
    assert relayed["root_post_id"] == rumour["id"]
    assert_error(
        await publish(media_c, relay_c["id"], "独家", "news", source_post_id=relayed["id"]),
        422,
        "news_not_entitled",
    )


async def test_a_deleted_post_cannot_be_reposted(
    newsroom: tuple[User, dict[str, Any]], make_user: MakeUser, reviewer: User
) -> None:
    editor, news = newsroom
    media, relay = await reposter(make_user, reviewer, "media")
    story = await published(editor, news["id"], "要闻", content_class="news")
    assert_error(await media.raw("DELETE", f"/api/v1/posts/{story['id']}"), 403, "not_operator")
    assert (await editor.raw("DELETE", f"/api/v1/posts/{story['id']}")).status_code == 204
    assert_error(await editor.raw("DELETE", f"/api/v1/posts/{story['id']}"), 404, "post_not_found")
    for source in (story["id"], 10**9):
        refused = await publish(media, relay["id"], "转载", "news", source_post_id=source)
        assert_error(refused, 404, "source_post_not_found")
    # A chain whose original was taken down cannot be re-posted further either.
    second = await published(editor, news["id"], "又一要闻", content_class="news")
    hop = await published(
        media, relay["id"], "转载", content_class="news", source_post_id=second["id"]
    )
    assert (await editor.raw("DELETE", f"/api/v1/posts/{second['id']}")).status_code == 204
    further = await publish(media, relay["id"], "再转", "news", source_post_id=hop["id"])
    assert_error(further, 404, "source_post_not_found")


# Quota ------------------------------------------------------------------------------------------


async def test_the_broadcast_quota_per_account_type(alice: User, reviewer: User) -> None:
    daily = await public_account(alice, reviewer)  # a subscription account: 1 post a day
    first = await published(alice, daily["id"], "今日")
    started = time.time()
    refused = await publish(alice, daily["id"], "再来一篇")
    assert_error(refused, 429, "broadcast_quota")
    retry_after = refused.json()["error"]["retry_after"]
    assert DAY_S - (time.time() - started) - 5 <= retry_after <= DAY_S
    # Deleting a post does not give its quota back.
    assert (await alice.raw("DELETE", f"/api/v1/posts/{first['id']}")).status_code == 204
    assert_error(await publish(alice, daily["id"], "再来一篇"), 429, "broadcast_quota")

    monthly = await public_account(alice, reviewer, category="enterprise", account_type="service")
    for number in range(4):
        await published(alice, monthly["id"], f"第{number + 1}期")
    refused = await publish(alice, monthly["id"], "第5期")
    assert_error(refused, 429, "broadcast_quota")
    assert MONTH_S - 60 <= refused.json()["error"]["retry_after"] <= MONTH_S


# Timeline ---------------------------------------------------------------------------------------


async def test_the_timeline_merges_followed_accounts_newest_first(
    make_user: MakeUser, bob: User, reviewer: User
) -> None:
    operators = [await make_user(name) for name in ("tea", "hills", "other")]
    tea, hills, other = [
        await public_account(operator, reviewer, account_type="service") for operator in operators
    ]
    await bob.subscribe(tea["id"])
    await bob.subscribe(hills["id"])
    posts = {}
    for operator, account, title in [
        (operators[0], tea, "a1"),
        (operators[1], hills, "b1"),
        (operators[2], other, "c1"),
        (operators[0], tea, "a2"),
        (operators[1], hills, "b2"),
    ]:
        posts[title] = await published(operator, account["id"], title)

    timeline = await bob.timeline()
    assert [post["title"] for post in timeline["posts"]] == ["b2", "a2", "b1", "a1"]
    assert timeline["posts"][0]["account_name"] == hills["name"]
    assert timeline["next_cursor"] is None
    latest = timeline["latest"]
    # Older pages with `cursor`.
    page = await bob.timeline(limit=2)
    assert [post["title"] for post in page["posts"]] == ["b2", "a2"]
    page = await bob.timeline(cursor=page["next_cursor"], limit=2)
    assert [post["title"] for post in page["posts"]] == ["b1", "a1"]
    page = await bob.timeline(cursor=page["next_cursor"], limit=2)
    assert (page["posts"], page["next_cursor"]) == ([], None)

    # What is new with `since`; a deleted post and an unfollowed account drop out.
    assert (await bob.timeline(since=latest))["posts"] == []
    await published(operators[0], tea["id"], "a3")
    await published(operators[2], other["id"], "c2")
    newer = await bob.timeline(since=latest)
    assert [post["title"] for post in newer["posts"]] == ["a3"]
    assert (await bob.timeline(since=newer["latest"]))["posts"] == []
    deleted = await operators[0].raw("DELETE", f"/api/v1/posts/{posts['a2']['id']}")
    assert deleted.status_code == 204
    await bob.request("DELETE", f"/api/v1/public-accounts/{hills['id']}/subscription")
    assert [post["title"] for post in (await bob.timeline())["posts"]] == ["a3", "a1"]
    assert (await operators[2].timeline())["posts"] == []
    # A `since` no answer gave out would skip every post up to it.
    for since in (newer["latest"] + 10**6, 2**63 - 1):
        beyond = await bob.raw("GET", "/api/v1/timeline", params={"since": since})
        assert_error(beyond, 400, "cursor_invalid")
    assert_error(
        await bob.raw("GET", "/api/v1/timeline", params={"limit": 0}), 400, "limit_invalid"
    )


# Live push --------------------------------------------------------------------------------------


async def assert_nothing_pending(socket: LiveSocket) -> None:
    """A ping is answered in order, so a pong next means no other frame was waiting."""
    await socket.send_frame({"type": "ping"})
    frame = await asyncio.wait_for(socket.receive(), WAIT)
    assert frame["type"] == "pong", frame


async def test_online_subscribers_get_the_post_pushed_and_no_one_else(
    alice: User, make_user: MakeUser, reviewer: User
) -> None:
    account = await public_account(alice, reviewer)
    early, late, stranger, leaver = [
        await make_user(name) for name in ("early", "late", "stranger", "leaver")
    ]
    await early.subscribe(account["id"])
    await leaver.subscribe(account["id"])
    async with (
        early.websocket() as early_socket,
        late.websocket() as late_socket,
        stranger.websocket() as stranger_socket,
        leaver.websocket() as leaver_socket,
        late.websocket() as late_second_socket,
    ):
        # Following and unfollowing while online take effect at once.
        await late.subscribe(account["id"])
        await leaver.request("DELETE", f"/api/v1/public-accounts/{account['id']}/subscription")
        post = await published(alice, account["id"], "上新")
        for socket in (early_socket, late_socket, late_second_socket):
            frame = await asyncio.wait_for(socket.receive_until("post"), WAIT)
            assert frame == {"type": "post", "post": post}
        # Every node handled the one bus message before the sockets above got it.
        for socket in (stranger_socket, leaver_socket):
            await assert_nothing_pending(socket)
        # The post is no event in anyone's sync stream: the timeline carries it.
        for socket in (early_socket, late_socket):
            await assert_nothing_pending(socket)
