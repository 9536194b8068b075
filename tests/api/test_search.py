"""Search, as each user sees it: the text of their own conversations only, and of those only what
they may still read (never another's recalled, removed or held text, nothing of a conversation
they left or never joined), found by Chinese of one, two or three characters and by English
words, newest first and paged; the public accounts and posts anyone may read, by name and title.
A query is never read as the database's search syntax."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import BASE_PACK_TEXT, MakeStaff, MakeUser, Server, ServerPool, User
from tests.support import (
    FLAGGED,
    account_name,
    assert_error,
    case_of,
    decided_case,
    every_item,
    group_of,
    public_account,
    report,
    review_pack,
    sent,
    tagged,
)

pytestmark = pytest.mark.usefixtures("no_server_errors")

MESSAGES = "/api/v1/search/messages"
ACCOUNTS = "/api/v1/search/public-accounts"
POSTS = "/api/v1/search/posts"


async def search(user: User, path: str, q: str, **params: Any) -> httpx.Response:
    return await user.raw("GET", path, params={"q": q, **params})


async def texts_found(user: User, q: str) -> list[str]:
    """The text of every message the user's search finds, as the pages give them."""
    return [hit["text"] for hit in await every_item(user, MESSAGES, "messages", q=q, limit=50)]


@pytest.fixture
def holding_server(servers: ServerPool) -> Server:
    """A shared server whose pack holds a medium match in a direct chat until it is approved
    (tests/support.py `review_pack`)."""
    return servers.shared(policy_pack=review_pack(servers.root, BASE_PACK_TEXT))


def word() -> str:
    """An English word no other test sends: searches of public names see every test's."""
    return "w" + uuid.uuid4().hex[:10]


# Finding one's own messages -------------------------------------------------------------------


async def test_chinese_of_one_two_and_three_characters_and_english_words_find_their_messages(
    alice: User, bob: User
) -> None:
    chat = (await alice.open_direct(bob.id))["id"]
    for text in ("我爱Python编程!", "今天天气很好", "Python is FUN", "编程使我快乐", "爱好和平"):
        await sent(alice, chat, text)

    assert await texts_found(bob, "爱") == ["爱好和平", "我爱Python编程!"]
    assert await texts_found(bob, "编程") == ["编程使我快乐", "我爱Python编程!"]
    assert await texts_found(bob, "使我快") == ["编程使我快乐"]
    assert await texts_found(bob, "天气很好") == ["今天天气很好"]
    assert await texts_found(bob, "python") == ["Python is FUN", "我爱Python编程!"]
    assert await texts_found(bob, "fun") == ["Python is FUN"]
    # Full-width letters and case fold; the words of a query between spaces must all be there.
    full_width_python = "\uff30\uff39\uff34\uff28\uff2f\uff2e"
    assert await texts_found(bob, f"{full_width_python} 编程") == ["我爱Python编程!"]
    assert await texts_found(bob, "python 快乐") == []
    assert await texts_found(bob, "爱Python") == ["我爱Python编程!"]
    # Characters not next to each other, a word's part: no phrase of the text.
    assert await texts_found(bob, "爱编") == []
    assert await texts_found(bob, "pyth") == []
    assert await texts_found(alice, "编程") == ["编程使我快乐", "我爱Python编程!"]


async def test_a_hit_is_the_message_as_history_shows_it(alice: User, bob: User) -> None:
    chat = (await alice.open_direct(bob.id))["id"]
    message = await sent(alice, chat, "明天下午三点开会")
    page = (await search(bob, MESSAGES, "开会")).json()
    assert page == {"messages": [message], "next_cursor": None}
    assert set(message) >= {"id", "conversation_id", "seq", "sender_id", "created_at", "text"}


async def test_pages_walk_every_hit_once_newest_first(alice: User, bob: User) -> None:
    chat = (await alice.open_direct(bob.id))["id"]
    ids = [(await sent(alice, chat, f"周报第{n}期"))["id"] for n in range(7)]
    await sent(alice, chat, "别的事")

    first = (await search(bob, MESSAGES, "周报", limit=3)).json()
    assert [hit["id"] for hit in first["messages"]] == ids[::-1][:3]
    assert first["next_cursor"] is not None
    hits = await every_item(bob, MESSAGES, "messages", q="周报", limit=3)
    assert [hit["id"] for hit in hits] == ids[::-1]


