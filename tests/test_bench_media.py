"""`townhall bench media` runs end to end on a tiny load and reports what it measured."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import bench_results

pytestmark = pytest.mark.database_free  # the PostgreSQL run leaves it out (Makefile)


def test_media_bench_reports_uploads_pdq_and_bank_lookups(tmp_path: Path) -> None:
    results = bench_results(
        tmp_path,
        "media",
        [
            "--uploads",
            "3",
            "--photos",
            "2",
            "--width",
            "320",
            "--height",
            "240",
            "--pdq-images",
            "2",
            "--bank-size",
            "2000",
            "--lookups",
            "20",
        ],
        timeout=180,
    )
    uploads = results["uploads"]
    assert uploads["uploads"] == 3 and uploads["uploads_per_s"] > 0
    assert 0 < uploads["p50_ms"] <= uploads["p99_ms"] <= uploads["max_ms"]
    assert uploads["server_cpu_ms_per_upload"] > 0
    pdq = results["pdq_in_process"]
    assert pdq["images"] == 2 and pdq["pdq"]["p50_ms"] > 0
    assert pdq["keep_image"]["p50_ms"] >= pdq["pdq"]["p50_ms"]
    bank = results["bank"]
    assert (bank["count"], bank["max_distance"]) == (2000, 31)
    assert bank["hits"]["found"] == bank["hits"]["queries"] == 20
    assert bank["misses"]["false_matches"] == 0
