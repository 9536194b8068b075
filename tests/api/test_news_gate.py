"""The news gate does not trust the author's label: current-affairs text from an account without
news entitlement is held for review as possible unlicensed news whatever class it claims, while
an entitled account's same text, and ordinary commentary, go out."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BASE_PACK_TEXT, MakeStaff, MakeUser, ServerPool, User
from tests.support import (
    account_name,
    assert_error,
    case_of,
    decided_case,
    public_account,
    review_case,
    tagged,
)

BYLINE = "\uff08记者 周文澜\uff09"  # in full-width brackets, as Chinese is typed
WIRE_COPY = (
    f"新华社杭州5月3日电{BYLINE}第三届全国竹编工艺博览会3日在杭州开幕,来自18个省份的"
    "400余家企业参展。主办方表示,博览会将持续5天。"
)
COMMENTARY = (
    "昨天刷到一条新闻,说外卖骑手因为超时被罚款,评论区吵翻了。我想说的是,算法再精确,"
    "也应该给人留出一点余地。"
)
UNLICENSED_NEWS = "possible_unlicensed_news"


async def statement_of(staff: User, post_id: int) -> dict[str, Any]:
    answer = await staff.request(
        "GET", "/api/v1/admin/moderation/statements", params={"limit": 500}
    )
    (statement,) = [
        s for s in answer["statements"] if (s["subject_type"], s["subject_id"]) == ("post", post_id)
    ]
    return statement


async def test_current_affairs_labelled_commentary_is_held_until_a_reviewer_approves_it(
    make_user: MakeUser, reviewer: User, bob: User
) -> None:
    operator = await make_user("operator")
    account = await public_account(operator, reviewer, account_type="service")
    await bob.subscribe(account["id"])

    held = await operator.publish(account["id"], "竹编博览会开幕", tagged(WIRE_COPY), "commentary")

    assert (held["moderation"], held["held_for"]) == ("held", [UNLICENSED_NEWS])
    assert_error(await bob.raw("GET", f"/api/v1/posts/{held['id']}"), 404, "post_not_found")
    assert held["id"] not in [post["id"] for post in (await bob.timeline())["posts"]]
    case = await case_of(reviewer, "post", held["id"])
    assert (case["sources"], case["categories"], case["severity"]) == (
        ["hold"],
        [UNLICENSED_NEWS],
        "medium",
    )
    statement = await statement_of(reviewer, held["id"])
    assert (statement["decision"], statement["automated"]) == ("hold", True)
    found = {(r["category"], r["how"], r["term"], r["excerpt"]) for r in statement["reasons"]}
    assert (UNLICENSED_NEWS, "news_pattern", "wire_byline", "新华社杭州5月3日电") in found
    assert (UNLICENSED_NEWS, "news_pattern", "reporter_byline", BYLINE) in found

    await decided_case(reviewer, case["id"], "approve", "a trade fair, not current affairs")
    assert (await bob.read_post(held["id"]))["body"] == held["body"]


async def test_an_entitled_news_account_publishes_the_same_text_at_once(
    make_user: MakeUser, reviewer: User
) -> None:
    editor = await make_user("newsroom")
    newsroom = await public_account(
        editor,
        reviewer,
        category="news_organisation",
        account_type="service",
        entitlement="originate",
        name=account_name("新闻早知道"),
    )
    relay_operator = await make_user("relay")
    relay = await public_account(
        relay_operator, reviewer, category="media", account_type="service", entitlement="repost"
    )

    for author, account, content_class in (
        (editor, newsroom, "commentary"),
        (editor, newsroom, "news"),
        (relay_operator, relay, "commentary"),  # a licence holder is not read either
    ):
        post = await author.publish(account["id"], "博览会开幕", tagged(WIRE_COPY), content_class)
        assert "moderation" not in post
        assert await review_case(reviewer, "post", post["id"]) is None


async def test_ordinary_commentary_from_an_account_without_entitlement_goes_out(
    make_user: MakeUser, reviewer: User, bob: User
) -> None:
    operator = await make_user("operator")
    account = await public_account(operator, reviewer, account_type="service")

    post = await operator.publish(account["id"], "看了一条新闻,想说几句", COMMENTARY, "commentary")

    assert "moderation" not in post
    assert (await bob.read_post(post["id"]))["title"] == "看了一条新闻,想说几句"
    assert await review_case(reviewer, "post", post["id"]) is None


async def test_removing_unlicensed_news_leaves_the_text_free_to_an_entitled_account(
    make_user: MakeUser, reviewer: User
) -> None:
    """The hold is about who published, not what was said: the removal banks nothing."""
    text = tagged(WIRE_COPY)
    operator = await make_user("operator")
    account = await public_account(operator, reviewer, account_type="service")
    held = await operator.publish(account["id"], "博览会开幕", text, "culture")
    case = await case_of(reviewer, "post", held["id"])
    await decided_case(reviewer, case["id"], "remove", "current-affairs news, no licence")

    editor = await make_user("newsroom")
    newsroom = await public_account(
        editor,
        reviewer,
        category="news_organisation",
        account_type="service",
        entitlement="originate",
        name=account_name("新闻早知道"),
    )
    story = await editor.publish(newsroom["id"], "博览会开幕", text, "news")
    assert "moderation" not in story


# An operator's model, plugged in -----------------------------------------------------------------

NEWS_SPOTTER = '''
class NewsSpotter:
    """Scores 1 where a text says "spotted": a stand-in for an operator's news model."""

    name = "news_spotter"

    def predict_batch(self, texts):
        return [{"news": 1.0 if "spotted" in text else 0.0} for text in texts]


