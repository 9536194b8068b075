"""The news gate's figures in `townhall bench moderation`: the labelled set it reads, and rates
that add up."""

from __future__ import annotations

from collections import Counter

import pytest

from townhall.bench.news_check import NEWS, ORDINARY, SPLITS, labelled_posts, measure_news_check

pytestmark = pytest.mark.database_free  # the PostgreSQL run leaves it out (Makefile)


def test_the_labelled_set_is_as_large_and_as_split_as_the_docs_say() -> None:
    posts = labelled_posts()
    labels = Counter(post.label for post in posts)
    assert labels[NEWS] >= 100 and labels[ORDINARY] >= 200
    assert {post.lang for post in posts} == {"zh", "en"}
    assert len({post.id for post in posts}) == len(posts)
    # Each label and language is split in halves: one to set the weights on, one held out.
    for label in (NEWS, ORDINARY):
        for lang in ("zh", "en"):
            halves = Counter(p.split for p in posts if (p.label, p.lang) == (label, lang))
            assert set(halves) == set(SPLITS)
            assert abs(halves["dev"] - halves["holdout"]) <= 1


def test_the_news_check_figures_add_up() -> None:
    results = measure_news_check()
    assert results["set"]["posts"] == results["set"]["news"] + results["set"]["ordinary"]
    missed = held_ordinary = 0
    for split in SPLITS:
        figures = results["splits"][split]
        news, ordinary = figures["detection"]["all"], figures["false_holds"]["all"]
        assert news["rate"] == round(news["held"] / news["posts"], 4)
        assert news["posts"] == sum(figures["detection"][lang]["posts"] for lang in ("zh", "en"))
        missed += news["posts"] - news["held"]
        held_ordinary += ordinary["held"]
        assert news["rate"] >= 0.8  # the full figures are in docs/benchmarks.md
        assert ordinary["rate"] <= 0.02
    assert len(results["missed"]) == missed
    assert len(results["false_holds"]) == held_ordinary
    assert 0 < results["latency_us"]["p50"] <= results["latency_us"]["max"]
