"""`townhall bench registration` runs end to end on a tiny load and reports what it measured."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import bench_results

pytestmark = pytest.mark.database_free  # the PostgreSQL run leaves it out (Makefile)


def test_registration_bench_reports_both_phases_and_their_targets(tmp_path: Path) -> None:
    results = bench_results(
        tmp_path,
        "registration",
        ["--users", "4", "--concurrency", "2", "--hashes-at-once", "1"],
        timeout=300,
    )
    assert results["password_hash_profile"] == "rfc9106_low_memory"
    assert results["password_hashes_at_once"] == 1
    assert results["idle"]["server_rss_mb"] > 0
    for name, clients in (("sequential", 1), ("concurrent", 2)):
        phase = results[name]
        assert (phase["clients"], phase["registrations"]) == (clients, 4)
        assert phase["registrations_per_s"] > 0
        assert 0 < phase["p50_ms"] <= phase["p99_ms"]
        # Each registration hashes with 64 MiB: the sampler sees the server hold it.
        assert phase["server_peak_rss_mb"] >= results["idle"]["server_rss_mb"] + 32
    targets = results["targets"]
    assert set(targets) == {"peak_rss_under_300_mb", "concurrent_within_10_percent_of_sequential"}
    assert targets["peak_rss_under_300_mb"]["met"] == (
        results["concurrent"]["server_peak_rss_mb"] < 300
    )