def load(data_dir):
    return NewsSpotter()
'''
PLUGIN_SECTION = """
[public_accounts.news_check.classifier]
name = "news_spotter"
score = "news"
threshold = 0.5
weight = 3
"""
WORKER_WAIT = 60  # seconds: the worker loads its models after the server is up


def install_plugin(root: Path) -> Path:
    """A package declaring `news_spotter` under the `townhall.classifiers` entry points, as an
    operator's installed package would."""
    (root / "news_spotter.py").write_text(NEWS_SPOTTER, encoding="utf-8")
    info = root / "news_spotter-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: news-spotter\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[townhall.classifiers]\nnews_spotter = news_spotter:load\n"
    )
    return root


async def test_an_operators_classifier_holds_what_the_patterns_miss(
    servers: ServerPool,
    make_user: MakeUser,
    make_staff: MakeStaff,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plugins = install_plugin(tmp_path)
    inherited = [os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(plugins), *inherited]))
    pack = tmp_path / "news-model.toml"
    pack.write_text(BASE_PACK_TEXT + PLUGIN_SECTION, encoding="utf-8")
    server = servers.start(classifiers=True, policy_pack=str(pack))
    try:
        deadline = time.monotonic() + WORKER_WAIT

        def classifiers_on() -> list[str]:
            said = server.logged("townhall.app")
            return [event for _, event in said if event.startswith("classifiers on:")]

        while not classifiers_on():
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.2)
        assert "news_spotter" in classifiers_on()[0]
        reviewer = await make_staff("reviewer", on=server)
        operator = await make_user("operator", on=server)
        account = await public_account(operator, reviewer, account_type="service")

        spotted = await operator.publish(account["id"], "一件小事", "spotted 在街角", "other")
        plain = await operator.publish(account["id"], "一件小事", "在街角遇见老朋友", "other")

        assert (spotted["moderation"], spotted["held_for"]) == ("held", [UNLICENSED_NEWS])
        (reason,) = (await statement_of(reviewer, spotted["id"]))["reasons"]
        assert (reason["how"], reason["term"]) == ("classifier", "news_spotter 1.00")
        assert "moderation" not in plain
    finally:
        server.stop()
