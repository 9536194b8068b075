"""`townhall bench moderation` on a small lexicon: every figure is there and makes sense."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from townhall.bench.moderation import (
    RENDERINGS,
    BenchOptions,
    message_check,
    near_duplicates,
    run,
    skeleton_digest,
)
from townhall.domain.lexicon import Lexicon, Term
from townhall.domain.normalize import skeleton

pytestmark = pytest.mark.database_free  # the PostgreSQL run leaves it out (Makefile)


def test_moderation_bench_reports_every_figure(tmp_path: Path) -> None:
    results_file = tmp_path / "moderation.json"
    results = run(BenchOptions(terms=3_000, messages=1_500, evasions=60), results_file)
    assert json.loads(results_file.read_text()) == json.loads(json.dumps(results))

    lexicon = results["lexicon"]
    assert lexicon["terms"] == 3_000
    assert 0 < lexicon["automaton_keys"] <= 3_000
    assert lexicon["pinyin_keys"] > 0
    assert lexicon["sound_keys"] > 0
    assert lexicon["homophones"] == {"min_syllables": 3, "max_share": 0.5}
    assert 0 < lexicon["build_s"] < 20

    speed = results["throughput"]
    assert speed["messages"] == 1_500
    assert speed["per_message"].startswith("inspect()")
    assert speed["mb_per_s"] > 0
    assert set(speed["mb_per_s_by_kind"]) == {"chinese", "mixed", "english"}
    assert (
        0 < speed["latency"]["p50_us"] <= speed["latency"]["p99_us"] <= speed["latency"]["max_us"]
    )

    detection = results["detection"]
    assert set(detection["by_kind"]) == set(RENDERINGS)
    assert all(kind["messages"] == 60 for kind in detection["by_kind"].values())
    assert detection["messages"] == 60 * len(RENDERINGS)
    assert detection["rate"] >= 0.95  # the full run reports the real figure
    assert detection["exact_span_rate"] <= detection["rate"]

    false_positives = results["false_positives"]
    assert false_positives["messages"] == 1_500
    assert 0 <= false_positives["rate"] <= 0.01
    assert results["news_check"]["splits"]["holdout"]["detection"]["all"]["posts"] > 0
    assert sum(false_positives["flagged_by_how"].values()) >= false_positives["flagged"]
    others = results["false_positives_other_chat"]
    assert set(others) == {"chat_of_all_common_hanzi", "english_chat_with_numbers"}
    for other in others.values():
        assert other["messages"] == 750
        assert 0 <= other["rate"] <= 0.05
    assert "lookalike" not in others["english_chat_with_numbers"]["flagged_by_how"]

    near = results["near_duplicates"]
    assert (near["threshold"], near["min_chars"], near["removed_texts"]) == (0.7, 30, 1_000)
    assert near["copies_per_kind"] > 500
    assert near["detected"]["1_changed"] >= 0.95
    assert near["detected"]["2_changed"] >= 0.8
    assert near["false_positives"] == {"clean_messages": 0, "sharing_first_half": 0}
    assert results["peak_rss_mb"] > 0
    assert set(results["targets"]) == {
        "throughput_20_mb_per_s",
        "p99_0_2_ms",
        "detection_99_percent",
        "false_positives_0_1_percent",
    }
    for target in results["targets"].values():
        assert set(target) == {"target", "measured", "met"}


def test_the_timed_check_inspects_and_looks_the_skeleton_and_its_near_copies_up() -> None:
    removed = skeleton("来赌博, 今晚八点老地方见, 带够现金, 赢了请客吃饭, 输了别哭, 下周末继续玩")
    check = message_check(
        Lexicon.build([Term("赌博", "gambling", "high")]),
        {skeleton_digest(removed)},
        near_duplicates([removed]),
    )
    matches, banked = check(
        "來 賭.博, 今晚八点老地方见, 带够现金, 赢了请客吃饭, 输了别哭, 下周末继续玩"
    )
    assert [match.term for match in matches] == ["赌博"]
    assert banked
    assert check("来赌博, 今晚九点老地方见, 带够现金, 赢了请客吃饭, 输了别哭, 下周末继续玩")[
        1
    ]  # a near copy
    assert check("你好") == ([], False)