async def test_nobody_finds_a_conversation_they_never_joined(
    alice: User, bob: User, carol: User
) -> None:
    chat = (await alice.open_direct(bob.id))["id"]
    await sent(alice, chat, "只有我们知道的秘密 secret")
    invited = await alice.create_group("还没加入", [carol.id])  # invited, not yet joined
    await sent(alice, invited["id"], "群里的秘密 secret")

    assert await texts_found(carol, "秘密") == []
    assert await texts_found(carol, "secret") == []
    assert await texts_found(bob, "秘密") == ["只有我们知道的秘密 secret"]


async def test_a_member_who_left_finds_nothing_of_the_group_any_more(
    alice: User, bob: User, carol: User
) -> None:
    group = (await group_of(alice, "读书会", bob, carol))["id"]
    await sent(alice, group, "下周读《红楼梦》")
    assert await texts_found(bob, "红楼梦") == ["下周读《红楼梦》"]

    left = await bob.raw("POST", f"/api/v1/conversations/{group}/leave")
    assert left.status_code == 204, left.text
    await sent(alice, group, "红楼梦第二回")
    assert await texts_found(bob, "红楼梦") == []
    assert await texts_found(bob, "红") == []
    assert await texts_found(carol, "红楼梦") == ["红楼梦第二回", "下周读《红楼梦》"]


async def test_recalled_text_is_found_by_nobody(alice: User, bob: User) -> None:
    chat = (await alice.open_direct(bob.id))["id"]
    kept = await sent(alice, chat, "发错了 typo kept")
    recalled = await sent(alice, chat, "发错了 typo recalled")
    answer = await alice.raw(
        "POST", f"/api/v1/conversations/{chat}/messages/{recalled['id']}/recall"
    )
    assert answer.status_code == 200, answer.text

    for member in (alice, bob):
        assert await texts_found(member, "发错了") == [kept["text"]]
        assert await texts_found(member, "recalled") == []


async def test_text_removed_by_moderation_is_found_by_nobody(
    alice: User, bob: User, carol: User, reviewer: User
) -> None:
    group = (await group_of(alice, "茶话会", bob, carol))["id"]
    flagged = await sent(alice, group, tagged(FLAGGED))
    assert "moderation" not in flagged  # a flag is delivered at once: found until removed
    assert await texts_found(bob, "百家乐") == [flagged["text"]]

    case = await case_of(reviewer, "message", flagged["id"])
    await decided_case(reviewer, case["id"], "remove", "gambling ad")
    for member in (alice, bob, carol):
        assert await texts_found(member, "百家乐") == []
        assert await texts_found(member, "走起") == []


