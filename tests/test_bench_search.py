"""`townhall bench search` runs end to end on a tiny load and reports what it measured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from townhall.bench.search import QUERIES

pytestmark = pytest.mark.database_free  # the PostgreSQL run leaves it out (Makefile)


def test_search_bench_reports_every_kind_of_query(tmp_path: Path) -> None:
    results_file = tmp_path / "search.json"
    townhall = Path(sys.executable).parent / "townhall"
    subprocess.run(
        [
            str(townhall),
            "bench",
            "search",
            "--json",
            str(results_file),
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
        check=True,
        timeout=180,
        capture_output=True,
    )
    results = json.loads(results_file.read_text())
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
