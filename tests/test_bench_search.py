"""`townhall bench search` runs end to end on a tiny load and reports what it measured."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import bench_results
from townhall.bench.search import QUERIES

pytestmark = pytest.mark.database_free  # the PostgreSQL run leaves it out (Makefile)


def test_search_bench_reports_every_kind_of_query(tmp_path: Path) -> None:
    results = bench_results(
        tmp_path,
        "search",
        [
            "--messages",
            "3000",
            "--conversations",
            "60",
            "--users",
            "60",
            "--searcher-conversations",
            "6",
            "--queries",
            "3",
        ],
        timeout=180,
    )
    setup = results["setup"]
    assert setup["messages"] == setup["indexed_messages"] == 3000
    assert setup["searcher_conversations"] == 6
    assert 0 < setup["searcher_visible_messages"] < 3000
    searches = results["searches"]
    assert set(searches) == {*QUERIES, "all", "baseline", "machine_load_1m"}
    for figures in (searches[kind] for kind in (*QUERIES, "all", "baseline")):
        assert 0 < figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    # What the searcher may read, and nothing of the conversations they are not in.
    assert searches["zh_1_common"]["mean_hits"] > 0
    assert searches["en_common"]["mean_hits"] > 0
    assert searches["elsewhere_only"]["mean_hits"] == 0
    assert searches["nowhere"]["mean_hits"] == 0