async def test_held_text_is_found_by_its_sender_alone_until_approved(
    holding_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    reviewer = await make_staff("reviewer", on=holding_server)
    alice = await make_user("alice", on=holding_server)
    bob = await make_user("bob", on=holding_server)
    chat = (await alice.open_direct(bob.id))["id"]
    held = await sent(alice, chat, tagged(FLAGGED))  # the review pack holds it in a direct chat
    assert held["moderation"] == "held"

    assert await texts_found(alice, "百家乐") == [held["text"]]
    assert await texts_found(bob, "百家乐") == []
    case = await case_of(reviewer, "message", held["id"])
    await decided_case(reviewer, case["id"], "approve")
    assert await texts_found(bob, "百家乐") == [held["text"]]


async def test_a_removed_hold_is_found_by_nobody_not_even_its_sender(
    holding_server: Server, make_user: MakeUser, make_staff: MakeStaff
) -> None:
    reviewer = await make_staff("reviewer", on=holding_server)
    alice = await make_user("alice", on=holding_server)
    bob = await make_user("bob", on=holding_server)
    chat = (await alice.open_direct(bob.id))["id"]
    held = await sent(alice, chat, tagged(FLAGGED))
    case = await case_of(reviewer, "message", held["id"])
    await decided_case(reviewer, case["id"], "remove", "gambling ad")
    assert await texts_found(alice, "百家乐") == []
    assert await texts_found(bob, "百家乐") == []


# Queries that are no search -------------------------------------------------------------------


@pytest.mark.parametrize(
    "q",
    [
        '"',
        '"unclosed',
        "*",
        "python*",
        "NEAR(python fun)",
        "NEAR",
        "-python",
        "python -fun",
        "(python",
        "python)",
        "python OR fun",
        "python AND NOT fun",
        "body:python",
        "^python",
        "python + fun",
        "' OR '1'='1",
        "\\",
        "'; DROP TABLE messages; --",
        "python <-> fun",
        "!python & fun | x",
        "{python}",
        "编程*",
    ],
)
async def test_search_syntax_in_a_query_is_only_text(alice: User, bob: User, q: str) -> None:
    chat = (await alice.open_direct(bob.id))["id"]
    await sent(alice, chat, "python fun 编程")
    answer = await search(bob, MESSAGES, q)
    if answer.status_code == 400:
        assert_error(answer, 400, "query_empty")
        return
    assert answer.status_code == 200, answer.text
    for hit in answer.json()["messages"]:
        assert hit["text"] == "python fun 编程"
    for path in (ACCOUNTS, POSTS):
        assert (await search(bob, path, q)).status_code in (200, 400)


async def test_an_empty_or_too_long_query_and_a_page_out_of_range_are_refused(
    alice: User,
) -> None:
    for path in (MESSAGES, ACCOUNTS, POSTS):
        assert_error(await search(alice, path, ""), 400, "query_empty")
        assert_error(await search(alice, path, " \uff0c。\uff01 "), 400, "query_empty")
        assert_error(await search(alice, path, "好" * 101), 400, "query_too_long")
        assert (await search(alice, path, "好" * 100)).status_code == 200
        assert_error(await search(alice, path, "好", limit=51), 400, "limit_invalid")
        assert_error(await search(alice, path, "好", cursor="x"), 400, "cursor_invalid")
        assert_error(await alice.raw("GET", path), 400, "invalid_request")


async def test_searches_past_the_rate_are_refused_and_every_kind_counts(
    servers: ServerPool, make_user: MakeUser
) -> None:
    server = servers.shared(limits__searches_per_user="3/hour")
    alice = await make_user("alice", on=server)
    bob = await make_user("bob", on=server)
    for path in (MESSAGES, ACCOUNTS, POSTS):
        assert (await search(alice, path, "好")).status_code == 200
    refused = await search(alice, MESSAGES, "好")
    assert_error(refused, 429, "too_many_searches")
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert_error(await search(alice, POSTS, "好"), 429, "too_many_searches")
    assert (await search(bob, MESSAGES, "好")).status_code == 200  # his budget is his own


# Public accounts and posts --------------------------------------------------------------------


async def test_public_accounts_anyone_may_read_are_found_by_name(
    make_user: MakeUser, reviewer: User, bob: User
) -> None:
    name = account_name("鳕鱼书馆")
    approved = await public_account(await make_user("operator"), reviewer, name=name)
    # An application not yet reviewed.
    applied = await public_account(await make_user("applicant"), name=account_name("鳕鱼书馆"))
    await bob.subscribe(approved["id"])

    for q in ("鳕", "鳕鱼", "鳕鱼书", name):
        found = await every_item(bob, ACCOUNTS, "public_accounts", q=q, limit=50)
        ids = [account["id"] for account in found]
        assert approved["id"] in ids, q
        assert applied["id"] not in ids, q
    (page,) = (await search(bob, ACCOUNTS, name)).json()["public_accounts"]
    assert page["id"] == approved["id"]
    assert page["subscribed"] is True
    assert "qualifications" not in page  # the application is its operator's and the staff's


async def test_posts_anyone_may_read_are_found_by_title(
    make_user: MakeUser, reviewer: User, bob: User
) -> None:
    operator = await make_user("operator")
    account = (await public_account(operator, reviewer, account_type="service"))["id"]
    tag = word()
    published = await operator.publish(account, f"春天的鳕鱼食谱 {tag}", "正文")
    deleted = await operator.publish(account, f"夏天的鳕鱼食谱 {tag}", "正文")
    removed = await operator.publish(account, f"秋天的鳕鱼食谱 {tag}", "正文")
    held = await operator.publish(account, f"百家乐攻略 鳕鱼 {tag}", "正文")
    assert held["moderation"] == "held"
    assert (await operator.raw("DELETE", f"/api/v1/posts/{deleted['id']}")).status_code == 204
    assert (await report(bob, "post", removed["id"], "rumour")).status_code == 201
    case = await case_of(reviewer, "post", removed["id"])
    await decided_case(reviewer, case["id"], "remove", "not true")

    assert [post["id"] for post in (await search(bob, POSTS, tag)).json()["posts"]] == [
        published["id"]
    ]
    for q in ("鳕", "鳕鱼", "鳕鱼食", f"食谱 {tag}"):
        found = [post["id"] for post in await every_item(bob, POSTS, "posts", q=q, limit=50)]
        assert published["id"] in found, q
        assert not {deleted["id"], removed["id"], held["id"]} & set(found), q
    assert (await search(bob, POSTS, "正文 " + tag)).json()["posts"] == []  # titles only
